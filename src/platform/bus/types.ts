/** A message as delivered to subscribers; `payload` has been through JSON, so it is a copy. */
export interface BusMessage<T = unknown> {
	topic: string;
	payload: T;
	/** ISO-8601 timestamp taken when `publish` was called. */
	publishedAt: string;
}

/** Stops one subscription; calling it again is harmless. */
export type Unsubscribe = () => Promise<void>;

/** Publish/subscribe between components, with the same semantics for every backend. */
export interface EventBus {
	/** Delivers to every subscriber of the topic in every process (Redis) or in this process (memory). */
	publish<T>(topic: string, payload: T): Promise<void>;
	/** Publishes several messages on one topic as one (one round trip); each is delivered as if published alone, in order. */
	publishMany<T>(topic: string, payloads: T[]): Promise<void>;
	subscribe<T>(topic: string, handler: (message: BusMessage<T>) => void | Promise<void>): Promise<Unsubscribe>;
	close(): Promise<void>;
}

/** Receives a handler's failure, or an undeliverable message, together with its topic. */
export type BusErrorHandler = (error: Error, topic: string) => void;
