import { describe, expect, it } from "vitest";
import { createMemoryCache } from "../platform/cache/memory.ts";
import type { Cache } from "../platform/cache/types.ts";
import { createDedupWindow } from "./dedup.ts";

/** A real in-memory cache that counts the keys asked of it: the shared tier's round trips. */
function countingCache(): { cache: Cache; asked: string[] } {
	const inner = createMemoryCache();
	const asked: string[] = [];
	const cache: Cache = {
		...inner,
		async getMany(keys) {
			asked.push(...keys);
			return inner.getMany(keys);
		},
	};
	return { cache, asked };
}

describe("dedup window", () => {
	it("finds an opened alert through the shared cache, then a repeat of it in process", async () => {
		const { cache, asked } = countingCache();
		const window = createDedupWindow({ cache, windowMs: 60_000 });
		await window.remember("t1", [{ fingerprint: "fp-a", alertId: "alert-1" }]);

		expect(await window.lookup("t1", ["fp-a"])).toEqual(new Map([["fp-a", "alert-1"]]));
		expect(asked).toHaveLength(1);
		expect(await window.lookup("t1", ["fp-a"])).toEqual(new Map([["fp-a", "alert-1"]]));
		expect(asked).toHaveLength(1);
	});

	it("keeps alerts that never repeat out of the in-process tier", async () => {
		const { cache, asked } = countingCache();
		const window = createDedupWindow({ cache, windowMs: 60_000, localEntries: 2 });
		await window.remember("t1", [{ fingerprint: "fp-hot", alertId: "alert-hot" }]);
		await window.lookup("t1", ["fp-hot"]);
		// A storm of distinct alerts: each is written once and never looked up again.
		await window.remember(
			"t1",
			Array.from({ length: 100 }, (_, i) => ({ fingerprint: `storm-${i}`, alertId: `alert-${i}` })),
		);
		asked.length = 0;

		// The storm evicted nothing: the repeating alert still answers without a round trip.
		expect(await window.lookup("t1", ["fp-hot"])).toEqual(new Map([["fp-hot", "alert-hot"]]));
		expect(asked).toEqual([]);
	});

	it("follows a fingerprint's new alert and forgets a resolved one in both tiers", async () => {
		const { cache } = countingCache();
		const window = createDedupWindow({ cache, windowMs: 60_000 });
		await window.remember("t1", [{ fingerprint: "fp-a", alertId: "alert-1" }]);
		await window.lookup("t1", ["fp-a"]);

		await window.remember("t1", [{ fingerprint: "fp-a", alertId: "alert-2" }]);
		expect(await window.lookup("t1", ["fp-a"])).toEqual(new Map([["fp-a", "alert-2"]]));

		await window.forget("t1", ["fp-a"]);
		expect(await window.lookup("t1", ["fp-a"])).toEqual(new Map());
	});

	it("scopes fingerprints to their tenant", async () => {
		const { cache } = countingCache();
		const window = createDedupWindow({ cache, windowMs: 60_000 });
		await window.remember("t1", [{ fingerprint: "fp-a", alertId: "alert-1" }]);
		await window.lookup("t1", ["fp-a"]);

		expect(await window.lookup("t2", ["fp-a"])).toEqual(new Map());
	});
});
