import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestRedis } from "../../../test/harness/redis.ts";
import { createMemoryCache, createRedisCache } from "./index.ts";
import type { Cache } from "./types.ts";

const testRedis = openTestRedis();
const backend = testRedis ? "redis" : "memory";
const prefix = testRedis?.prefix ?? "";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe(`cache contract (${backend})`, () => {
	let client: Redis | undefined;
	let cache: Cache;
	/** A second cache over the same store, as another process would see it. */
	let makeCache: () => Cache;

	beforeAll(() => {
		if (testRedis) {
			const redis = testRedis.connect();
			client = redis;
			makeCache = () => createRedisCache({ client: redis, prefix });
		} else {
			makeCache = () => createMemoryCache();
		}
		cache = makeCache();
	});

	afterAll(async () => {
		await cache.close();
		await testRedis?.cleanup();
	});

	it("returns undefined for a missing key and the stored value for a present one", async () => {
		expect(await cache.get("missing")).toBeUndefined();
		await cache.set("greeting", "hello", 5_000);
		expect(await cache.get("greeting")).toBe("hello");
		await cache.set("greeting", "hi again", 5_000);
		expect(await cache.get("greeting")).toBe("hi again");
		await cache.set("empty", "", 5_000);
		expect(await cache.get("empty")).toBe("");
	});

	it("forgets a value once its TTL has passed", async () => {
		await cache.set("short-lived", "v", 50);
		expect(await cache.get("short-lived")).toBe("v");
		await sleep(120);
		expect(await cache.get("short-lived")).toBeUndefined();
	});

	it("restarts the TTL when a key is set again", async () => {
		await cache.set("renewed", "v1", 150);
		await sleep(100);
		await cache.set("renewed", "v2", 400);
		await sleep(150);
		expect(await cache.get("renewed")).toBe("v2");
	});

	it("setIfAbsent sets once, refuses while present, and sets again after expiry", async () => {
		expect(await cache.setIfAbsent("dedup", "first", 50)).toBe(true);
		expect(await cache.setIfAbsent("dedup", "second", 50)).toBe(false);
		expect(await cache.get("dedup")).toBe("first");
		await sleep(120);
		expect(await cache.setIfAbsent("dedup", "third", 5_000)).toBe(true);
		expect(await cache.get("dedup")).toBe("third");
	});

	it("setIfAbsent refuses a key written by set", async () => {
		await cache.set("dedup-set", "existing", 5_000);
		expect(await cache.setIfAbsent("dedup-set", "new", 5_000)).toBe(false);
		expect(await cache.get("dedup-set")).toBe("existing");
	});

	it("increment creates the key from zero and accumulates", async () => {
		expect(await cache.increment("counter", 5, 5_000)).toBe(5);
		expect(await cache.increment("counter", 2, 5_000)).toBe(7);
		expect(await cache.increment("counter", -10, 5_000)).toBe(-3);
		expect(await cache.get("counter")).toBe("-3");
	});

	it("increment keeps the TTL from creation instead of extending it", async () => {
		expect(await cache.increment("window", 1, 400)).toBe(1);
		await sleep(200);
		// Still inside the original 400 ms; an extending implementation would now keep it until ~600 ms.
		expect(await cache.increment("window", 1, 400)).toBe(2);
		await sleep(300);
		expect(await cache.get("window")).toBeUndefined();
		expect(await cache.increment("window", 1, 400)).toBe(1);
	});

	it("increment rejects non-integer amounts and non-numeric values", async () => {
		await expect(cache.increment("bad-amount", 1.5, 5_000)).rejects.toThrow();
		await cache.set("text", "not a number", 5_000);
		await expect(cache.increment("text", 1, 5_000)).rejects.toThrow();
		expect(await cache.get("text")).toBe("not a number");
	});

	it("rejects TTLs that are not positive", async () => {
		for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
			await expect(cache.set("bad-ttl", "v", ttl), String(ttl)).rejects.toThrow(/TTL/);
			await expect(cache.setIfAbsent("bad-ttl", "v", ttl), String(ttl)).rejects.toThrow(/TTL/);
			await expect(cache.increment("bad-ttl", 1, ttl), String(ttl)).rejects.toThrow(/TTL/);
		}
		expect(await cache.get("bad-ttl")).toBeUndefined();
	});

	it("delete removes a key and tolerates a missing one", async () => {
		await cache.set("doomed", "v", 5_000);
		await cache.delete("doomed");
		expect(await cache.get("doomed")).toBeUndefined();
		await expect(cache.delete("doomed")).resolves.toBeUndefined();
		expect(await cache.setIfAbsent("doomed", "again", 5_000)).toBe(true);
	});

	it("getMany, setMany and deleteMany work on several keys at once, in order", async () => {
		expect(await cache.getMany([])).toEqual([]);
		await cache.setMany(
			[
				{ key: "many:a", value: "1" },
				{ key: "many:b", value: "2" },
			],
			5_000,
		);
		await cache.setMany([], 5_000);
		expect(await cache.getMany(["many:b", "many:missing", "many:a"])).toEqual(["2", undefined, "1"]);
		await cache.deleteMany(["many:a", "many:missing"]);
		await cache.deleteMany([]);
		expect(await cache.getMany(["many:a", "many:b"])).toEqual([undefined, "2"]);
	});

	it("setMany gives every key the TTL", async () => {
		await cache.setMany(
			[
				{ key: "many:short1", value: "x" },
				{ key: "many:short2", value: "y" },
			],
			200,
		);
		expect(await cache.getMany(["many:short1", "many:short2"])).toEqual(["x", "y"]);
		await sleep(300);
		expect(await cache.getMany(["many:short1", "many:short2"])).toEqual([undefined, undefined]);
		await expect(cache.setMany([{ key: "many:bad", value: "z" }], 0)).rejects.toThrow();
	});

	it("rejects operations after close", async () => {
		const closing = makeCache();
		await closing.close();
		await expect(closing.get("anything")).rejects.toThrow(/closed/);
		await expect(closing.set("anything", "v", 1_000)).rejects.toThrow(/closed/);
	});

	if (backend === "redis") {
		it("stores entries under the prefixed cache: key with the requested expiry, shared between instances", async () => {
			const redis = client as Redis;
			await cache.set("layout", "v", 5_000);
			const ttl = await redis.pttl(`${prefix}cache:layout`);
			expect(ttl).toBeGreaterThan(0);
			expect(ttl).toBeLessThanOrEqual(5_000);

			const other = makeCache();
			expect(await other.get("layout")).toBe("v");
			await other.close();
			// Closing one cache leaves the shared connection usable.
			expect(await cache.get("layout")).toBe("v");
		});
	}

	if (backend === "memory") {
		it("evicts the least recently used entry beyond maxEntries", async () => {
			const small = createMemoryCache({ maxEntries: 2 });
			await small.set("a", "1", 5_000);
			await small.set("b", "2", 5_000);
			await small.get("a");
			await small.set("c", "3", 5_000);
			expect(await small.get("b")).toBeUndefined();
			expect(await small.get("a")).toBe("1");
			expect(await small.get("c")).toBe("3");
			await small.close();
		});
	}
});
