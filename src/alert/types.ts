import { z } from "zod";

export const severities = ["critical", "major", "minor", "warning", "info"] as const;
export type Severity = (typeof severities)[number];

export const alertStatuses = ["firing", "acknowledged", "resolved"] as const;
export type AlertStatus = (typeof alertStatuses)[number];

export const alertSources = ["alertmanager", "keep", "generic", "pagerduty"] as const;
export type AlertSource = (typeof alertSources)[number];

/** The longest label or annotation key or value accepted (8 KiB). */
export const MAX_LABEL_BYTES = 8 * 1024;

/**
 * A label or annotation key or value: no NUL bytes, at most 8 KiB. One check, not two refinements:
 * an alert storm runs it on every key and value, and a string of at most a third of the limit in
 * UTF-16 units can't exceed it in UTF-8 bytes, so only long strings are measured.
 */
export const labelText = z.string().check((ctx) => {
	const text = ctx.value;
	if (text.includes("\u0000")) {
		ctx.issues.push({ code: "custom", message: "must not contain NUL bytes", input: text });
	} else if (text.length * 3 > MAX_LABEL_BYTES && Buffer.byteLength(text) > MAX_LABEL_BYTES) {
		ctx.issues.push({ code: "custom", message: `must be at most ${MAX_LABEL_BYTES} bytes`, input: text });
	}
});

/**
 * A string → string map as senders send labels and annotations. Keys are checked too: a NUL
 * byte would be refused by PostgreSQL's jsonb, and huge keys are a memory attack.
 */
export const labelMap = z.record(labelText, labelText);

/** RFC 3339 with any sub-second precision (Alertmanager trims trailing zeros, up to nanoseconds). */
export const rfc3339 = z.iso.datetime({ offset: true });

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
	startsAt?: Date;
	endsAt?: Date;
	generatorUrl?: string;
	/** The sender's original object for this alert, kept verbatim. */
	raw: unknown;
}
