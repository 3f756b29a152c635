import type { Redis } from "ioredis";
import { RateLimiterRedis } from "rate-limiter-flexible";
import { withTimeout } from "../timeout.ts";
import { leased } from "./leased.ts";
import { createPooledRateLimiter, type PointsLimiter } from "./shared.ts";
import type { RateLimiter } from "./types.ts";

/** Options for {@link createRedisRateLimiter}. */
export interface RedisRateLimiterOptions {
	/** Shared connection; the limiter never closes it. */
	client: Redis;
	/** Namespace for keys: `${prefix}rl:${limit}:${windowSeconds}:${key}`. */
	prefix: string;
}

/**
 * A {@link RateLimiter} on Redis: every process using the same prefix draws from one budget per
 * key, drawn in leases of 1% of it (see {@link leased}). A Redis failure rejects `consume` rather
 * than allowing or denying the request.
 */
export function createRedisRateLimiter(options: RedisRateLimiterOptions): RateLimiter {
	const { client, prefix } = options;
	return createPooledRateLimiter((points, duration, configKey) =>
		leased(
			timed(
				new RateLimiterRedis({
					storeClient: client,
					// The budget is part of the key so that, as in memory, a key limited in two ways
					// keeps two independent counters instead of one whose expiry depends on who came first.
					keyPrefix: `${prefix}rl:${configKey}`,
					points,
					duration,
				}),
			),
			points,
		),
	);
}

/**
 * A Redis that is reconnecting queues commands: a call to it waits this long (as long as the dedup
 * window waits), not for the reconnect; past it the request goes on unlimited. Only calls that
 * reach Redis pay for a timer; points handed out from a lease don't.
 */
const REDIS_TIMEOUT_MS = 250;

const timed = (limiter: PointsLimiter): PointsLimiter => ({
	consume: (key, points) => withTimeout(limiter.consume(key, points), REDIS_TIMEOUT_MS, "the rate limiter"),
});
