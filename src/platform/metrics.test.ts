import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { tallyCounter } from "./metrics.ts";

const samples = async (registry: Registry) =>
	(await registry.metrics()).split("\n").filter((line) => line.startsWith("tally_test_total{"));

describe("tallyCounter", () => {
	it("hands its counts to the registry when read, each label set once, adding up across reads", async () => {
		const registry = new Registry();
		const counter = tallyCounter({
			name: "tally_test_total",
			help: "test",
			labelNames: ["source", "tenant"] as const,
			registers: [registry],
		});
		counter.inc(["alertmanager", "acme"]);
		counter.inc(["alertmanager", "acme"], 4);
		counter.inc(["keep", "acme"], 2);
		counter.inc(["alertmanager", "umbrella"]);
		expect(await samples(registry)).toEqual([
			'tally_test_total{source="alertmanager",tenant="acme"} 5',
			'tally_test_total{source="keep",tenant="acme"} 2',
			'tally_test_total{source="alertmanager",tenant="umbrella"} 1',
		]);
		// A second read without increments changes nothing; later increments add to what was read.
		expect(await samples(registry)).toHaveLength(3);
		counter.inc(["alertmanager", "acme"], 3);
		expect(await samples(registry)).toContain('tally_test_total{source="alertmanager",tenant="acme"} 8');
	});

	it("refuses label values that don't match its label names, and a counter without labels", () => {
		const registry = new Registry();
		const counter = tallyCounter({
			name: "tally_test_total",
			help: "test",
			labelNames: ["a", "b"],
			registers: [registry],
		});
		expect(() => counter.inc(["only-one"])).toThrow("tally_test_total takes 2 label values, got 1");
		counter.inc(["a", "b"]);
		expect(() => counter.inc(["a", "b", "c"])).toThrow("tally_test_total takes 2 label values, got 3");
		expect(() => tallyCounter({ name: "bare_total", help: "test", registers: [registry] })).toThrow(/needs labels/);
	});
});
