import { collectDefaultMetrics, Histogram, Registry } from "prom-client";

export interface Metrics {
	registry: Registry;
	/** Labelled with the route template (`/api/v1/api-keys/:id`), never the raw URL, to bound cardinality. */
	httpRequestDuration: Histogram<"method" | "path" | "status">;
}

/** One registry per process (or per test app), with Node's process metrics. */
export function createMetrics(): Metrics {
	const registry = new Registry();
	collectDefaultMetrics({ register: registry });
	const httpRequestDuration = new Histogram({
		name: "opswatch_api_request_duration_seconds",
		help: "HTTP request duration by method, route template and status",
		labelNames: ["method", "path", "status"] as const,
		buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
		registers: [registry],
	});
	return { registry, httpRequestDuration };
}
