import { RateLimiterRes } from "rate-limiter-flexible";
import { lruCache } from "../lru.ts";
import type { PointsLimiter } from "./shared.ts";

/** A lease is this share of the budget: the most a process can hold back is 1% of it. */
const LEASE_SHARE = 0.01;

interface Lease {
	left: number;
	/** When the shared window the points came from resets; left-over points lapse then. */
	until: number;
	/** What the shared budget had left when the lease was drawn. */
	sharedRemaining: number;
}

/**
 * Draws a shared budget in leases: one round trip to the store buys 1% of the budget, and this
 * process hands those points out from memory. Under an alert storm that turns two Redis commands
 * per request into two per hundreds of requests, and the shared budget still holds across
 * processes. The price is precision: a budget may be refused up to one lease per process early
 * (points drawn but not used by the window's end lapse with it), never late. Budgets under
 * 200 points lease one point at a time, which is exactly the store's behaviour.
 */
export function leased(limiter: PointsLimiter, budget: number, now: () => number = Date.now): PointsLimiter {
	const size = Math.max(1, Math.floor(budget * LEASE_SHARE));
	if (size === 1) return limiter;
	const leases = lruCache<string, Lease>(10_000);
	const drawing = new Map<string, Promise<void>>();

	async function draw(key: string): Promise<void> {
		// A refusal (RateLimiterRes) or a store error reaches every caller waiting on this draw.
		const granted = await limiter.consume(key, size);
		leases.set(key, {
			left: size,
			until: now() + Math.max(1, granted.msBeforeNext),
			sharedRemaining: granted.remainingPoints,
		});
	}

	/** The lease of `key` if it has points left in its window. */
	function usable(key: string, at: number): Lease | undefined {
		const lease = leases.get(key);
		return lease && lease.left > 0 && at < lease.until ? lease : undefined;
	}

	return {
		takeNow(key) {
			const lease = usable(key, now());
			if (!lease) return undefined;
			lease.left--;
			return lease.sharedRemaining + lease.left;
		},
		async consume(key, points = 1) {
			// Only single points are leased; anything else asks the store directly.
			if (points !== 1) return limiter.consume(key, points);
			for (;;) {
				const at = now();
				const lease = usable(key, at);
				if (lease) {
					lease.left--;
					return new RateLimiterRes(lease.sharedRemaining + lease.left, lease.until - at, 1, false);
				}
				// One draw per key at a time: concurrent callers wait for it, then take from it.
				let pending = drawing.get(key);
				if (!pending) {
					pending = draw(key).finally(() => drawing.delete(key));
					drawing.set(key, pending);
				}
				await pending;
			}
		},
	};
}
