/** The Slack domain: installations, messages, signed requests from Slack, the bot. Other code imports only this. */

export { createSlackBot, type SlackBot, type SlackBotDeps } from "./bot.ts";
export { slackAdminRoutes, slackRoutes } from "./handler.ts";
export { createInstallations, type Installations, type SlackInstallation } from "./installations.ts";
export {
	ALERT_ACTIONS,
	type AlertMessageOptions,
	alertMessage,
	escalatedFollowUp,
	escapeText,
	type FollowUp,
	MAX_LABELS,
	markdownToMrkdwn,
	parseAlertButtonValue,
	type SlackAlert,
	type SlackMessage,
	threadFollowUp,
	truncateMrkdwn,
} from "./messages.ts";
export { slackSignature, slackSignatureProblem } from "./signature.ts";
export { createSlackWeb, lazySlackClient, loadSlackSdk, type SlackSdk } from "./web.ts";
