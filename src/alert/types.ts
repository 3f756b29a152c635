import { z } from "zod";

export const severities = ["critical", "major", "minor", "warning", "info"] as const;
export type Severity = (typeof severities)[number];

export const alertStatuses = ["firing", "acknowledged", "resolved"] as const;
export type AlertStatus = (typeof alertStatuses)[number];

export const alertSources = ["alertmanager", "keep", "generic", "pagerduty"] as const;
export type AlertSource = (typeof alertSources)[number];

/** The longest label or annotation key or value accepted (8 KiB). */
export const MAX_LABEL_BYTES = 8 * 1024;

/** Why a label or annotation key or value is refused: NUL bytes, or more than 8 KiB; undefined if it is fine. */
function labelTextProblem(text: string): string | undefined {
	if (text.includes("\u0000")) return "must not contain NUL bytes";
	// A string of at most a third of the limit in UTF-16 units can't exceed it in UTF-8 bytes.
	if (text.length * 3 > MAX_LABEL_BYTES && Buffer.byteLength(text) > MAX_LABEL_BYTES) {
		return `must be at most ${MAX_LABEL_BYTES} bytes`;
	}
	return undefined;
}

/** A label or annotation key or value on its own (a PagerDuty field, a Keep label's key). */
export const labelText = z.string().check((ctx) => {
	const problem = labelTextProblem(ctx.value);
	if (problem) ctx.issues.push({ code: "custom", message: problem, input: ctx.value });
});

const typeName = (value: unknown) => (value === null ? "null" : Array.isArray(value) ? "array" : typeof value);

/**
 * A string → string map as senders send labels and annotations. Keys are checked too: a NUL
 * byte would be refused by PostgreSQL's jsonb, and huge keys are a memory attack.
 *
 * Checked in one pass over the map, which is passed on as it came, instead of as a `z.record` of
 * checked strings: a record makes a result, an issues array and a check context for every key
 * and every value, and in an alert storm that was 37% of all the ingest path allocated (ADR 0008).
 * The messages and paths are a record's.
 */
export const labelMap = z
	.custom<Record<string, string>>()
	.check((ctx) => {
		const map = ctx.value;
		const proto = typeof map === "object" && map !== null ? Object.getPrototypeOf(map) : undefined;
		if (proto !== Object.prototype && proto !== null) {
			const message = `Invalid input: expected record, received ${typeName(map)}`;
			ctx.issues.push({ code: "custom", message, input: map });
			return;
		}
		for (const key of Object.keys(map as object)) {
			const value = (map as Record<string, unknown>)[key];
			const problem =
				labelTextProblem(key) ??
				(typeof value === "string"
					? labelTextProblem(value)
					: `Invalid input: expected string, received ${typeName(value)}`);
			if (problem) ctx.issues.push({ code: "custom", message: problem, input: value, path: [key] });
		}
	})
	.meta({ type: "object", additionalProperties: { type: "string" } });

/** A sender's own identity for an alert: 1 to 256 characters, no NUL (PostgreSQL's text refuses it). */
export const senderFingerprint = labelText.min(1).max(256);

/** Go's zero time, Alertmanager's "unset": the earliest instant a sender's timestamp may be. */
const EARLIEST_INSTANT = Date.parse("0001-01-01T00:00:00Z");

/**
 * RFC 3339 with any sub-second precision (Alertmanager trims trailing zeros, up to nanoseconds),
 * from year 1 on: RFC 3339 allows year 0000, which PostgreSQL's ISO input refuses.
 */
export const rfc3339 = z.iso
	.datetime({ offset: true })
	// Only years 0000 and 0001 can be too early, so only they are parsed (two per alert otherwise).
	// Text that is no timestamp at all parses to NaN and passes here: the format issue says it all.
	.refine((text) => !text.startsWith("000") || !(Date.parse(text) < EARLIEST_INSTANT), {
		message: "must not be before year 0001 (UTC)",
	});

/**
 * One alert as an integration adapter hands it to the pipeline: the sender's format already
 * translated, not yet fingerprinted, deduplicated or classified.
 */
export interface IncomingAlert {
	source: AlertSource;
	/** The sender's own per-alert identity, when it has one. */
	fingerprint?: string;
	status: "firing" | "resolved" | "acknowledged";
	/** A severity the sender stated in its own terms, already mapped to ours. */
	severity?: Severity;
	title: string;
	description: string;
	labels: Record<string, string>;
	annotations: Record<string, string>;
	/**
	 * When it started and ended, as the sender wrote them: RFC 3339, already checked (`rfc3339`).
	 * They go to PostgreSQL as text, which reads them to the microsecond; parsing them into a Date
	 * here only to write them out again cost a few percent of a storm's CPU (ADR 0008).
	 */
	startsAt?: string;
	endsAt?: string;
	generatorUrl?: string;
	/** The sender's original object for this alert, kept verbatim. */
	raw: unknown;
	/**
	 * An event that only changes an open alert and carries none of its own (PagerDuty's acknowledge
	 * and resolve): not counted as an alert received, whose severity it could only make up.
	 */
	changeOnly?: true;
}
