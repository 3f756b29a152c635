import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { tuneHeapGrowth } from "./heap.ts";

const heapModule = fileURLToPath(new URL("./heap.ts", import.meta.url));

/**
 * Full collections in a child that keeps ~30 MB alive and promotes a few hundred MB more, under the
 * production heap bound; with `tune`, after calling tuneHeapGrowth first.
 */
function fullCollections(tune: boolean): number {
	const script = `
		${tune ? `const { tuneHeapGrowth } = await import(${JSON.stringify(heapModule)}); tuneHeapGrowth();` : ""}
		const live = Array.from({ length: 300_000 }, (_, i) => ({ i, text: "live " + i }));
		const recent = [];
		for (let round = 0; round < 1000; round++) {
			recent.push(Array.from({ length: 10_000 }, (_, i) => ({ i })));
			if (recent.length > 30) recent.shift();
		}
		globalThis.keep = live;`;
	const trace = execFileSync(
		process.execPath,
		[
			"--import",
			"tsx",
			"--trace-gc",
			"--max-semi-space-size=4",
			"--max-old-space-size=96",
			"--input-type=module",
			"-e",
			script,
		],
		{ encoding: "utf8" },
	);
	return trace.split("\n").filter((line) => line.includes("Mark-Compact")).length;
}

describe("tuneHeapGrowth", () => {
	it("lets the old generation grow further between full collections", () => {
		const untuned = fullCollections(false);
		const tuned = fullCollections(true);
		expect(untuned).toBeGreaterThan(10);
		expect(tuned).toBeLessThan(untuned);
	});

	it("leaves the factor alone when the operator set one on the command line", () => {
		expect(tuneHeapGrowth(["--max-old-space-size=96", "--heap-growing-percent=10"])).toBe(false);
		expect(tuneHeapGrowth(["--heap_growing_percent=10"])).toBe(false);
	});
});
