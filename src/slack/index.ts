/** The Slack domain: messages, signed requests from Slack, the alert buttons. Other code imports only this. */

export { slackRoutes } from "./handler.ts";
export { type BlockAction, createInteractions, type InteractionDeps, type Interactions } from "./interactions.ts";
export {
	ALERT_ACTIONS,
	type AlertMessageOptions,
	alertMessage,
	escapeText,
	MAX_LABELS,
	markdownToMrkdwn,
	parseAlertButtonValue,
	type SlackAlert,
	type SlackMessage,
	truncateMrkdwn,
} from "./messages.ts";
export { createSlackOutbound } from "./outbound.ts";
export { slackSignature, slackSignatureProblem } from "./signature.ts";
