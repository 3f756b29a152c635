import type { BusErrorHandler, BusMessage } from "./types.ts";

/** Topic names accepted by every bus backend. */
export const TOPIC_PATTERN = /^[a-z0-9][a-z0-9._:-]{0,127}$/;

/** Throws unless `topic` matches {@link TOPIC_PATTERN}. */
export function assertValidTopic(topic: string): void {
	if (typeof topic !== "string" || !TOPIC_PATTERN.test(topic)) {
		throw new Error(`Invalid bus topic ${JSON.stringify(topic)}: expected ${TOPIC_PATTERN}`);
	}
}

export type Handler = (message: BusMessage<unknown>) => void | Promise<void>;

export interface Subscription {
	readonly handler: Handler;
	active: boolean;
}

/** With nowhere better to report, a failing handler is at least visible. */
export const defaultOnError: BusErrorHandler = (error, topic) => {
	console.error(`event bus: handler for topic "${topic}" failed`, error);
};

export function toError(error: unknown): Error {
	return error instanceof Error ? error : new Error(String(error));
}

/**
 * Runs a handler on its own microtask so that neither a synchronous throw nor a rejection can
 * reach the publisher or prevent the remaining handlers from running.
 */
export function invokeHandler(handler: Handler, message: BusMessage<unknown>, onError: BusErrorHandler): void {
	Promise.resolve()
		.then(() => handler(message))
		.catch((error: unknown) => report(onError, error, message.topic));
}

export function report(onError: BusErrorHandler, error: unknown, topic: string): void {
	try {
		onError(toError(error), topic);
	} catch {
		// A throwing reporter would otherwise become an unhandled rejection and end the process.
	}
}

/** Serialises up front so a payload that JSON cannot carry fails in `publish`, for every backend. */
export function encodeMessage(topic: string, payload: unknown, publishedAt: Date): string {
	const message: BusMessage<unknown> = { topic, payload, publishedAt: publishedAt.toISOString() };
	return JSON.stringify(message);
}

/**
 * Several messages of one topic as one wire message: the topic and instant once, then the payloads
 * (an ingest request publishes one event per alert; the repeated envelope was a third of the bytes).
 */
export function encodeMessages(topic: string, payloads: unknown[], publishedAt: Date): string {
	const batch: BusBatch = { topic, publishedAt: publishedAt.toISOString(), payloads };
	return JSON.stringify(batch);
}

/** The wire form of {@link encodeMessages}. */
interface BusBatch {
	topic: string;
	publishedAt: string;
	payloads: unknown[];
}

const isMessage = (value: unknown): value is BusMessage<unknown> =>
	typeof value === "object" &&
	value !== null &&
	typeof (value as BusMessage).topic === "string" &&
	typeof (value as BusMessage).publishedAt === "string";

const isBatch = (value: unknown): value is BusBatch =>
	typeof value === "object" &&
	value !== null &&
	typeof (value as BusBatch).topic === "string" &&
	typeof (value as BusBatch).publishedAt === "string" &&
	Array.isArray((value as BusBatch).payloads);

/**
 * Parses a wire message (one message, or a batch); `undefined` when it is not one of ours. A JSON
 * array of messages is the batch form of earlier versions, still read during a rolling upgrade.
 */
export function decodeMessages(raw: string): BusMessage<unknown>[] | undefined {
	const parsed: unknown = JSON.parse(raw);
	if (isBatch(parsed)) {
		const { topic, publishedAt } = parsed;
		return parsed.payloads.map((payload) => ({ topic, payload, publishedAt }));
	}
	if (isMessage(parsed)) return [parsed];
	if (Array.isArray(parsed) && parsed.every(isMessage)) return parsed;
	return undefined;
}
