import { mapConcurrently } from "../platform/concurrency.ts";
import { escalatedFollowUp, type SlackMessage } from "../slack/index.ts";
import type { TenantRef } from "../tenant/index.ts";
import type { EscalationMove } from "./engine.ts";
import type { PageThread } from "./outbox-store.ts";
import type { QuietLane } from "./quiet-lane.ts";

export interface FollowUpsDeps {
	/** The sent Slack pages of these alerts whose escalation goes on or ran out (not acknowledged, not resolved). */
	threadsOf(tenant: TenantRef, alertIds: string[]): Promise<PageThread[]>;
	/** Replies in a sent Slack page's thread (`channel:ts`); absent when Slack is not configured. */
	reply?(providerRef: string, tenant: TenantRef, message: SlackMessage): Promise<void>;
	/** Where the news waits for the pages. */
	lane: QuietLane;
	onError(error: unknown, context: string): void;
}

/** Moves whose news go out as one task of the lane (between two looks at whether pages wait). */
const MOVES_PER_TASK = 50;
/** Threads replied to at once. */
const THREADS_AT_ONCE = 16;

/**
 * Tells the threads of an alert's earlier Slack pages where its escalation went ("escalated to Bob,
 * tier 2", "nobody acknowledged"). That is news, not a page: the replies go out, in order, through the
 * quiet lane, so in an alert storm they never hold up a page. News of an escalation acknowledged or
 * resolved before it went out is dropped: it would be stale.
 */
export function createFollowUps(deps: FollowUpsDeps) {
	/** Replies to every page of each move's alert sent before the move (its own pages hear nothing). */
	async function tell(tenant: TenantRef, moves: EscalationMove[]): Promise<void> {
		const threads = await deps.threadsOf(
			tenant,
			moves.map((m) => m.alertId),
		);
		// A thread's replies go out one after the other, in order; threads side by side.
		const byThread = new Map<string, SlackMessage[]>();
		for (const move of moves) {
			const message = escalatedFollowUp(move);
			for (const thread of threads) {
				if (thread.alertId !== move.alertId || thread.createdAt >= move.at) continue;
				byThread.set(thread.providerRef, [...(byThread.get(thread.providerRef) ?? []), message]);
			}
		}
		await mapConcurrently([...byThread], THREADS_AT_ONCE, async ([providerRef, messages]) => {
			for (const message of messages) {
				await deps.reply!(providerRef, tenant, message).catch((error) =>
					deps.onError(error, "slack escalation follow-up"),
				);
			}
		});
	}

	return {
		/** Queues the news of escalations that moved on (after their commit). */
		announce(tenant: TenantRef, moves: EscalationMove[]): void {
			if (!deps.reply) return;
			for (let i = 0; i < moves.length; i += MOVES_PER_TASK) {
				const chunk = moves.slice(i, i + MOVES_PER_TASK);
				deps.lane.push(() => tell(tenant, chunk), "slack escalation follow-up");
			}
		},
	};
}
