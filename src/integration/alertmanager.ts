/**
 * Alertmanager webhook (format version "4"), as Alertmanager 0.25 sends it:
 *
 * ```json
 * {
 *   "receiver": "opswatch", "status": "firing", "version": "4",
 *   "groupKey": "{}:{alertname=\"HighRequestLatency\"}", "truncatedAlerts": 0,
 *   "groupLabels": {"alertname": "HighRequestLatency"},
 *   "commonLabels": {...}, "commonAnnotations": {...},
 *   "externalURL": "http://alertmanager:9093",
 *   "alerts": [{
 *     "status": "firing",
 *     "labels": {"alertname": "HighRequestLatency", "instance": "a:8080", "severity": "warning"},
 *     "annotations": {"summary": "p99 latency above 750ms", "description": "..."},
 *     "startsAt": "2026-11-26T13:20:17.79138166Z", "endsAt": "0001-01-01T00:00:00Z",
 *     "generatorURL": "http://prometheus:9090/graph?...", "fingerprint": "e5b0b73033fece48"
 *   }]
 * }
 * ```
 *
 * Each alert is its own OpsWatch alert, identified by its own `fingerprint`: the group is only how
 * Alertmanager batches notifications. Unknown fields (0.32's `notification_reason`, 0.34's
 * `routeLabels`) are accepted and kept in the raw payload: the webhook's body is kept as it came,
 * so the schemas leave them out of the parsed value rather than copy them (a loose object copies
 * every key it does not know, on every alert).
 */
import { z } from "zod";
import { type IncomingAlert, labelMap, rfc3339, senderFingerprint } from "../alert/index.ts";

export const alertmanagerAlert = z.object({
	status: z.enum(["firing", "resolved"]),
	labels: labelMap,
	annotations: labelMap.default({}),
	startsAt: rfc3339.optional(),
	endsAt: rfc3339.optional(),
	generatorURL: z.string().max(8192).optional(),
	fingerprint: senderFingerprint.optional(),
});

export const alertmanagerPayload = z
	.object({
		version: z.string().optional(),
		status: z.enum(["firing", "resolved"]).optional(),
		receiver: z.string().optional(),
		groupKey: z.string().optional(),
		externalURL: z.string().optional(),
		alerts: z.array(alertmanagerAlert),
	})
	.meta({ id: "AlertmanagerWebhook", description: "Alertmanager webhook payload, format version 4" });

export type AlertmanagerPayload = z.infer<typeof alertmanagerPayload>;

/** Go's zero time: what Alertmanager sends as `endsAt` for a firing alert. */
const GO_ZERO_TIME = /^0001-01-01T00:00:00(\.0+)?Z$/;

const instant = (text: string | undefined): string | undefined =>
	text === undefined || GO_ZERO_TIME.test(text) ? undefined : text;

/** The webhook's body is kept as it came (with the group's fields); `raw` is each alert's own object. */
export function fromAlertmanager(payload: AlertmanagerPayload): IncomingAlert[] {
	return payload.alerts.map((alert) => ({
		source: "alertmanager",
		fingerprint: alert.fingerprint,
		status: alert.status,
		title: alert.annotations.summary ?? alert.labels.alertname ?? "Alertmanager alert",
		description: alert.annotations.description ?? alert.annotations.message ?? "",
		labels: alert.labels,
		annotations: alert.annotations,
		startsAt: instant(alert.startsAt),
		endsAt: alert.status === "resolved" ? instant(alert.endsAt) : undefined,
		generatorUrl: alert.generatorURL,
		raw: alert,
	}));
}
