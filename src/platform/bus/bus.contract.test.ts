import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestRedis } from "../../../test/harness/redis.ts";
import { createMemoryBus, createRedisBus } from "./index.ts";
import type { BusMessage, EventBus } from "./types.ts";

const redis = openTestRedis();
const backend = redis ? "redis" : "memory";

interface Harness {
	bus: EventBus;
	/** Another bus as a different process would have it: own connections, same prefix. */
	makePeer(): EventBus;
	close(): Promise<void>;
}

const reportedErrors: { topic: string; error: Error }[] = [];
const onError = (error: Error, topic: string) => {
	reportedErrors.push({ topic, error });
};

function createHarness(): Harness {
	if (!redis) {
		return { bus: createMemoryBus({ onError }), makePeer: () => createMemoryBus({ onError }), close: async () => {} };
	}
	const makeBus = () =>
		createRedisBus({ publisher: redis.connect(), subscriberFactory: redis.connect, prefix: redis.prefix, onError });
	return { bus: makeBus(), makePeer: makeBus, close: () => redis.cleanup() };
}

/** Resolves once `predicate` holds; delivery is asynchronous on every backend. */
async function waitFor(predicate: () => boolean, timeoutMs = 1_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!predicate()) {
		if (Date.now() > deadline) throw new Error("Timed out waiting for delivery");
		await new Promise((resolve) => setTimeout(resolve, 5));
	}
}

function collector<T = unknown>() {
	const messages: BusMessage<T>[] = [];
	return { messages, handler: (message: BusMessage<T>) => void messages.push(message) };
}

describe(`event bus contract (${backend})`, () => {
	let harness: Harness;
	let bus: EventBus;

	beforeAll(() => {
		harness = createHarness();
		bus = harness.bus;
	});

	afterAll(async () => {
		await bus.close();
		await harness.close();
	});

	it("delivers every message, in order, to every subscriber of the topic", async () => {
		const subscribers = [collector<number>(), collector<number>(), collector<number>()];
		for (const { handler } of subscribers) await bus.subscribe<number>("alerts.fanout", handler);

		for (const n of [1, 2, 3]) await bus.publish("alerts.fanout", n);

		await waitFor(() => subscribers.every(({ messages }) => messages.length === 3));
		for (const { messages } of subscribers) {
			expect(messages.map((m) => m.payload)).toEqual([1, 2, 3]);
			expect(messages.every((m) => m.topic === "alerts.fanout")).toBe(true);
			expect(Number.isNaN(Date.parse(messages[0]?.publishedAt ?? ""))).toBe(false);
		}
	});

	it("publishMany delivers each payload as its own message, in order, interleaved correctly with publish", async () => {
		const subscribers = [collector<{ n: number }>(), collector<{ n: number }>()];
		for (const { handler } of subscribers) await bus.subscribe<{ n: number }>("alerts.many", handler);

		await bus.publish("alerts.many", { n: 1 });
		await bus.publishMany("alerts.many", [{ n: 2 }, { n: 3 }, { n: 4 }]);
		await bus.publishMany("alerts.many", []);
		await bus.publish("alerts.many", { n: 5 });

		await waitFor(() => subscribers.every(({ messages }) => messages.length === 5));
		for (const { messages } of subscribers) {
			expect(messages.map((m) => m.payload.n)).toEqual([1, 2, 3, 4, 5]);
			expect(messages.every((m) => m.topic === "alerts.many")).toBe(true);
		}
		// Each subscriber got its own copies.
		expect(subscribers[0]!.messages[1]!.payload).not.toBe(subscribers[1]!.messages[1]!.payload);
		await expect(bus.publishMany("Not A Topic", [1])).rejects.toThrow(/Invalid bus topic/);
	});

	it("delivers after publish returns control, never inside the call", async () => {
		const { messages, handler } = collector();
		await bus.subscribe("alerts.async", handler);

		const published = bus.publish("alerts.async", "x");
		expect(messages).toHaveLength(0);
		await published;

		await waitFor(() => messages.length === 1);
	});

	it("keeps topics isolated", async () => {
		const a = collector<string>();
		const b = collector<string>();
		await bus.subscribe<string>("isolation.a", a.handler);
		await bus.subscribe<string>("isolation.b", b.handler);

		await bus.publish("isolation.a", "for-a");
		await bus.publish("isolation.b", "for-b");

		// Messages reach one process in publish order, so once b has its message a has had every chance.
		await waitFor(() => b.messages.length === 1);
		await waitFor(() => a.messages.length === 1);
		expect(a.messages.map((m) => m.payload)).toEqual(["for-a"]);
		expect(b.messages.map((m) => m.payload)).toEqual(["for-b"]);
	});

	it("stops delivering to a subscriber once its unsubscribe resolves", async () => {
		const leaving = collector<number>();
		const staying = collector<number>();
		const unsubscribe = await bus.subscribe<number>("unsub.topic", leaving.handler);
		await bus.subscribe<number>("unsub.topic", staying.handler);

		await bus.publish("unsub.topic", 1);
		await waitFor(() => leaving.messages.length === 1 && staying.messages.length === 1);

		await unsubscribe();
		await unsubscribe();
		await bus.publish("unsub.topic", 2);

		await waitFor(() => staying.messages.length === 2);
		expect(leaving.messages.map((m) => m.payload)).toEqual([1]);
	});

	it("stops delivery on the topic entirely when its last subscriber leaves, and resumes on resubscribe", async () => {
		const first = collector<number>();
		const barrier = collector<number>();
		await bus.subscribe<number>("unsub.barrier", barrier.handler);
		const unsubscribe = await bus.subscribe<number>("unsub.last", first.handler);
		await unsubscribe();

		await bus.publish("unsub.last", 1);
		await bus.publish("unsub.barrier", 1);
		await waitFor(() => barrier.messages.length === 1);
		expect(first.messages).toHaveLength(0);

		const second = collector<number>();
		await bus.subscribe<number>("unsub.last", second.handler);
		await bus.publish("unsub.last", 2);
		await waitFor(() => second.messages.length === 1);
		expect(first.messages).toHaveLength(0);
	});

	it("gives each subscriber its own JSON copy of the payload", async () => {
		type Payload = { nested: { count: number }; at: Date | string };
		const one = collector<Payload>();
		const two = collector<Payload>();
		await bus.subscribe<Payload>("copy.topic", one.handler);
		await bus.subscribe<Payload>("copy.topic", two.handler);
		const at = new Date("2024-01-02T03:04:05.000Z");
		const payload: Payload = { nested: { count: 1 }, at };

		await bus.publish("copy.topic", payload);
		payload.nested.count = 99;

		await waitFor(() => one.messages.length === 1 && two.messages.length === 1);
		const received = one.messages[0]?.payload;
		expect(received).toEqual({ nested: { count: 1 }, at: at.toISOString() });
		expect(received).not.toBe(payload);
		expect(received?.nested).not.toBe(two.messages[0]?.payload.nested);
	});

	it("isolates a throwing or rejecting handler from other handlers and the publisher", async () => {
		const healthy = collector<number>();
		await bus.subscribe("faulty.topic", () => {
			throw new Error("sync boom");
		});
		await bus.subscribe("faulty.topic", async () => {
			throw new Error("async boom");
		});
		await bus.subscribe<number>("faulty.topic", healthy.handler);

		await expect(bus.publish("faulty.topic", 1)).resolves.toBeUndefined();
		await expect(bus.publish("faulty.topic", 2)).resolves.toBeUndefined();

		await waitFor(() => healthy.messages.length === 2);
		const errorsFor = () => reportedErrors.filter((e) => e.topic === "faulty.topic");
		await waitFor(() => errorsFor().length === 4);
		expect(
			errorsFor()
				.map((e) => e.error.message)
				.sort(),
		).toEqual(["async boom", "async boom", "sync boom", "sync boom"]);
	});

	it("rejects invalid topic names", async () => {
		const handler = () => {};
		for (const topic of ["", "Alerts", "has space", ".leading-dot", "-leading-dash", "a/b", "x".repeat(129)]) {
			await expect(bus.publish(topic, {}), topic).rejects.toThrow(/topic/i);
			await expect(bus.subscribe(topic, handler), topic).rejects.toThrow(/topic/i);
		}
		await expect(bus.publish(`a${"x".repeat(127)}`, {})).resolves.toBeUndefined();
		await expect(bus.publish("ok.topic:with_all-chars.09", {})).resolves.toBeUndefined();
	});

	it("accepts a publish that no one is subscribed to", async () => {
		await expect(bus.publish("nobody.listens", { hello: "world" })).resolves.toBeUndefined();
	});

	it("rejects publish and subscribe after close", async () => {
		const peer = harness.makePeer();
		await peer.subscribe("closing.topic", () => {});
		await peer.close();
		await peer.close();
		await expect(peer.publish("closing.topic", 1)).rejects.toThrow(/closed/);
		await expect(peer.subscribe("closing.topic", () => {})).rejects.toThrow(/closed/);
	});

	if (backend === "redis") {
		it("delivers across bus instances with separate connections (other processes)", async () => {
			const peer = harness.makePeer();
			try {
				const onPeer = collector<{ from: string }>();
				const onLocal = collector<{ from: string }>();
				await peer.subscribe("cross.process", onPeer.handler);
				await bus.subscribe("cross.process", onLocal.handler);

				await bus.publish("cross.process", { from: "bus" });
				await peer.publish("cross.process", { from: "peer" });

				await waitFor(() => onPeer.messages.length === 2 && onLocal.messages.length === 2);
				expect(onPeer.messages.map((m) => m.payload.from)).toEqual(["bus", "peer"]);
				expect(onLocal.messages.map((m) => m.payload.from)).toEqual(["bus", "peer"]);
			} finally {
				await peer.close();
			}
		});
	}
});
