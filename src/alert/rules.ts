import type { Severity } from "./types.ts";

/** One condition on a label, as Alertmanager writes them: `=`, `!=`, `=~`, `!~` (regexes match whole values). */
export interface LabelMatcher {
	label: string;
	op: "=" | "!=" | "=~" | "!~";
	value: string;
}

export interface SeverityRule {
	id: string;
	name: string;
	position: number;
	matchers: LabelMatcher[];
	severity: Severity;
	enabled: boolean;
	version: number;
	createdAt: Date;
	updatedAt: Date;
}

/** Anchored like Prometheus: `=~ "db-.*"` must match the whole value. */
export const compileMatcherRegex = (pattern: string): RegExp => new RegExp(`^(?:${pattern})$`);

/** A missing label counts as the empty string, as in Alertmanager. */
export function matches(matcher: LabelMatcher, labels: Record<string, string>): boolean {
	const value = labels[matcher.label] ?? "";
	switch (matcher.op) {
		case "=":
			return value === matcher.value;
		case "!=":
			return value !== matcher.value;
		case "=~":
			return compileMatcherRegex(matcher.value).test(value);
		case "!~":
			return !compileMatcherRegex(matcher.value).test(value);
	}
}

/** The severity of the first enabled rule (rules come ordered by position) whose matchers all hold. */
export function severityFromRules(
	rules: readonly SeverityRule[],
	labels: Record<string, string>,
): Severity | undefined {
	return rules.find((rule) => rule.enabled && rule.matchers.every((m) => matches(m, labels)))?.severity;
}
