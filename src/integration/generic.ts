/**
 * OpsWatch's own JSON alert format, for any sender that can POST JSON: one alert object or an
 * array of them.
 *
 * ```json
 * {
 *   "title": "Disk almost full on db-1",
 *   "description": "/var/lib/postgresql is 93% full",
 *   "severity": "major",
 *   "status": "firing",
 *   "labels": {"host": "db-1", "mount": "/var/lib/postgresql"},
 *   "annotations": {"runbook": "https://wiki.example.com/runbooks/disk"},
 *   "fingerprint": "db-1:/var/lib/postgresql:disk-full",
 *   "source": "cron disk check",
 *   "starts_at": "2026-11-26T13:20:17Z",
 *   "url": "https://grafana.example.com/d/disk?var-host=db-1"
 * }
 * ```
 *
 * `status` defaults to "firing"; sending the same `fingerprint` with `"status": "resolved"` resolves
 * the alert. `source` names the sending system and lands in the label `source` unless the labels
 * already carry one (the alert's own source stays "generic"). As in the Alertmanager adapter,
 * `ends_at` becomes the alert's end only when it is resolved. Unknown fields are accepted and kept
 * in the raw payload.
 */
import { z } from "zod";
import { type IncomingAlert, labelMap, rfc3339, senderFingerprint, severities } from "../alert/index.ts";
import { alertArray } from "./one-or-many.ts";

/** The longest description accepted, in UTF-8 bytes (64 KiB). */
export const MAX_DESCRIPTION_BYTES = 64 * 1024;

/** Text stored as-is in PostgreSQL `text`, which refuses NUL bytes. */
const text = () => z.string().refine((value) => !value.includes("\u0000"), { message: "must not contain NUL bytes" });

/** Milliseconds since the epoch, NaN when absent or unparsable (so comparisons with it are false). */
const instant = (timestamp: string | undefined): number =>
	timestamp === undefined ? Number.NaN : Date.parse(timestamp);

export const genericAlert = z
	.looseObject({
		title: text().min(1).max(1024).meta({ description: "Short summary of the problem, 1 to 1024 characters." }),
		description: text()
			.max(MAX_DESCRIPTION_BYTES)
			.refine((value) => Buffer.byteLength(value) <= MAX_DESCRIPTION_BYTES, {
				message: `must be at most ${MAX_DESCRIPTION_BYTES} bytes`,
			})
			.optional()
			.meta({ description: "Longer explanation, plain text or Markdown, at most 64 KiB (UTF-8)." }),
		severity: z
			.enum(severities)
			.optional()
			.meta({ description: "The sender's severity, in OpsWatch's terms. When absent, OpsWatch classifies the alert." }),
		status: z
			.enum(["firing", "resolved"])
			.default("firing")
			.meta({ description: 'Whether the problem is ongoing ("firing", the default) or over ("resolved").' }),
		labels: labelMap.default({}).meta({
			description: "Identifying string key/value pairs used for routing and grouping (values at most 8 KiB, no NUL).",
		}),
		annotations: labelMap.default({}).meta({
			description: "Informational string key/value pairs, such as a runbook link (values at most 8 KiB, no NUL).",
		}),
		fingerprint: senderFingerprint.optional().meta({
			description:
				"The sender's stable identity for this alert, 1 to 256 characters: repeated sends with the same fingerprint update one alert.",
		}),
		source: text().max(200).optional().meta({
			description:
				'Free text naming the sending system, at most 200 characters; stored as the label "source" unless labels already has one.',
		}),
		starts_at: rfc3339.optional().meta({ description: "When the problem started, RFC 3339 with a time zone offset." }),
		ends_at: rfc3339.optional().meta({
			description: "When the problem ended, RFC 3339 with a time zone offset; not before starts_at.",
		}),
		url: z
			.string()
			.max(8192)
			.optional()
			.meta({ description: "Link back to the sending system's view of the alert, at most 8192 characters." }),
	})
	.refine((alert) => !(instant(alert.ends_at) < instant(alert.starts_at)), {
		message: "ends_at must not be before starts_at",
		path: ["ends_at"],
	})
	.meta({ id: "GenericAlert", description: "One alert in OpsWatch's generic JSON format." });

export const genericPayload = alertArray(genericAlert, {
	id: "GenericAlertPayload",
	description: "One alert in OpsWatch's generic JSON format, or an array of them (a single object is accepted too).",
});

export type GenericAlert = z.infer<typeof genericAlert>;
export type GenericPayload = z.infer<typeof genericPayload>;

export function fromGenericAlert(alert: GenericAlert): IncomingAlert {
	const labels =
		alert.source !== undefined && !Object.hasOwn(alert.labels, "source")
			? { ...alert.labels, source: alert.source }
			: alert.labels;
	return {
		source: "generic",
		fingerprint: alert.fingerprint,
		status: alert.status,
		severity: alert.severity,
		title: alert.title,
		description: alert.description ?? "",
		labels,
		annotations: alert.annotations,
		startsAt: alert.starts_at,
		endsAt: alert.status === "resolved" ? alert.ends_at : undefined,
		generatorUrl: alert.url,
		raw: alert,
	};
}

export function fromGeneric(payload: GenericPayload): IncomingAlert[] {
	return payload.map(fromGenericAlert);
}
