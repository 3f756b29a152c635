import type { Redis } from "ioredis";
import { RateLimiterRedis } from "rate-limiter-flexible";
import { leased } from "./leased.ts";
import { createPooledRateLimiter } from "./shared.ts";
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
			new RateLimiterRedis({
				storeClient: client,
				// The budget is part of the key so that, as in memory, a key limited in two ways
				// keeps two independent counters instead of one whose expiry depends on who came first.
				keyPrefix: `${prefix}rl:${configKey}`,
				points,
				duration,
			}),
			points,
		),
	);
}
