import type { Registry } from "prom-client";
import { tallyCounter, tallyHistogram } from "../platform/metrics.ts";
import type { TenantRef } from "../tenant/index.ts";

/** The alert metrics of spec §9.1. */
export interface AlertMetrics {
	/** A request's alerts: their source and each one's severity, and what became of each. */
	record(
		tenant: TenantRef,
		alerts: { source: string | undefined; severities: readonly string[] },
		results: { outcome: string }[],
		seconds: number,
	): void;
	acknowledged(tenant: TenantRef): void;
}

export function createAlertMetrics(registry: Registry): AlertMetrics {
	const received = tallyCounter({
		name: "opswatch_alerts_received_total",
		help: "Alerts received by source, severity and tenant",
		labelNames: ["source", "severity", "tenant"] as const,
		registers: [registry],
	});
	const deduplicated = tallyCounter({
		name: "opswatch_alerts_deduplicated_total",
		help: "Alerts that repeated an open alert",
		labelNames: ["tenant"] as const,
		registers: [registry],
	});
	const acknowledged = tallyCounter({
		name: "opswatch_alerts_acknowledged_total",
		help: "Alerts acknowledged",
		labelNames: ["tenant"] as const,
		registers: [registry],
	});
	const duration = tallyHistogram({
		name: "opswatch_alert_processing_duration_seconds",
		help: "Time to take a webhook's alerts through the pipeline until durable",
		labelNames: ["source"],
		buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
		registers: [registry],
	});
	return {
		record(tenant, { source, severities }, results, seconds) {
			if (source === undefined) return;
			for (const severity of severities) received.inc([source, severity, tenant.slug]);
			let repeats = 0;
			let acks = 0;
			for (const { outcome } of results) {
				if (outcome === "deduplicated") repeats++;
				// Senders acknowledge too (PagerDuty's acknowledge event), not only people through the API.
				else if (outcome === "acknowledged") acks++;
			}
			if (repeats > 0) deduplicated.inc([tenant.slug], repeats);
			if (acks > 0) acknowledged.inc([tenant.slug], acks);
			duration.observe([source], seconds);
		},
		acknowledged(tenant) {
			acknowledged.inc([tenant.slug]);
		},
	};
}
