import { describe, expect, it } from "vitest";
import { lruCache } from "./lru.ts";

describe("lruCache", () => {
	it("holds at most its bound, dropping the least recently used", () => {
		const cache = lruCache<string, number>(3);
		for (const [i, key] of ["a", "b", "c"].entries()) cache.set(key, i);
		cache.get("a");
		cache.set("d", 3);
		expect([...cache.keys()].sort()).toEqual(["a", "c", "d"]);
		expect(cache.size).toBe(3);
	});

	it("keeps the options it is given, such as a TTL", async () => {
		const cache = lruCache<string, number>(10, { ttl: 20 });
		cache.set("a", 1);
		expect(cache.get("a")).toBe(1);
		await new Promise((resolve) => setTimeout(resolve, 40));
		expect(cache.get("a")).toBeUndefined();
	});

	it("reserves no room up front", () => {
		// A preallocating cache of a million entries would take tens of MiB before its first entry.
		const before = process.memoryUsage().heapUsed;
		const caches = Array.from({ length: 10 }, () => lruCache<string, string>(1_000_000));
		expect(caches).toHaveLength(10);
		expect(process.memoryUsage().heapUsed - before).toBeLessThan(1024 * 1024);
	});
});
