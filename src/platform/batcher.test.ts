import { describe, expect, it } from "vitest";
import { type BatcherOptions, createBatcher, ItemFailure } from "./batcher.ts";

/** A flush that records its batches and waits until released, to hold flushes in flight. */
function gatedFlush() {
	const batches: number[][] = [];
	const gates: (() => void)[] = [];
	let running = 0;
	let peak = 0;
	const flush = async (items: number[]) => {
		batches.push(items);
		running++;
		peak = Math.max(peak, running);
		await new Promise<void>((resolve) => gates.push(resolve));
		running--;
		return items.map((n) => n * 10);
	};
	const releaseAll = async () => {
		while (gates.length > 0 || running > 0) {
			for (const open of gates.splice(0)) open();
			await new Promise((resolve) => setImmediate(resolve));
		}
	};
	return { flush, batches, releaseAll, peak: () => peak };
}

/** A batcher whose flush answers each item with itself, recording each batch and when it started. */
function recordingBatcher(options: BatcherOptions<number>) {
	const batches: number[][] = [];
	const starts: number[] = [];
	const batcher = createBatcher(async (items: number[]) => {
		starts.push(performance.now());
		batches.push(items);
		return items;
	}, options);
	return { batcher, batches, starts };
}

describe("batcher", () => {
	it("puts calls made together into one flush and answers each with its own result", async () => {
		const gated = gatedFlush();
		const batcher = createBatcher(gated.flush);
		const results = Promise.all([1, 2, 3].map((n) => batcher.add(n)));
		await new Promise((resolve) => setImmediate(resolve));
		await gated.releaseAll();
		expect(await results).toEqual([10, 20, 30]);
		expect(gated.batches).toEqual([[1, 2, 3]]);
	});

	it("collects calls made during a flush into the next one, and runs no more flushes than allowed", async () => {
		const gated = gatedFlush();
		const batcher = createBatcher(gated.flush, { concurrency: 2 });
		const first = batcher.add(1);
		await new Promise((resolve) => setImmediate(resolve));
		const second = batcher.add(2);
		await new Promise((resolve) => setImmediate(resolve));
		// Two flushes in flight: these wait for one of them to finish.
		const rest = [3, 4, 5].map((n) => batcher.add(n));
		await new Promise((resolve) => setImmediate(resolve));
		expect(gated.batches).toEqual([[1], [2]]);
		await gated.releaseAll();
		expect(await Promise.all([first, second, ...rest])).toEqual([10, 20, 30, 40, 50]);
		expect(gated.batches).toEqual([[1], [2], [3, 4, 5]]);
		expect(gated.peak()).toBe(2);
	});

	it("caps a flush by weight, but always takes at least one item", async () => {
		const { batcher, batches } = recordingBatcher({ maxBatch: 10, weight: (n) => n });
		await Promise.all([4, 5, 3, 20, 1].map((n) => batcher.add(n)));
		expect(batches).toEqual([[4, 5], [3], [20], [1]]);
	});

	it("rejects every caller of a failed flush, and keeps working", async () => {
		let fail = true;
		const batcher = createBatcher(async (items: number[]) => {
			if (fail) throw new Error("database down");
			return items;
		});
		const failed = [1, 2].map((n) => batcher.add(n));
		for (const call of failed) await expect(call).rejects.toThrow("database down");
		fail = false;
		expect(await batcher.add(3)).toBe(3);
	});

	it("rejects only the caller of an item the flush failed on its own", async () => {
		const batcher = createBatcher(async (items: number[]) =>
			items.map((n) => (n < 0 ? new ItemFailure(new Error(`${n} is negative`)) : n * 10)),
		);
		const [good, bad, other] = [1, -2, 3].map((n) => batcher.add(n));
		await expect(bad).rejects.toThrow("-2 is negative");
		expect([await good, await other]).toEqual([10, 30]);
	});

	it("drain waits for queued and in-flight items", async () => {
		const gated = gatedFlush();
		const batcher = createBatcher(gated.flush);
		let done = 0;
		for (const n of [1, 2]) void batcher.add(n).then(() => done++);
		let drained = false;
		const draining = batcher.drain().then(() => {
			drained = true;
		});
		await new Promise((resolve) => setImmediate(resolve));
		expect(drained).toBe(false);
		await gated.releaseAll();
		await draining;
		expect(done).toBe(2);
		await batcher.drain();
	});

	it("once busy, starts the next flush no sooner than the group-commit delay after the last one", async () => {
		const { batcher, batches, starts } = recordingBatcher({
			concurrency: 2,
			groupCommit: { delayMs: 40, siblings: 3 },
		});
		await Promise.all([1, 2, 3].map((n) => batcher.add(n)));
		// The first flush carried 3 items: the batcher is busy, so these gather for the rest of 40 ms.
		const later = [4, 5].map((n) => batcher.add(n));
		await new Promise((resolve) => setImmediate(resolve));
		const more = batcher.add(6);
		await Promise.all([...later, more]);
		expect(batches).toEqual([
			[1, 2, 3],
			[4, 5, 6],
		]);
		// Without the delay the second flush would start within a millisecond. With it, up to 2 ms early by
		// performance.now(): libuv truncates the timeout to whole milliseconds and measures it from its
		// loop's clock, itself truncated to the millisecond (seen: 38.7 ms for 40).
		expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(38);
	});

	it("flushes at once while not busy: one sender at a time never waits for the delay", async () => {
		// A delay far longer than the test may run: waiting for it would time the test out.
		const { batcher, batches } = recordingBatcher({ groupCommit: { delayMs: 60_000, siblings: 2 } });
		for (let n = 1; n <= 5; n++) expect(await batcher.add(n)).toBe(n);
		expect(batches).toEqual([[1], [2], [3], [4], [5]]);
	});
});
