/** The Slack domain: messages, and later interactivity and signature checks. Other code imports only this. */

export {
	ALERT_ACTIONS,
	type AlertMessageOptions,
	alertMessage,
	escapeText,
	MAX_LABELS,
	markdownToMrkdwn,
	type SlackAlert,
	type SlackMessage,
	truncateMrkdwn,
} from "./messages.ts";
