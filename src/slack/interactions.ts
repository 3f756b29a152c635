import { type AlertApi, alertPageView } from "../alert/index.ts";
import type { Cache } from "../platform/cache/index.ts";
import { isAppError } from "../platform/errors.ts";
import type { MemberApi, TenantApi } from "../tenant/index.ts";
import { ALERT_ACTIONS, alertMessage, parseAlertButtonValue, type SlackMessage } from "./messages.ts";

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
}

/** What the Slack domain sends back to Slack. */
export interface SlackOutbound {
	/** Replaces a message (chat.update). */
	update(channel: string, ts: string, message: SlackMessage): Promise<void>;
	/** Answers only the clicking person (an ephemeral message through the response URL). */
	whisper(responseUrl: string, text: string): Promise<void>;
}

export interface InteractionDeps {
	alerts: Pick<AlertApi, "acknowledge" | "resolve" | "views">;
	members: Pick<MemberApi, "findByContact">;
	tenants: Pick<TenantApi, "findTenantById">;
	cache: Cache;
	slack: SlackOutbound;
	publicUrl: string;
	onError(error: unknown, context: string): void;
}

/** Slack retries and people double-click: the same action is acted on once in this window. */
const REPLAY_WINDOW_MS = 10 * 60_000;

/**
 * The alert message's buttons: Acknowledge and Resolve act as the OpsWatch member the Slack user
 * is (their Slack user id among their contact methods), then update the message in place. Anything
 * that can't be done is told to the clicking person only, and changes nothing.
 */
export function createInteractions(deps: InteractionDeps) {
	const { alerts, cache, slack } = deps;

	async function tell(action: BlockAction, text: string): Promise<void> {
		if (!action.responseUrl) return;
		await slack.whisper(action.responseUrl, text).catch((error) => deps.onError(error, "slack ephemeral reply"));
	}

	return {
		async blockAction(action: BlockAction): Promise<void> {
			const kind =
				action.actionId === ALERT_ACTIONS.acknowledge
					? "acknowledge"
					: action.actionId === ALERT_ACTIONS.resolve
						? "resolve"
						: undefined;
			// View opens a link in the browser; Slack tells us about the click, nothing to do.
			if (!kind) return;
			const target = parseAlertButtonValue(action.value);
			const tenant = target && (await deps.tenants.findTenantById(target.tenantId));
			if (!target || !tenant) return tell(action, "OpsWatch does not know this alert.");
			const fresh = await cache.setIfAbsent(
				`slack:action:${action.teamId}:${action.userId}:${action.actionTs}`,
				"1",
				REPLAY_WINDOW_MS,
			);
			if (!fresh) return;

			const member = await deps.members.findByContact(tenant, { type: "slack", value: action.userId });
			if (!member) {
				return tell(
					action,
					`Your Slack account is not linked to an OpsWatch member of "${tenant.slug}": add your Slack user id (${action.userId}) as a contact method of your member, then try again. Nothing was changed.`,
				);
			}
			const by = `member:${member.id}`;
			try {
				if (kind === "acknowledge") await alerts.acknowledge(tenant, target.alertId, by, "slack");
				else await alerts.resolve(tenant, target.alertId, { name: by, kind: "member" });
			} catch (error) {
				if (isAppError(error) && (error.kind === "not_found" || error.kind === "conflict")) {
					return tell(action, `Not done: ${error.message}.`);
				}
				throw error;
			}
			if (!action.message) return;
			const found = (await alerts.views(tenant, [target.alertId])).get(target.alertId);
			if (!found) return;
			const { alert, knowledgeBase } = found;
			const message = alertMessage(alertPageView(alert, knowledgeBase, deps.publicUrl), {
				tenantId: tenant.id,
				state: { status: alert.status === "resolved" ? "resolved" : "acknowledged", by: member.name },
			});
			await slack
				.update(action.message.channel, action.message.ts, message)
				.catch((error) => deps.onError(error, "slack message update"));
		},
	};
}

export type Interactions = ReturnType<typeof createInteractions>;
