import { Counter, type CounterConfiguration, collectDefaultMetrics, Histogram, Registry } from "prom-client";

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

/** A counter of {@link tallyCounter}: label values in the order of its `labelNames`. */
export interface TallyCounter {
	inc(values: readonly string[], n?: number): void;
}

interface Tally {
	labels: Record<string, string>;
	n: number;
}

/**
 * A prom-client counter counted in memory and handed to prom-client when the registry is read.
 * prom-client builds a text of the labels and hashes it on every `inc`; an alert storm increments
 * the same few label sets thousands of times a second (ADR 0008). Here an increment walks one map
 * per label, keyed by the values themselves, and adds to a number.
 */
export function tallyCounter<L extends string>(config: CounterConfiguration<L>): TallyCounter {
	const labelNames = config.labelNames ?? [];
	if (labelNames.length === 0) throw new Error(`${config.name}: a tally counter needs labels (else use a Counter)`);
	const tallies = new Map<string, unknown>();
	const pending: Tally[] = [];
	new Counter<L>({
		...config,
		collect() {
			for (const tally of pending) {
				if (tally.n === 0) continue;
				this.inc(tally.labels as Partial<Record<L, string>>, tally.n);
				tally.n = 0;
			}
		},
	});
	return {
		inc(values, n = 1) {
			if (values.length !== labelNames.length) {
				throw new Error(`${config.name} takes ${labelNames.length} label values, got ${values.length}`);
			}
			let level = tallies;
			for (let i = 0; i < values.length - 1; i++) {
				let next = level.get(values[i]!) as Map<string, unknown> | undefined;
				if (!next) {
					next = new Map();
					level.set(values[i]!, next);
				}
				level = next;
			}
			const last = values[values.length - 1]!;
			let tally = level.get(last) as Tally | undefined;
			if (!tally) {
				tally = { labels: Object.fromEntries(labelNames.map((name, i) => [name, values[i]!])), n: 0 };
				level.set(last, tally);
				pending.push(tally);
			}
			tally.n += n;
		},
	};
}
