import type { Redis } from "ioredis";
import { type Clock, systemClock } from "../clock.ts";
import {
	assertValidTopic,
	decodeMessages,
	defaultOnError,
	encodeMessage,
	encodeMessages,
	type Handler,
	invokeHandler,
	report,
	type Subscription,
} from "./shared.ts";
import type { BusErrorHandler, EventBus, Unsubscribe } from "./types.ts";

/** Options for {@link createRedisBus}. */
export interface RedisBusOptions {
	/** Shared connection used for PUBLISH; the bus never closes it. */
	publisher: Redis;
	/**
	 * Creates the bus's own subscriber connection, called at most once, on the first `subscribe`.
	 * A connection in subscriber mode cannot run ordinary commands, hence a dedicated one; the bus
	 * quits it on `close()`. Connection errors are for the factory's client to report.
	 */
	subscriberFactory: () => Redis;
	/** Namespace for channels: `${prefix}bus:${topic}`. */
	prefix: string;
	/** Receives errors thrown or rejected by handlers and malformed messages; defaults to `console.error`. */
	onError?: BusErrorHandler;
	/** Source of `publishedAt`; defaults to the system clock. */
	clock?: Clock;
}

interface Channel {
	readonly topic: string;
	readonly subscriptions: Set<Subscription>;
	/** Settles when Redis has confirmed the SUBSCRIBE, so no message published afterwards is missed. */
	readonly ready: Promise<unknown>;
}

/**
 * An {@link EventBus} on Redis pub/sub: every process subscribed to a topic under the same prefix
 * receives each message. Delivery is at-most-once; a subscriber that is disconnected when a
 * message is published does not get it.
 */
export function createRedisBus(options: RedisBusOptions): EventBus {
	const { publisher, subscriberFactory, prefix } = options;
	const onError = options.onError ?? defaultOnError;
	const clock = options.clock ?? systemClock;
	const channels = new Map<string, Channel>();
	let subscriber: Redis | undefined;
	let closed = false;

	const channelFor = (topic: string) => `${prefix}bus:${topic}`;

	const assertOpen = () => {
		if (closed) throw new Error("Event bus is closed");
	};

	const onMessage = (channelName: string, raw: string) => {
		const channel = channels.get(channelName);
		if (!channel || closed) return;
		for (const subscription of [...channel.subscriptions]) {
			if (!subscription.active) continue;
			let messages: ReturnType<typeof decodeMessages>;
			try {
				// Parsed per subscriber so that handlers never share (and mutate) one object.
				messages = decodeMessages(raw);
			} catch (error) {
				report(onError, error, channel.topic);
				return;
			}
			if (!messages) {
				report(onError, new Error("Ignored a malformed bus message"), channel.topic);
				return;
			}
			for (const message of messages) invokeHandler(subscription.handler, message, onError);
		}
	};

	const getSubscriber = (): Redis => {
		if (!subscriber) {
			subscriber = subscriberFactory();
			subscriber.on("message", onMessage);
		}
		return subscriber;
	};

	return {
		async publish(topic, payload) {
			assertOpen();
			assertValidTopic(topic);
			await publisher.publish(channelFor(topic), encodeMessage(topic, payload, clock.now()));
		},

		async publishMany(topic, payloads) {
			assertOpen();
			assertValidTopic(topic);
			if (payloads.length === 0) return;
			await publisher.publish(channelFor(topic), encodeMessages(topic, payloads, clock.now()));
		},

		async subscribe(topic, handler) {
			assertOpen();
			assertValidTopic(topic);
			const name = channelFor(topic);
			const connection = getSubscriber();
			let channel = channels.get(name);
			if (!channel) {
				// Registered before awaiting so that concurrent subscribers share one SUBSCRIBE, and
				// SUBSCRIBE/UNSUBSCRIBE reach Redis in call order on the single connection.
				channel = { topic, subscriptions: new Set(), ready: connection.subscribe(name) };
				channels.set(name, channel);
			}
			const subscription: Subscription = { handler: handler as Handler, active: true };
			channel.subscriptions.add(subscription);
			const current = channel;

			const unsubscribe: Unsubscribe = async () => {
				if (!subscription.active) return;
				subscription.active = false;
				current.subscriptions.delete(subscription);
				if (current.subscriptions.size > 0 || channels.get(name) !== current) return;
				channels.delete(name);
				if (closed) return;
				try {
					await connection.unsubscribe(name);
				} catch (error) {
					// Delivery has already stopped locally; a stale server-side subscription only
					// costs a little traffic until the connection is closed.
					report(onError, error, topic);
				}
			};

			try {
				await current.ready;
			} catch (error) {
				subscription.active = false;
				current.subscriptions.delete(subscription);
				if (current.subscriptions.size === 0 && channels.get(name) === current) channels.delete(name);
				throw error;
			}
			return unsubscribe;
		},

		async close() {
			if (closed) return;
			closed = true;
			for (const channel of channels.values()) {
				for (const subscription of channel.subscriptions) subscription.active = false;
			}
			channels.clear();
			if (!subscriber) return;
			const connection = subscriber;
			subscriber = undefined;
			connection.off("message", onMessage);
			try {
				await connection.quit();
			} catch {
				// QUIT fails when the connection is already broken; drop the socket instead.
				connection.disconnect();
			}
		},
	};
}
