import { RateLimiterMemory } from "rate-limiter-flexible";
import { createPooledRateLimiter } from "./shared.ts";
import type { RateLimiter } from "./types.ts";

/** An in-process {@link RateLimiter}: budgets are per process, for single-process deployments and tests. */
export function createMemoryRateLimiter(): RateLimiter {
	return createPooledRateLimiter(
		(points, duration, configKey) => new RateLimiterMemory({ points, duration, keyPrefix: `rl:${configKey}` }),
	);
}
