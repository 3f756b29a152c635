import { describe, expect, it } from "vitest";
import { mapConcurrently } from "./concurrency.ts";

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("mapConcurrently", () => {
	it("keeps at most `limit` calls in flight, starts them in order and answers in the items' order", async () => {
		let inFlight = 0;
		let most = 0;
		const started: number[] = [];
		const results = await mapConcurrently([30, 5, 20, 1, 10, 2], 2, async (ms, index) => {
			started.push(index);
			most = Math.max(most, ++inFlight);
			await tick(ms);
			inFlight--;
			return ms * 10;
		});
		expect(results).toEqual([300, 50, 200, 10, 100, 20]);
		expect(most).toBe(2);
		expect(started).toEqual([0, 1, 2, 3, 4, 5]);
	});

	it("rejects with the first failure, handles no items, and refuses a limit below 1", async () => {
		await expect(
			mapConcurrently([1, 2, 3], 3, async (n) => {
				if (n === 2) throw new Error("two failed");
				return n;
			}),
		).rejects.toThrow("two failed");
		expect(await mapConcurrently([], 4, async () => 1)).toEqual([]);
		await expect(mapConcurrently([1], 0, async (n) => n)).rejects.toThrow(RangeError);
	});
});
