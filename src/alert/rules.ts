import { z } from "zod";
import { AppError } from "../platform/errors.ts";
import { labelText, type Severity } from "./types.ts";

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

/** A matcher as the API accepts it (rules, knowledge-base entries). */
export const labelMatcherSchema = z
	.object({
		label: labelText.pipe(z.string().min(1)),
		op: z.enum(["=", "!=", "=~", "!~"]),
		value: labelText,
	})
	.strict()
	.meta({ id: "LabelMatcher", description: "Alertmanager-style matcher; regexes match the whole value" });

/** Throws a 400 naming the first matcher whose regex does not compile; `code` is the caller's error code. */
export function assertValidMatchers(matchers: readonly LabelMatcher[], code: string): void {
	matchers.forEach((matcher, i) => {
		if (matcher.op !== "=~" && matcher.op !== "!~") return;
		try {
			compileMatcherRegex(matcher.value);
		} catch (error) {
			const message = `not a valid regular expression: ${(error as Error).message}`;
			throw new AppError("validation", code, `Matcher ${i}: ${message}`, {
				fields: [{ path: `body.matchers.${i}.value`, message }],
			});
		}
	});
}

/** Whether every matcher holds (an empty list matches nothing: it would claim every alert). */
export const matchesAll = (matchers: readonly LabelMatcher[], labels: Record<string, string>): boolean =>
	matchers.length > 0 && matchers.every((m) => matches(m, labels));

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
