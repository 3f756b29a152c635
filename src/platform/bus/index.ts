export { keepSubscribed } from "./keep-subscribed.ts";
export { createMemoryBus, type MemoryBusOptions } from "./memory.ts";
export { createRedisBus, type RedisBusOptions } from "./redis.ts";
export { assertValidTopic, TOPIC_PATTERN } from "./shared.ts";
export type { BusErrorHandler, BusMessage, EventBus, Unsubscribe } from "./types.ts";
