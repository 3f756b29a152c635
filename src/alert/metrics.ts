import { Counter, Histogram, type Registry } from "prom-client";
import type { TenantRef } from "../tenant/index.ts";
import type { IncomingAlert } from "./types.ts";

/** The alert metrics of spec §9.1. */
export interface AlertMetrics {
	record(
		tenant: TenantRef,
		alerts: { incoming: IncomingAlert; severity: string }[],
		results: { outcome: string }[],
		seconds: number,
	): void;
	acknowledged(tenant: TenantRef): void;
}

export function createAlertMetrics(registry: Registry): AlertMetrics {
	const received = new Counter({
		name: "opswatch_alerts_received_total",
		help: "Alerts received by source, severity and tenant",
		labelNames: ["source", "severity", "tenant"] as const,
		registers: [registry],
	});
	const deduplicated = new Counter({
		name: "opswatch_alerts_deduplicated_total",
		help: "Alerts that repeated an open alert",
		labelNames: ["tenant"] as const,
		registers: [registry],
	});
	const acknowledged = new Counter({
		name: "opswatch_alerts_acknowledged_total",
		help: "Alerts acknowledged",
		labelNames: ["tenant"] as const,
		registers: [registry],
	});
	const duration = new Histogram({
		name: "opswatch_alert_processing_duration_seconds",
		help: "Time to take a webhook's alerts through the pipeline until durable",
		labelNames: ["source"] as const,
		buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
		registers: [registry],
	});
	return {
		record(tenant, alerts, results, seconds) {
			// One increment per source and severity, not per alert: prom-client hashes the labels on
			// every call, and a storm's payloads carry dozens of alerts of the same kind.
			const counts = new Map<string, { source: string; severity: string; n: number }>();
			for (const { incoming, severity } of alerts) {
				const kind = `${incoming.source}\u0000${severity}`;
				const seen = counts.get(kind);
				if (seen) seen.n++;
				else counts.set(kind, { source: incoming.source, severity, n: 1 });
			}
			for (const { source, severity, n } of counts.values()) {
				received.inc({ source, severity, tenant: tenant.slug }, n);
			}
			const repeats = results.filter((r) => r.outcome === "deduplicated").length;
			if (repeats > 0) deduplicated.inc({ tenant: tenant.slug }, repeats);
			// Senders acknowledge too (PagerDuty's acknowledge event), not only people through the API.
			const acks = results.filter((r) => r.outcome === "acknowledged").length;
			if (acks > 0) acknowledged.inc({ tenant: tenant.slug }, acks);
			const source = alerts[0]?.incoming.source;
			if (source) duration.observe({ source }, seconds);
		},
		acknowledged(tenant) {
			acknowledged.inc({ tenant: tenant.slug });
		},
	};
}
