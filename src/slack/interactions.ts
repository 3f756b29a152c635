import { type AlertApi, alertPageView } from "../alert/index.ts";
import type { IncidentInput, KnowledgeBaseApi } from "../incident/index.ts";
import type { Cache } from "../platform/cache/index.ts";
import { isAppError } from "../platform/errors.ts";
import type { Actor, Member } from "../tenant/index.ts";
import type { Installations } from "./installations.ts";
import {
	ALERT_ACTIONS,
	alertMessage,
	KB_MODAL_CALLBACK,
	KB_MODAL_FIELDS,
	type KbModalContext,
	type KbModalField,
	knowledgeBaseModal,
	parseAlertButtonValue,
	replyMessage,
} from "./messages.ts";
import type { SlackPeople } from "./people.ts";
import { notLinked, type SlackEndpoint, type SlackScope, scopeOf, UNKNOWN_WORKSPACE } from "./scope.ts";
import type { SlackWeb } from "./web.ts";

/** A button click, as Slack posts it (the part we use). */
export interface BlockAction {
	teamId: string;
	userId: string;
	actionId: string;
	value: string;
	actionTs: string;
	/** Where the clicked message is, to update it in place. */
	message?: { channel: string; ts: string };
	responseUrl?: string;
	/** Opens a modal within 3 seconds of the click. */
	triggerId?: string;
}

/** A modal's submission (`view_submission`). */
export interface ViewSubmission {
	teamId: string;
	userId: string;
	callbackId: string;
	privateMetadata: string;
	/** `view.state.values`: block id → action id → the input's state. */
	values: Record<string, Record<string, { value?: string | null }>>;
}

/** What Slack expects back from a view submission: nothing (close the modal) or errors per input. */
export type ViewSubmissionAnswer = undefined | { response_action: "errors"; errors: Record<string, string> };

export interface InteractionDeps {
	alerts: Pick<AlertApi, "acknowledge" | "resolve" | "views">;
	knowledgeBase: Pick<KnowledgeBaseApi, "create" | "prompt">;
	installations: Pick<Installations, "tenantOfTeam" | "credentials">;
	people: SlackPeople;
	cache: Cache;
	web: SlackWeb;
	publicUrl: string;
	onError(error: unknown, context: string): void;
}

/** Slack retries and people double-click: the same action is acted on once in this window. */
const REPLAY_WINDOW_MS = 10 * 60_000;

/** How a member acting in Slack is recorded in the audit log and on the timeline. */
export const memberActor = (member: Member): Actor => ({
	principal: { type: "member", id: member.id, role: member.role },
});

/**
 * Clicks and modal submissions: the alert message's Acknowledge and Resolve act as the OpsWatch
 * member the Slack user is and update the message in place; "Add to knowledge base" opens the
 * modal whose submission creates the entry. Anything that can't be done is told to the clicking
 * person only, and changes nothing.
 */
export function createInteractions(deps: InteractionDeps) {
	const { alerts, cache, web } = deps;

	async function tell(action: BlockAction, text: string): Promise<void> {
		if (!action.responseUrl) return;
		await web
			.respond(action.responseUrl, replyMessage(text))
			.catch((error) => deps.onError(error, "slack ephemeral reply"));
	}

	/** The member behind a click, or a private "who are you?" and undefined. */
	async function actingMember(scope: SlackScope, action: BlockAction): Promise<Member | undefined> {
		const member = await deps.people.memberOf(
			scope.tenant,
			{ teamId: action.teamId, userId: action.userId },
			scope.token,
		);
		if (!member) await tell(action, notLinked(scope.tenant.slug, action.userId));
		return member;
	}

	async function onAlertButton(scope: SlackScope, action: BlockAction, kind: "acknowledge" | "resolve") {
		const target = parseAlertButtonValue(action.value);
		if (!target || target.tenantId !== scope.tenant.id) return tell(action, "OpsWatch does not know this alert.");
		const member = await actingMember(scope, action);
		if (!member) return;
		const by = `member:${member.id}`;
		try {
			if (kind === "acknowledge") await alerts.acknowledge(scope.tenant, target.alertId, by, "slack");
			else await alerts.resolve(scope.tenant, target.alertId, { name: by, kind: "member" }, undefined, "slack");
		} catch (error) {
			if (isAppError(error) && (error.kind === "not_found" || error.kind === "conflict")) {
				return tell(action, `Not done: ${error.message}.`);
			}
			throw error;
		}
		if (!action.message || !scope.token) return;
		const found = (await alerts.views(scope.tenant, [target.alertId])).get(target.alertId);
		if (!found) return;
		const { alert, knowledgeBase } = found;
		const message = alertMessage(alertPageView(alert, knowledgeBase, deps.publicUrl), {
			tenantId: scope.tenant.id,
			state: { status: alert.status === "resolved" ? "resolved" : "acknowledged", by: member.name },
		});
		await web
			.update(scope.token, action.message.channel, action.message.ts, message)
			.catch((error) => deps.onError(error, "slack message update"));
	}

	async function onAddToKnowledgeBase(scope: SlackScope, action: BlockAction) {
		const target = parseAlertButtonValue(action.value);
		if (!target || target.tenantId !== scope.tenant.id) return tell(action, "OpsWatch does not know this prompt.");
		if (!(await actingMember(scope, action))) return;
		const prompt = await deps.knowledgeBase.prompt(scope.tenant, target.alertId).catch((error) => {
			if (isAppError(error) && error.kind === "not_found") return undefined;
			throw error;
		});
		if (!prompt) return tell(action, "OpsWatch does not know this prompt.");
		if (prompt.status !== "pending") return tell(action, `This prompt was already ${prompt.status}.`);
		if (!action.triggerId || !scope.token) return tell(action, "Slack sent no way to open the form; try again.");
		const context: KbModalContext = { tenantId: scope.tenant.id, promptId: prompt.id, thread: action.message };
		await web.openView(
			scope.token,
			action.triggerId,
			knowledgeBaseModal(context, { title: prompt.title, solution: prompt.resolutionNotes ?? undefined }),
		);
	}

	return {
		async blockAction(endpoint: SlackEndpoint, action: BlockAction): Promise<void> {
			const handlers: Record<string, (scope: SlackScope, action: BlockAction) => Promise<void>> = {
				[ALERT_ACTIONS.acknowledge]: (scope, a) => onAlertButton(scope, a, "acknowledge"),
				[ALERT_ACTIONS.resolve]: (scope, a) => onAlertButton(scope, a, "resolve"),
				[ALERT_ACTIONS.addToKnowledgeBase]: onAddToKnowledgeBase,
			};
			const handler = handlers[action.actionId];
			// View opens a link in the browser; Slack tells us about the click, nothing to do.
			if (!handler) return;
			const scope = await scopeOf(deps.installations, endpoint, action.teamId);
			if (!scope) return tell(action, UNKNOWN_WORKSPACE);
			const fresh = await cache.setIfAbsent(
				`slack:action:${action.teamId}:${action.userId}:${action.actionTs}`,
				"1",
				REPLAY_WINDOW_MS,
			);
			if (!fresh) return;
			await handler(scope, action);
		},

		/** The knowledge-base modal's submission: creates the entry (answering its prompt), or names what is wrong. */
		async viewSubmission(endpoint: SlackEndpoint, submission: ViewSubmission): Promise<ViewSubmissionAnswer> {
			const errors = (field: KbModalField, message: string): ViewSubmissionAnswer => ({
				response_action: "errors",
				errors: { [field]: message },
			});
			if (submission.callbackId !== KB_MODAL_CALLBACK) return errors("title", "OpsWatch does not know this form.");
			const scope = await scopeOf(deps.installations, endpoint, submission.teamId);
			const context = parseModalContext(submission.privateMetadata);
			if (!scope || !context || context.tenantId !== scope.tenant.id) return errors("title", UNKNOWN_WORKSPACE);
			const member = await deps.people.memberOf(scope.tenant, submission, scope.token);
			if (!member) return errors("title", notLinked(scope.tenant.slug, submission.userId));

			const text = (field: KbModalField) => submission.values[field]?.value?.value?.trim() ?? "";
			const missing = (["title", "solution"] as const).find((field) => !text(field));
			if (missing) return errors(missing, "Required.");
			const input: IncidentInput = {
				title: text("title"),
				symptoms: text("symptoms"),
				rootCause: text("root_cause"),
				solution: text("solution"),
				tags: [
					...new Set(
						text("tags")
							.split(",")
							.map((t) => t.trim().toLowerCase())
							.filter(Boolean),
					),
				],
				fingerprints: [],
				matchers: [],
				runbookIds: [],
				severity: null,
			};
			try {
				const entry = await deps.knowledgeBase.create(scope.tenant, input, memberActor(member), {
					promptId: context.promptId,
				});
				if (context.thread && scope.token) {
					await web
						.post(
							scope.token,
							context.thread.channel,
							replyMessage(`:books: ${member.name} added "${entry.title}" to the knowledge base.`),
							context.thread.ts,
						)
						.catch((error) => deps.onError(error, "slack knowledge-base reply"));
				}
				return undefined;
			} catch (error) {
				if (isAppError(error) && ["validation", "conflict", "not_found"].includes(error.kind)) {
					const field = error.fields?.[0]?.path.split(".").at(-1);
					const block = KB_MODAL_FIELDS.find((f) => f === field || f.replace("_", "") === field?.toLowerCase());
					return errors(block ?? "title", error.message);
				}
				throw error;
			}
		},
	};
}

/** The modal's private metadata as the modal builder wrote it, or undefined for anything else. */
function parseModalContext(metadata: string): KbModalContext | undefined {
	try {
		const parsed = JSON.parse(metadata) as Partial<KbModalContext>;
		if (typeof parsed.tenantId !== "string") return undefined;
		if (parsed.promptId !== undefined && typeof parsed.promptId !== "string") return undefined;
		return parsed as KbModalContext;
	} catch {
		return undefined;
	}
}

export type Interactions = ReturnType<typeof createInteractions>;
