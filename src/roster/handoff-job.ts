import type { Clock } from "../platform/clock.ts";
import type { TenantApi, TenantRef } from "../tenant/index.ts";
import type { RecordedHandoff, RosterApi } from "./service.ts";

/**
 * Tells people about a handoff ("you are on call from … until …"). The escalation engine's
 * notification channels will implement it; until then the app logs it, and every handoff is
 * recorded and listed by `GET /api/v1/rosters/:id/handoffs`.
 */
export interface HandoffNotifier {
	announce(tenant: TenantRef, handoff: RecordedHandoff): Promise<void>;
}

export interface HandoffJobDeps {
	tenants: Pick<TenantApi, "listTenants">;
	rosters: Pick<RosterApi, "recordHandoffs">;
	notifier: HandoffNotifier;
	clock: Clock;
	onError: (error: unknown) => void;
	/** How often to look; each look covers the last two intervals, so a late or missed run loses nothing. */
	intervalMs?: number;
}

/**
 * The worker job that records and announces roster handoffs. Each handoff is one row keyed by
 * (roster, instant), so several workers may run this at once and each handoff is announced once.
 */
export function createHandoffJob({ tenants, rosters, notifier, clock, onError, intervalMs = 60_000 }: HandoffJobDeps) {
	let timer: NodeJS.Timeout | undefined;
	let running: Promise<void> | undefined;

	/** Records and announces the handoffs of the two intervals before `at`. */
	async function runOnce(at: Date = clock.now()): Promise<RecordedHandoff[]> {
		const from = new Date(at.getTime() - 2 * intervalMs);
		const announced: RecordedHandoff[] = [];
		for (const tenant of await tenants.listTenants()) {
			try {
				for (const handoff of await rosters.recordHandoffs(tenant, from, at)) {
					await notifier.announce(tenant, handoff).catch(onError);
					announced.push(handoff);
				}
			} catch (error) {
				// One tenant's failure (a schema mid-migration, say) must not stop the others'.
				onError(error);
			}
		}
		return announced;
	}

	const tick = () => {
		running ??= runOnce()
			.then(() => undefined, onError)
			.finally(() => {
				running = undefined;
			});
	};

	return {
		name: "roster-handoffs",
		runOnce,
		async start() {
			tick();
			timer = setInterval(tick, intervalMs);
			timer.unref();
		},
		async stop() {
			clearInterval(timer);
			await running;
		},
	};
}
