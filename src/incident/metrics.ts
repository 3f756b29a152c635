import { Counter, Histogram, type Registry } from "prom-client";
import type { TenantRef } from "../tenant/index.ts";

export type SearchType = "text" | "fingerprint" | "alert";

/** Knowledge-base metrics: how often it is searched, how fast, and how often it knows the answer. */
export interface KbMetrics {
	searched(tenant: TenantRef, type: SearchType, seconds: number, hits: number): void;
}

export function createKbMetrics(registry: Registry): KbMetrics {
	const searches = new Counter({
		name: "opswatch_kb_searches_total",
		help: "Knowledge-base searches by type (text, fingerprint, alert enrichment)",
		labelNames: ["tenant", "type"] as const,
		registers: [registry],
	});
	const duration = new Histogram({
		name: "opswatch_kb_search_duration_seconds",
		help: "Knowledge-base search latency",
		labelNames: ["type"] as const,
		buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
		registers: [registry],
	});
	const hits = new Counter({
		name: "opswatch_kb_hits_total",
		help: "Searches and alerts for which the knowledge base found an entry",
		labelNames: ["tenant"] as const,
		registers: [registry],
	});
	return {
		searched(tenant, type, seconds, found) {
			searches.inc({ tenant: tenant.slug, type });
			duration.observe({ type }, seconds);
			if (found > 0) hits.inc({ tenant: tenant.slug }, found);
		},
	};
}
