import { Counter, type CounterConfiguration, collectDefaultMetrics, type Metric, Registry } from "prom-client";

export interface Metrics {
	registry: Registry;
	/**
	 * Labelled with the method, the route template (`/api/v1/api-keys/:id`, never the raw URL, to
	 * bound cardinality) and the status, in that order.
	 */
	httpRequestDuration: TallyHistogram;
}

/** One registry per process (or per test app), with Node's process metrics. */
export function createMetrics(): Metrics {
	const registry = new Registry();
	collectDefaultMetrics({ register: registry });
	const httpRequestDuration = tallyHistogram({
		name: "opswatch_api_request_duration_seconds",
		help: "HTTP request duration by method, route template and status",
		labelNames: ["method", "path", "status"],
		buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
		registers: [registry],
	});
	return { registry, httpRequestDuration };
}

/**
 * The leaf for a list of label values in a tree of maps, one level per label, keyed by the values
 * themselves: an increment or observation finds its label set without building a text of it.
 * `create` makes a missing leaf.
 */
function leafOf<T>(root: Map<string, unknown>, values: readonly string[], create: () => T): T {
	let level = root;
	for (let i = 0; i < values.length - 1; i++) {
		let next = level.get(values[i]!) as Map<string, unknown> | undefined;
		if (!next) {
			next = new Map();
			level.set(values[i]!, next);
		}
		level = next;
	}
	const last = values[values.length - 1]!;
	let leaf = level.get(last) as T | undefined;
	if (leaf === undefined) {
		leaf = create();
		level.set(last, leaf);
	}
	return leaf;
}

function checkArity(name: string, labelNames: readonly string[], values: readonly string[]): void {
	if (values.length !== labelNames.length) {
		throw new Error(`${name} takes ${labelNames.length} label values, got ${values.length}`);
	}
}

const labelsOf = (labelNames: readonly string[], values: readonly string[]): Record<string, string> =>
	Object.fromEntries(labelNames.map((name, i) => [name, values[i]!]));

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
			checkArity(config.name, labelNames, values);
			const tally = leafOf<Tally>(tallies, values, () => {
				const created = { labels: labelsOf(labelNames, values), n: 0 };
				pending.push(created);
				return created;
			});
			tally.n += n;
		},
	};
}

/** A histogram of {@link tallyHistogram}: label values in the order of its `labelNames`. */
export interface TallyHistogram {
	observe(values: readonly string[], value: number): void;
}

export interface TallyHistogramConfiguration {
	name: string;
	help: string;
	labelNames: readonly string[];
	/** Upper bounds, ascending; the +Inf bucket is implied. */
	buckets: readonly number[];
	registers: Registry[];
}

interface Distribution {
	labels: Record<string, string>;
	/** Observations per bucket (not cumulative), the last one above every bound. */
	counts: number[];
	sum: number;
	count: number;
}

/**
 * A Prometheus histogram that keeps its counts per label set in a tree of maps, as
 * {@link tallyCounter} does, and answers the registry with the same series prom-client's
 * Histogram would. prom-client's `observe` checks the labels and builds and hashes a text of them
 * on every call, and an API that answers thousands of requests a second observes each one (ADR 0008).
 */
export function tallyHistogram(config: TallyHistogramConfiguration): TallyHistogram {
	const { name, help, labelNames, buckets } = config;
	if (labelNames.length === 0) throw new Error(`${name}: a tally histogram needs labels`);
	if (buckets.some((bound, i) => i > 0 && bound <= buckets[i - 1]!)) {
		throw new Error(`${name}: buckets must ascend`);
	}
	let root = new Map<string, unknown>();
	let all: Distribution[] = [];
	/**
	 * A label set's series as prom-client's Histogram gives them to the registry: `le` first, then
	 * the set's labels (`sharedLabels`), so that the text is the same as it would be with it.
	 */
	const series = (d: Distribution) => {
		let cumulative = 0;
		const bucket = (le: number | string, value: number) => ({
			labels: { le },
			sharedLabels: d.labels,
			value,
			metricName: `${name}_bucket`,
		});
		return [
			...buckets.map((le, i) => {
				cumulative += d.counts[i]!;
				return bucket(le, cumulative);
			}),
			bucket("+Inf", d.count),
			{ labels: {}, sharedLabels: d.labels, value: d.sum, metricName: `${name}_sum` },
			{ labels: {}, sharedLabels: d.labels, value: d.count, metricName: `${name}_count` },
		];
	};
	const identity = { name, help, type: "histogram", aggregator: "sum" };
	const snapshot = () => ({ ...identity, values: all.flatMap(series) });
	const metric = {
		...identity,
		getForPromString: async () => snapshot(),
		/** As JSON (`getMetricsAsJSON`): each series' labels in one object. */
		get: async () => {
			const data = snapshot();
			return {
				...data,
				values: data.values.map(({ labels, sharedLabels, ...rest }) => ({
					...rest,
					labels: { ...labels, ...sharedLabels },
				})),
			};
		},
		reset() {
			root = new Map();
			all = [];
		},
	};
	// The registry asks a metric only for these; it is not one of prom-client's classes.
	for (const registry of config.registers) registry.registerMetric(metric as unknown as Metric);
	return {
		observe(values, value) {
			checkArity(name, labelNames, values);
			if (!Number.isFinite(value)) throw new TypeError(`${name}: not a finite value: ${value}`);
			const d = leafOf<Distribution>(root, values, () => {
				const created = {
					labels: labelsOf(labelNames, values),
					counts: new Array<number>(buckets.length + 1).fill(0),
					sum: 0,
					count: 0,
				};
				all.push(created);
				return created;
			});
			let bucket = 0;
			while (bucket < buckets.length && value > buckets[bucket]!) bucket++;
			d.counts[bucket]!++;
			d.sum += value;
			d.count++;
		},
	};
}
