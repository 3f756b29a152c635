import { RateLimiterRes } from "rate-limiter-flexible";
import type { RateLimitDecision, RateLimiter } from "./types.ts";

/** The part of rate-limiter-flexible's limiters that we use. */
export interface PointsLimiter {
	consume(key: string, points?: number): Promise<RateLimiterRes>;
	/** Takes one point from memory when it can (a leased budget): the points left, else undefined. */
	takeNow?(key: string): number | undefined;
}

/** Builds a limiter for `points` per `durationSeconds`, namespaced by `configKey`. */
export type PointsLimiterFactory = (points: number, durationSeconds: number, configKey: string) => PointsLimiter;

/**
 * rate-limiter-flexible counts windows in whole seconds, and RateLimiterRedis floors a fractional
 * duration, turning anything under a second into 0, which means "never reset". So windows are
 * rounded up to the next whole second (at least 1 s): a budget may reset a little later than
 * asked, never sooner, and both backends agree.
 */
export function toWindowSeconds(windowMs: number): number {
	if (typeof windowMs !== "number" || !Number.isFinite(windowMs) || windowMs <= 0) {
		throw new Error(`Rate limit window must be a positive number of milliseconds, got ${windowMs}`);
	}
	return Math.max(1, Math.ceil(windowMs / 1000));
}

function assertLimit(limit: number): void {
	if (!Number.isSafeInteger(limit) || limit <= 0) {
		throw new Error(`Rate limit must be a positive integer, got ${limit}`);
	}
}

/**
 * Wraps rate-limiter-flexible behind {@link RateLimiter}. Its limiters have a fixed budget, so one
 * is created per distinct (limit, window) on first use and reused; each has its own counters, so
 * the same key under two different budgets is counted separately.
 */
export function createPooledRateLimiter(factory: PointsLimiterFactory): RateLimiter {
	// By limit, then window: numbers as keys, not a "limit:window" text built on every request.
	const limiters = new Map<number, Map<number, PointsLimiter>>();
	let closed = false;

	const limiterFor = (limit: number, seconds: number): PointsLimiter => {
		let byWindow = limiters.get(limit);
		if (!byWindow) {
			byWindow = new Map();
			limiters.set(limit, byWindow);
		}
		let limiter = byWindow.get(seconds);
		if (!limiter) {
			limiter = factory(limit, seconds, `${limit}:${seconds}`);
			byWindow.set(seconds, limiter);
		}
		return limiter;
	};

	return {
		consumeNow(key, limit, windowMs) {
			if (closed) return undefined;
			const remaining = limiters.get(limit)?.get(toWindowSeconds(windowMs))?.takeNow?.(key);
			return remaining === undefined ? undefined : { allowed: true, remaining, retryAfterMs: 0 };
		},

		async consume(key, limit, windowMs) {
			if (closed) throw new Error("Rate limiter is closed");
			assertLimit(limit);
			const limiter = limiterFor(limit, toWindowSeconds(windowMs));
			let result: RateLimiterRes;
			try {
				result = await limiter.consume(key, 1);
			} catch (rejection: unknown) {
				return decideFromRejection(rejection);
			}
			return { allowed: true, remaining: result.remainingPoints, retryAfterMs: 0 };
		},

		async close() {
			closed = true;
			limiters.clear();
		},
	};
}

/**
 * rate-limiter-flexible rejects with a RateLimiterRes when the budget is spent and with an Error
 * when the store fails. Only the former is a denial: treating a Redis outage as "allowed" or
 * "denied" would hide it, so store errors propagate.
 */
function decideFromRejection(rejection: unknown): RateLimitDecision {
	if (rejection instanceof RateLimiterRes) {
		// At least 1 ms: a denial must never tell the caller to retry immediately.
		return { allowed: false, remaining: 0, retryAfterMs: Math.max(1, Math.ceil(rejection.msBeforeNext)) };
	}
	throw rejection instanceof Error ? rejection : new Error(String(rejection));
}
