export { createMemoryRateLimiter } from "./memory.ts";
export { createRedisRateLimiter, type RedisRateLimiterOptions } from "./redis.ts";
export { toWindowSeconds } from "./shared.ts";
export type { RateLimitDecision, RateLimiter } from "./types.ts";
