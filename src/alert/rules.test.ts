import { describe, expect, it } from "vitest";
import { type SeverityRule, severityFromRules } from "./rules.ts";

const rule = (
	position: number,
	severity: SeverityRule["severity"],
	matchers: SeverityRule["matchers"],
	enabled = true,
) =>
	({
		id: String(position),
		name: `r${position}`,
		position,
		severity,
		matchers,
		enabled,
		version: 1,
		createdAt: new Date(),
		updatedAt: new Date(),
	}) satisfies SeverityRule;

describe("severity rules", () => {
	const rules = [
		rule(1, "info", [{ label: "env", op: "=", value: "staging" }]),
		rule(2, "critical", [
			{ label: "team", op: "=", value: "db" },
			{ label: "instance", op: "=~", value: "db-(1|2)" },
		]),
		rule(3, "major", [{ label: "team", op: "=", value: "db" }], false),
		rule(4, "minor", [{ label: "service", op: "!~", value: "checkout.*" }]),
	];

	it.each([
		[{ env: "staging", team: "db", instance: "db-1" }, "info"],
		[{ team: "db", instance: "db-1" }, "critical"],
		[{ team: "db", instance: "db-12" }, "minor"],
		[{ team: "db", instance: "db-1x", service: "checkout-api" }, undefined],
		[{ service: "search" }, "minor"],
		[{}, "minor"],
	] as const)("%j → %s", (labels, expected) => {
		expect(severityFromRules(rules, labels)).toBe(expected);
	});

	it("treats a missing label as empty, as Alertmanager does", () => {
		expect(severityFromRules([rule(1, "major", [{ label: "env", op: "!=", value: "" }])], {})).toBeUndefined();
		expect(severityFromRules([rule(1, "major", [{ label: "env", op: "=", value: "" }])], {})).toBe("major");
	});
});
