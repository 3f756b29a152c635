import { describe, expect, it } from "vitest";
import { fingerprintOfLabels } from "./fingerprint.ts";
import { transition } from "./lifecycle.ts";
import { severityFromLabels } from "./severity.ts";

describe("alert lifecycle", () => {
	it.each([
		["firing", "acknowledge", { kind: "changed", to: "acknowledged" }],
		["acknowledged", "acknowledge", { kind: "unchanged" }],
		["resolved", "acknowledge", { kind: "invalid", reason: "A resolved alert cannot be acknowledged" }],
		["firing", "resolve", { kind: "changed", to: "resolved" }],
		["acknowledged", "resolve", { kind: "changed", to: "resolved" }],
		["resolved", "resolve", { kind: "unchanged" }],
	] as const)("%s + %s", (from, action, outcome) => {
		expect(transition(from, action)).toEqual(outcome);
	});
});

describe("fingerprint of labels", () => {
	it("ignores label order and depends on every key and value", () => {
		const a = fingerprintOfLabels({ alertname: "DiskFull", instance: "node-1", severity: "critical" });
		const b = fingerprintOfLabels(JSON.parse('{"severity":"critical","instance":"node-1","alertname":"DiskFull"}'));
		expect(a).toBe(b);
		expect(a).toMatch(/^[0-9a-f]{32}$/);
		expect(fingerprintOfLabels({ alertname: "DiskFull", instance: "node-2", severity: "critical" })).not.toBe(a);
		expect(fingerprintOfLabels({ alertname: "DiskFull", instance: "node-1" })).not.toBe(a);
		// A key/value boundary can't be shifted to forge a collision.
		expect(fingerprintOfLabels({ "a=b": "c" })).not.toBe(fingerprintOfLabels({ a: "b=c" }));
	});
});

describe("severity from labels", () => {
	it.each([
		[{ severity: "critical" }, "critical"],
		[{ severity: "CRITICAL " }, "critical"],
		[{ severity: "warning" }, "warning"],
		[{ severity: "high" }, "major"],
		[{ priority: "P1" }, "critical"],
		[{ priority: "p3" }, "minor"],
		[{ severity: "nonsense", priority: "p2" }, "major"],
		[{ severity: "info", priority: "p1" }, "info"],
		[{ team: "db" }, undefined],
	] as const)("%j → %s", (labels, expected) => {
		expect(severityFromLabels(labels)).toBe(expected);
	});
});
