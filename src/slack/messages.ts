/**
 * Block Kit messages OpsWatch posts to Slack. Builders are pure: they take domain data and return
 * the `text` + `blocks` pair that `chat.postMessage` and `chat.update` accept.
 *
 * Example (`alertMessage` for a critical alert with one label and no known fix):
 *
 *     text:   "[CRITICAL] Disk full on db-1"
 *     blocks: header ":red_circle: CRITICAL: Disk full on db-1",
 *             section "`host=db-1`",
 *             actions [Acknowledge (primary)] [Resolve (danger)] [View → alert URL]
 */

import type { ActionsBlock, ContextBlock, HeaderBlock, KnownBlock, SectionBlock } from "@slack/web-api";
import type { AlertPageView } from "../alert/index.ts";

/** The alert a page is about (the alert domain's page view). */
export type SlackAlert = AlertPageView;

/** A message ready for `chat.postMessage` or `chat.update`. */
export interface SlackMessage {
	/** Plain fallback, shown in push notifications and read by screen readers. */
	text: string;
	blocks: KnownBlock[];
}

/** Options for {@link alertMessage}. */
export interface AlertMessageOptions {
	/** Where in its escalation this page is: shown so a responder knows who else was paged. */
	escalation?: { tier: number; attempt: number };
	/**
	 * The tenant the alert belongs to: the buttons carry it (`<tenant id>:<alert id>`), so a click
	 * names the alert without a lookup across tenants.
	 */
	tenantId?: string;
	/** Shown once someone acted: who, and the buttons that still make sense. */
	state?: { status: "acknowledged" | "resolved"; by: string };
}

/** What a thread follow-up says: who acted, the resolution, and whether to ask for a knowledge-base entry. */
export interface FollowUp {
	status: "acknowledged" | "resolved";
	by: string;
	notes?: string | null;
	/** A pending "add to knowledge base?" prompt of this alert (spec §4.3): its button opens the modal. */
	prompt?: { tenantId: string; promptId: string };
}

/** What a button's value names: the tenant and the alert. */
export function parseAlertButtonValue(value: string): { tenantId: string; alertId: string } | undefined {
	const match = /^([0-9a-f-]{36}):([0-9a-f-]{36})$/.exec(value);
	return match ? { tenantId: match[1]!, alertId: match[2]! } : undefined;
}

/** Action ids of the alert message's buttons, which the interactivity handler dispatches on. */
export const ALERT_ACTIONS = {
	acknowledge: "alert_acknowledge",
	resolve: "alert_resolve",
	view: "alert_view",
	/** The "Add to knowledge base?" prompt's button: opens the modal. */
	addToKnowledgeBase: "kb_prompt_add",
} as const;

/** The knowledge-base modal's `callback_id`, which its `view_submission` carries. */
export const KB_MODAL_CALLBACK = "kb_add";

/** Labels shown at most; an alert from Prometheus easily carries twenty, most of them noise on a phone. */
export const MAX_LABELS = 10;

// Limits from https://docs.slack.dev/reference/block-kit/blocks: a header's text holds 150
// characters, a section's 3000; Slack refuses the whole message (invalid_blocks) when one is over.
const HEADER_LIMIT = 150;
const SECTION_LIMIT = 3000;
const LABEL_LIMIT = 120;

const severityBadges: Record<string, string> = {
	critical: ":red_circle:",
	major: ":large_orange_circle:",
	minor: ":large_yellow_circle:",
	warning: ":warning:",
	info: ":large_blue_circle:",
};

/**
 * The page for an alert: header with severity and title, labels, the known fix and runbook when
 * the knowledge base matched, the escalation tier, and Acknowledge / Resolve / View buttons whose
 * `value` is the alert id.
 */
export function alertMessage(alert: SlackAlert, options: AlertMessageOptions = {}): SlackMessage {
	const severity = alert.severity.toUpperCase();
	const badge = severityBadges[alert.severity.toLowerCase()] ?? ":white_circle:";
	const blocks: KnownBlock[] = [header(`${badge} ${severity}: ${alert.title}`)];

	const labels = labelLine(alert.labels);
	if (labels) blocks.push(section(labels));
	if (alert.solution?.trim()) blocks.push(section(`*Known fix*\n${markdownToMrkdwn(alert.solution)}`));
	if (alert.runbookUrl) blocks.push(section(`:book: ${link(alert.runbookUrl, "Runbook")}`));
	if (options.escalation) {
		const { tier, attempt } = options.escalation;
		blocks.push(context(`Escalation tier ${tier}${attempt > 1 ? ` · attempt ${attempt}` : ""}`));
	}
	if (options.state) {
		const mark = options.state.status === "acknowledged" ? ":eyes: Acknowledged" : ":white_check_mark: Resolved";
		blocks.push(context(`${mark} by ${escapeText(options.state.by)}`));
	}
	const value = options.tenantId ? `${options.tenantId}:${alert.id}` : alert.id;
	blocks.push(alertActions(alert, value, options.state?.status));

	return { text: `[${escapeText(severity)}] ${escapeText(alert.title)}`, blocks };
}

/**
 * Escapes the three characters Slack treats as control characters in mrkdwn, so user text cannot
 * turn into a link or a mention (`<!channel>`).
 * See https://docs.slack.dev/messaging/formatting-message-text#escaping
 */
export function escapeText(text: string): string {
	return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/**
 * Converts the common Markdown of a knowledge-base entry to Slack mrkdwn, escaping first so only
 * the links built here are links. Headings and `**bold**` become `*bold*`, `*italic*` becomes
 * `_italic_`, `[text](url)` becomes `<url|text>`, list bullets become `•`. Code spans and fences
 * are the same in both and pass through.
 */
export function markdownToMrkdwn(markdown: string): string {
	return escapeText(markdown)
		.replace(/^[ \t]*[-*+][ \t]+/gm, "• ")
		.replace(/(?<!\*)\*(?!\*)([^*\n]+?)(?<!\*)\*(?!\*)/g, "_$1_")
		.replace(/\*\*([^*\n]+?)\*\*/g, "*$1*")
		.replace(/__([^_\n]+?)__/g, "*$1*")
		.replace(/^#{1,6}[ \t]+(.+?)[ \t]*#*$/gm, (_m, heading: string) => `*${heading.replaceAll("*", "")}*`)
		.replace(/\[([^\]\n]+)\]\((https?:\/\/[^)\s]+)\)/g, (_m, text: string, url: string) => `<${url}|${text}>`);
}

/**
 * Cuts mrkdwn to `limit` characters with an ellipsis, never inside an entity (`&amp;`) or a link,
 * which Slack would show broken.
 */
export function truncateMrkdwn(text: string, limit: number): string {
	if (text.length <= limit) return text;
	const cut = text
		.slice(0, limit - 1)
		.replace(/&[a-z]*$/, "")
		.replace(/<[^>]*$/, "");
	return `${cut}…`;
}

function truncatePlain(text: string, limit: number): string {
	return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

// Header text is plain_text: Slack shows it verbatim and parses no links or mentions in it, so
// it is not escaped (escaping would show `&amp;`).
function header(text: string): HeaderBlock {
	return { type: "header", text: { type: "plain_text", text: truncatePlain(text, HEADER_LIMIT), emoji: true } };
}

function section(mrkdwn: string): SectionBlock {
	return { type: "section", text: { type: "mrkdwn", text: truncateMrkdwn(mrkdwn, SECTION_LIMIT) } };
}

function context(mrkdwn: string): ContextBlock {
	return { type: "context", elements: [{ type: "mrkdwn", text: mrkdwn }] };
}

/** `key=value` code spans, sorted by key, at most {@link MAX_LABELS}, then how many were left out. */
function labelLine(labels: Record<string, string>): string {
	const entries = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
	// A backtick inside a code span would end it early; a look-alike keeps the value readable.
	const spans = entries
		.slice(0, MAX_LABELS)
		.map(([key, value]) => `\`${escapeText(truncatePlain(`${key}=${value}`, LABEL_LIMIT)).replaceAll("`", "ˋ")}\``);
	const more = entries.length - MAX_LABELS;
	return more > 0 ? `${spans.join(" ")} _+${more} more_` : spans.join(" ");
}

function link(url: string, text: string): string {
	// `|` separates URL from text inside <…>, so a literal one in the URL must be percent-encoded.
	return `<${escapeText(url).replaceAll("|", "%7C")}|${escapeText(text)}>`;
}

/** Acknowledge while nobody has; Resolve until someone has; View always. */
function alertActions(alert: SlackAlert, value: string, status?: "acknowledged" | "resolved"): ActionsBlock {
	const elements: ActionsBlock["elements"] = [];
	if (!status) {
		elements.push({
			type: "button",
			action_id: ALERT_ACTIONS.acknowledge,
			text: { type: "plain_text", text: "Acknowledge" },
			value,
			style: "primary",
		});
	}
	if (status !== "resolved") {
		elements.push({
			type: "button",
			action_id: ALERT_ACTIONS.resolve,
			text: { type: "plain_text", text: "Resolve" },
			value,
			style: "danger",
		});
	}
	elements.push({
		type: "button",
		action_id: ALERT_ACTIONS.view,
		text: { type: "plain_text", text: "View" },
		url: alert.url,
		value,
	});
	return { type: "actions", elements };
}

/**
 * The reply in an alert message's thread once someone acted (an edit notifies nobody; a reply
 * does): who, the resolution notes, and for a fix the knowledge base did not know yet, the
 * "New issue resolved. Add to knowledge base?" prompt.
 */
export function threadFollowUp(followUp: FollowUp): SlackMessage {
	const by = escapeText(followUp.by);
	if (followUp.status === "acknowledged") {
		return { text: `Acknowledged by ${by}.`, blocks: [section(`:eyes: Acknowledged by *${by}*.`)] };
	}
	const notes = followUp.notes?.trim();
	const blocks: KnownBlock[] = [
		section(`:white_check_mark: Resolved by *${by}*.${notes ? `\n*Resolution*\n${markdownToMrkdwn(notes)}` : ""}`),
	];
	if (followUp.prompt) {
		blocks.push(
			section("*New issue resolved. Add to knowledge base?* The next person paged for it will see the fix."),
			{
				type: "actions",
				elements: [
					{
						type: "button",
						action_id: ALERT_ACTIONS.addToKnowledgeBase,
						text: { type: "plain_text", text: "Add to knowledge base" },
						value: `${followUp.prompt.tenantId}:${followUp.prompt.promptId}`,
						style: "primary",
					},
				],
			},
		);
	}
	return { text: `Resolved by ${by}.${notes ? ` ${escapeText(notes)}` : ""}`, blocks };
}

/**
 * The reply in an earlier page's thread when the alert's escalation went on: to the next tier (who
 * and which channels), or to its end.
 */
export function escalatedFollowUp(move: {
	tier?: number;
	pass?: number;
	members: string[];
	channels: string[];
}): SlackMessage {
	const whom = [...move.members.map((name) => `*${escapeText(name)}*`), ...move.channels.map((id) => `<#${id}>`)];
	const to = whom.length > 0 ? whom.join(", ") : "nobody (no one was on call)";
	const text =
		move.tier === undefined
			? whom.length > 0
				? `:rotating_light: Nobody acknowledged: escalation exhausted, posted to ${to}.`
				: ":rotating_light: Nobody acknowledged: escalation exhausted."
			: `:arrow_up: Not acknowledged yet: escalated to ${to} (tier ${move.tier}${(move.pass ?? 1) > 1 ? `, pass ${move.pass}` : ""}).`;
	return replyMessage(text);
}

/** What the knowledge-base modal carries between opening and submission (`private_metadata`). */
export interface KbModalContext {
	tenantId: string;
	promptId?: string;
	/** The prompt message, to say in its thread that the entry was added. */
	thread?: { channel: string; ts: string };
}

/** Block ids of the modal's inputs; `view_submission` reports values under them. */
export const KB_MODAL_FIELDS = ["title", "symptoms", "root_cause", "solution", "tags"] as const;
export type KbModalField = (typeof KB_MODAL_FIELDS)[number];

/** The "add to knowledge base" modal (`views.open`), prefilled from the resolved alert when there is one. */
export function knowledgeBaseModal(context: KbModalContext, prefill: { title?: string; solution?: string } = {}) {
	const input = (
		field: KbModalField,
		label: string,
		options: { multiline?: boolean; optional?: boolean; initial?: string; hint?: string; max: number },
	) => ({
		type: "input" as const,
		block_id: field,
		optional: options.optional ?? false,
		label: { type: "plain_text" as const, text: label },
		...(options.hint && { hint: { type: "plain_text" as const, text: options.hint } }),
		element: {
			type: "plain_text_input" as const,
			action_id: "value",
			multiline: options.multiline ?? false,
			max_length: options.max,
			...(options.initial && { initial_value: truncatePlain(options.initial, options.max) }),
		},
	});
	return {
		type: "modal" as const,
		callback_id: KB_MODAL_CALLBACK,
		private_metadata: JSON.stringify(context),
		title: { type: "plain_text" as const, text: "Add to knowledge base" },
		submit: { type: "plain_text" as const, text: "Save" },
		close: { type: "plain_text" as const, text: "Cancel" },
		blocks: [
			input("title", "Title", { initial: prefill.title, max: 200 }),
			input("symptoms", "Symptoms", { multiline: true, optional: true, max: 2000 }),
			input("root_cause", "Root cause", { multiline: true, optional: true, max: 2000 }),
			input("solution", "Solution", {
				multiline: true,
				initial: prefill.solution,
				hint: "What fixed it, step by step. Markdown works.",
				max: 2900,
			}),
			input("tags", "Tags", { optional: true, hint: "Comma-separated, e.g. postgres, disk", max: 200 }),
		],
	};
}

/** One line of an alert list: badge, title, severity and status, the id to act on, and a link. */
export function alertLine(alert: Pick<SlackAlert, "id" | "title" | "severity" | "url"> & { status: string }): string {
	const badge = severityBadges[alert.severity.toLowerCase()] ?? ":white_circle:";
	return `${badge} *${escapeText(truncatePlain(alert.title, 150))}* · ${alert.severity} · ${alert.status} · ${link(alert.url, "View")}\n\`${alert.id}\``;
}

/** A plain reply made of sections (a slash command's answer); `text` is the fallback. */
export function replyMessage(text: string, sections: string[] = [text]): SlackMessage {
	return { text, blocks: sections.map((mrkdwn) => section(mrkdwn)) };
}
