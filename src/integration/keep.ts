/**
 * Keep (keephq, the open-source AIOps platform): an alert as Keep's AlertDto, as a Keep workflow's
 * "webhook" provider posts it, one object or an array of them:
 *
 * ```json
 * {
 *   "id": "1234", "name": "HighCPU", "status": "firing", "severity": "high",
 *   "lastReceived": "2026-11-26T13:20:17.000Z",
 *   "environment": "production", "service": "checkout", "source": ["prometheus"],
 *   "message": "CPU above 90% for 5m", "description": "CPU on checkout-7f9c is at 97%",
 *   "url": "https://grafana.example.com/d/cpu", "labels": {"pod": "checkout-7f9c", "replicas": 3},
 *   "fingerprint": "9f0c1b4e…", "pushed": true, "event_id": "b6d1…", "note": null, "assignee": null,
 *   "dismissed": false, "providerType": "prometheus"
 * }
 * ```
 *
 * Keep serialises its optional fields as `null` (pydantic's `.dict()`), so every optional field
 * accepts null as "absent". Its `environment` defaults to the placeholder "undefined", which is not
 * turned into a label. Keep's labels are free-form: strings, numbers and booleans become strings,
 * nulls are dropped, nested objects and arrays are refused. Unknown fields (`dismissed`,
 * `providerType`, `firingStartTime`, enrichments…) are accepted and kept in the raw payload.
 */
import { z } from "zod";
import {
	type IncomingAlert,
	labelText,
	MAX_LABEL_BYTES,
	rfc3339,
	type Severity,
	senderFingerprint,
} from "../alert/index.ts";
import { alertArray } from "./one-or-many.ts";

/** The longest description or message accepted, in UTF-8 bytes (64 KiB). */
const MAX_DESCRIPTION_BYTES = 64 * 1024;

/** Keep's placeholder for an alert with no environment. */
const UNDEFINED_ENVIRONMENT = "undefined";

/** Text stored as-is in PostgreSQL `text`, which refuses NUL bytes. */
const text = () => z.string().refine((value) => !value.includes("\u0000"), { message: "must not contain NUL bytes" });

const longText = () =>
	text()
		.max(MAX_DESCRIPTION_BYTES)
		.refine((value) => Buffer.byteLength(value) <= MAX_DESCRIPTION_BYTES, {
			message: `must be at most ${MAX_DESCRIPTION_BYTES} bytes`,
		});

/** A label value as Keep may hold it: scalars are accepted (and stringified when mapped), structures are not. */
const keepLabelValue = z.union([labelText, z.number(), z.boolean(), z.null()], {
	error: (issue) =>
		issue.code === "invalid_union"
			? "label values must be strings, numbers, booleans or null, not nested objects or arrays"
			: undefined,
});

export const keepStatuses = ["firing", "resolved", "acknowledged", "suppressed", "pending"] as const;
export const keepSeverities = ["critical", "high", "warning", "info", "low"] as const;

export const keepAlert = z
	.looseObject({
		id: z.string().nullish(),
		name: text().min(1).max(1024),
		status: z.enum(keepStatuses),
		severity: z.enum(keepSeverities).nullish(),
		lastReceived: rfc3339.nullish(),
		environment: labelText.nullish(),
		service: labelText.nullish(),
		source: z
			.array(text())
			.refine((sources) => Buffer.byteLength(sources.join(",")) <= MAX_LABEL_BYTES, {
				message: `joined with "," must be at most ${MAX_LABEL_BYTES} bytes (it becomes the label keep_source)`,
			})
			.nullish(),
		message: longText().nullish(),
		description: longText().nullish(),
		url: z.string().max(8192).nullish(),
		labels: z.record(labelText, keepLabelValue).nullish(),
		fingerprint: senderFingerprint.nullish(),
		pushed: z.boolean().nullish(),
		event_id: z.string().nullish(),
		note: z.string().nullish(),
		assignee: z.string().nullish(),
	})
	.meta({ id: "KeepAlert", description: "A Keep AlertDto, as Keep's webhook provider posts it" });

export const keepPayload = alertArray(keepAlert, {
	id: "KeepWebhook",
	description: "Keep AlertDtos (a single object is accepted too)",
});

export type KeepAlert = z.infer<typeof keepAlert>;
export type KeepPayload = z.infer<typeof keepPayload>;

/**
 * "suppressed" maps to firing: Keep suppresses an alert (dismissed, maintenance window) to mute its
 * notifications, not because the problem is over. Resolving it would close the OpsWatch alert while
 * the system is still broken and turn the real resolve into a no-op; OpsWatch applies its own
 * silences and routing, and the original status stays visible in the raw payload. "pending" is
 * Keep's not-yet-confirmed state, still an open problem, so firing too.
 */
const statusMap: Record<KeepAlert["status"], IncomingAlert["status"]> = {
	firing: "firing",
	pending: "firing",
	suppressed: "firing",
	acknowledged: "acknowledged",
	resolved: "resolved",
};

const severityMap: Record<(typeof keepSeverities)[number], Severity> = {
	critical: "critical",
	high: "major",
	warning: "warning",
	info: "info",
	low: "minor",
};

/** Keep's labels, stringified, then `environment`, `service` and `keep_source` from the DTO's own fields, which win. */
function labelsOf(alert: KeepAlert): Record<string, string> {
	const labels: Record<string, string> = {};
	for (const [key, value] of Object.entries(alert.labels ?? {})) {
		if (value !== null) labels[key] = String(value);
	}
	if (alert.environment && alert.environment !== UNDEFINED_ENVIRONMENT) labels.environment = alert.environment;
	if (alert.service) labels.service = alert.service;
	if (alert.source && alert.source.length > 0) labels.keep_source = alert.source.join(",");
	return labels;
}

export function fromKeepAlert(alert: KeepAlert): IncomingAlert {
	const status = statusMap[alert.status];
	const lastReceived = alert.lastReceived ?? undefined;
	return {
		source: "keep",
		fingerprint: alert.fingerprint ?? undefined,
		status,
		severity: alert.severity ? severityMap[alert.severity] : undefined,
		title: alert.name,
		description: alert.description ?? alert.message ?? "",
		labels: labelsOf(alert),
		annotations: {},
		startsAt: lastReceived,
		// On a resolved alert, lastReceived is when Keep received the resolution.
		endsAt: status === "resolved" ? lastReceived : undefined,
		generatorUrl: alert.url ?? undefined,
		raw: alert,
	};
}

export function fromKeep(payload: KeepPayload): IncomingAlert[] {
	return payload.map(fromKeepAlert);
}
