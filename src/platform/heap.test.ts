import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { tuneHeap } from "./heap.ts";

const heapModule = fileURLToPath(new URL("./heap.ts", import.meta.url));

/** Runs `script` as a module under the production heap bound with `--trace-gc`; with `tune`, after tuneHeap. */
function traceGc(script: string, tune: boolean): string {
	const tuning = tune ? `const { tuneHeap } = await import(${JSON.stringify(heapModule)}); tuneHeap();` : "";
	return execFileSync(
		process.execPath,
		[
			"--import",
			"tsx",
			"--trace-gc",
			"--max-semi-space-size=4",
			"--max-old-space-size=96",
			"--input-type=module",
			"-e",
			tuning + script,
		],
		{ encoding: "utf8" },
	);
}

const fullCollections = (trace: string) => trace.split("\n").filter((line) => line.includes("Mark-Compact")).length;

describe("tuneHeap", () => {
	it("lets the old generation grow further between full collections", () => {
		// ~30 MB kept alive while a few hundred MB more are promoted.
		const script = `
			const live = Array.from({ length: 300_000 }, (_, i) => ({ i, text: "live " + i }));
			const recent = [];
			for (let round = 0; round < 1000; round++) {
				recent.push(Array.from({ length: 10_000 }, (_, i) => ({ i })));
				if (recent.length > 30) recent.shift();
			}
			globalThis.keep = live;`;
		const untuned = fullCollections(traceGc(script, false));
		const tuned = fullCollections(traceGc(script, true));
		expect(untuned).toBeGreaterThan(10);
		expect(tuned).toBeLessThan(untuned);
	});

	it("keeps short-lived objects young after a storm of long-lived ones from the same code", () => {
		// A storm: objects made by one function survive their young collections. Then the same function's
		// objects die at once, while the storm's survivors stay alive (a server's steady live data).
		const script = `
			const make = (i) => ({ i, list: [i, i + 1, i + 2] });
			const kept = [];
			for (let round = 0; round < 300; round++) {
				for (let i = 0; i < 10_000; i++) kept.push(make(i));
				if (kept.length > 300_000) kept.splice(0, 100_000);
			}
			globalThis.kept = kept;
			console.log("AFTER THE STORM");
			let last;
			for (let round = 0; round < 400; round++) for (let i = 0; i < 10_000; i++) last = make(i);
			globalThis.last = last;`;
		const afterStorm = (trace: string) => trace.slice(trace.indexOf("AFTER THE STORM"));
		const untuned = fullCollections(afterStorm(traceGc(script, false)));
		const tuned = fullCollections(afterStorm(traceGc(script, true)));
		// V8's own: it allocates the function's objects in the old generation, which fills every few rounds.
		expect(untuned).toBeGreaterThan(10);
		expect(tuned).toBeLessThanOrEqual(2);
	});

	it("leaves a flag alone when the operator set it on the command line", () => {
		const tunedWith = (execArgv: string[]) => {
			const set: string[] = [];
			const returned = tuneHeap(execArgv, (flag) => set.push(flag));
			expect(returned).toEqual(set);
			return set;
		};
		expect(tunedWith(["--max-old-space-size=96"])).toEqual([
			"--heap-growing-percent=40",
			"--no-allocation-site-pretenuring",
		]);
		expect(tunedWith(["--max-old-space-size=96", "--heap-growing-percent=10"])).toEqual([
			"--no-allocation-site-pretenuring",
		]);
		expect(tunedWith(["--heap_growing_percent=10", "--allocation-site-pretenuring"])).toEqual([]);
		expect(tunedWith(["--no-allocation_site_pretenuring"])).toEqual(["--heap-growing-percent=40"]);
	});
});
