import { type Clock, systemClock } from "../clock.ts";
import {
	assertValidTopic,
	decodeMessages,
	defaultOnError,
	encodeMessage,
	encodeMessages,
	type Handler,
	invokeHandler,
	type Subscription,
} from "./shared.ts";
import type { BusErrorHandler, EventBus, Unsubscribe } from "./types.ts";

/** Options for {@link createMemoryBus}. */
export interface MemoryBusOptions {
	/** Receives errors thrown or rejected by handlers; defaults to `console.error`. */
	onError?: BusErrorHandler;
	/** Source of `publishedAt`; defaults to the system clock. */
	clock?: Clock;
}

/**
 * An in-process {@link EventBus} that behaves like the Redis one: delivery happens later, never
 * inside `publish`, and every subscriber gets its own JSON copy of the payload, so code that
 * works against this bus does not break when it is deployed against Redis.
 */
export function createMemoryBus(options: MemoryBusOptions = {}): EventBus {
	const onError = options.onError ?? defaultOnError;
	const clock = options.clock ?? systemClock;
	const topics = new Map<string, Set<Subscription>>();
	let closed = false;

	const assertOpen = () => {
		if (closed) throw new Error("Event bus is closed");
	};

	function deliver(topic: string, raw: string): void {
		const subscriptions = topics.get(topic);
		if (!subscriptions || subscriptions.size === 0) return;
		// Only those subscribed at publish time receive it, as with Redis pub/sub.
		const recipients = [...subscriptions];
		setImmediate(() => {
			for (const subscription of recipients) {
				if (closed || !subscription.active) continue;
				for (const message of decodeMessages(raw) ?? []) invokeHandler(subscription.handler, message, onError);
			}
		});
	}

	return {
		async publish(topic, payload) {
			assertOpen();
			assertValidTopic(topic);
			deliver(topic, encodeMessage(topic, payload, clock.now()));
		},

		async publishMany(topic, payloads) {
			assertOpen();
			assertValidTopic(topic);
			if (payloads.length === 0) return;
			deliver(topic, encodeMessages(topic, payloads, clock.now()));
		},

		async subscribe(topic, handler) {
			assertOpen();
			assertValidTopic(topic);
			const subscription: Subscription = { handler: handler as Handler, active: true };
			let subscriptions = topics.get(topic);
			if (!subscriptions) {
				subscriptions = new Set();
				topics.set(topic, subscriptions);
			}
			subscriptions.add(subscription);
			const unsubscribe: Unsubscribe = async () => {
				if (!subscription.active) return;
				subscription.active = false;
				const current = topics.get(topic);
				current?.delete(subscription);
				if (current?.size === 0) topics.delete(topic);
			};
			return unsubscribe;
		},

		async close() {
			closed = true;
			for (const subscriptions of topics.values()) {
				for (const subscription of subscriptions) subscription.active = false;
			}
			topics.clear();
		},
	};
}
