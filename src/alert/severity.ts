import type { Severity } from "./types.ts";

/**
 * Words senders use for severity and priority, mapped to ours. Prometheus rules conventionally
 * say critical/warning/info; others say P1–P5, high/medium/low, error, page.
 */
const synonyms: Record<string, Severity> = {
	critical: "critical",
	crit: "critical",
	fatal: "critical",
	emergency: "critical",
	page: "critical",
	p1: "critical",
	sev1: "critical",
	major: "major",
	high: "major",
	error: "major",
	p2: "major",
	sev2: "major",
	minor: "minor",
	medium: "minor",
	moderate: "minor",
	p3: "minor",
	sev3: "minor",
	warning: "warning",
	warn: "warning",
	low: "warning",
	p4: "warning",
	sev4: "warning",
	info: "info",
	informational: "info",
	notice: "info",
	none: "info",
	p5: "info",
	sev5: "info",
};

const severityLabels = ["severity", "priority"] as const;

/** The severity a label states (`severity` first, then `priority`), if it is a word we know. */
export function severityFromLabels(labels: Record<string, string>): Severity | undefined {
	for (const name of severityLabels) {
		const value = labels[name];
		if (value === undefined) continue;
		const mapped = synonyms[value.trim().toLowerCase()];
		if (mapped) return mapped;
	}
	return undefined;
}

/** Severities that page someone. */
export const pagingSeverities: ReadonlySet<Severity> = new Set(["critical", "major"]);

/** What an alert gets when neither the sender, its labels nor a tenant rule say otherwise. */
export const DEFAULT_SEVERITY: Severity = "warning";
