export { createMemoryCache, DEFAULT_MAX_ENTRIES, type MemoryCacheOptions } from "./memory.ts";
export { createRedisCache, type RedisCacheOptions } from "./redis.ts";
export type { Cache } from "./types.ts";
