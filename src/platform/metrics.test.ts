import { Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { tallyCounter, tallyHistogram } from "./metrics.ts";

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

describe("tallyHistogram", () => {
	const buckets = [0.005, 0.01, 0.25, 1];
	const observations: [string[], number][] = [
		[["GET", "/api/v1/alerts"], 0.004],
		[["GET", "/api/v1/alerts"], 0.005], // on a bound: counted in it, as Prometheus's `le` says
		[["GET", "/api/v1/alerts"], 0.3],
		[["POST", "/api/v1/webhooks/alertmanager"], 0.0021],
		[["POST", "/api/v1/webhooks/alertmanager"], 7], // above every bound: only +Inf
		[["GET", "/api/v1/alerts"], 0.01],
	];

	it("answers the registry with the series prom-client's Histogram gives for the same observations", async () => {
		const theirs = new Registry();
		const histogram = new Histogram({
			name: "tally_seconds",
			help: "test",
			labelNames: ["method", "path"],
			buckets,
			registers: [theirs],
		});
		const ours = new Registry();
		const tally = tallyHistogram({
			name: "tally_seconds",
			help: "test",
			labelNames: ["method", "path"],
			buckets,
			registers: [ours],
		});
		for (const [[method, path], value] of observations) {
			histogram.observe({ method: method!, path: path! }, value);
			tally.observe([method!, path!], value);
		}
		const exposition = await ours.metrics();
		expect(exposition).toBe(await theirs.metrics());
		expect(exposition).toContain('tally_seconds_bucket{le="0.005",method="GET",path="/api/v1/alerts"} 2');
		expect(exposition).toContain('tally_seconds_count{method="POST",path="/api/v1/webhooks/alertmanager"} 2');
		const json = (registry: Registry) =>
			registry.getMetricsAsJSON().then(([metric]) => metric!.values.map(({ labels, value }) => ({ labels, value })));
		expect(await json(ours)).toEqual(await json(theirs));

		ours.resetMetrics();
		theirs.resetMetrics();
		tally.observe(["GET", "/healthz"], 0.001);
		histogram.observe({ method: "GET", path: "/healthz" }, 0.001);
		expect(await ours.metrics()).toBe(await theirs.metrics());
	});

	it("refuses label values that don't match its label names, a value that is no number, and buckets out of order", () => {
		const registry = new Registry();
		const tally = tallyHistogram({
			name: "tally_seconds",
			help: "test",
			labelNames: ["a"],
			buckets,
			registers: [registry],
		});
		expect(() => tally.observe(["x", "y"], 1)).toThrow("tally_seconds takes 1 label values, got 2");
		expect(() => tally.observe(["x"], Number.NaN)).toThrow(/not a finite value/);
		const make = (labelNames: string[], bounds: number[]) => () =>
			tallyHistogram({ name: "other_seconds", help: "test", labelNames, buckets: bounds, registers: [] });
		expect(make([], buckets)).toThrow(/needs labels/);
		expect(make(["a"], [1, 0.5])).toThrow(/buckets must ascend/);
	});
});
