import { setFlagsFromString } from "node:v8";

/**
 * How far the old generation may grow past what the last full collection left alive before the
 * next one starts, in percent (docs/adr/0003, ADR 0008).
 *
 * V8 picks the factor from the heap's maximum size: under 256 MiB, as with our
 * `--max-old-space-size=96`, it is 1.3. During an alert storm the requests waiting for their
 * batch's statement promote ~75 MB/s, so with ~35 MiB alive a full collection ran about seven
 * times a second and marked the whole heap each time. At 1.4 the server spends a fifth less CPU
 * per alert (bench:ingest, 50-alert payloads) for ~4 MiB more peak RSS; 1.6 saved no more and
 * reached 128 MiB. The hard bound, `--max-old-space-size`, still holds: V8 collects before it.
 */
const HEAP_GROWING_PERCENT = 40;

/**
 * The V8 flags `serve` sets at start, each with the pattern of its name on a command line.
 *
 * Allocation-site pretenuring is off (ADR 0008, seventh amendment). When most objects made at one
 * place in the code survive a young collection, V8 allocates that place's objects in the old
 * generation from then on. An alert storm teaches it that: a request's objects outlive their
 * scavenges while it waits for its batch's statement. The decision stays after the storm, because
 * V8 reverts it only when a full collection finds little of the old generation alive, which a
 * server's steady live data never lets happen. The repeats that follow a storm, whose objects die
 * young, then filled the old generation instead: a full collection twice a second instead of once
 * every five seconds, and ~30% fewer repeats a second than before the storm.
 */
const tunings = [
	{ flag: `--heap-growing-percent=${HEAP_GROWING_PERCENT}`, name: /^--heap[-_]growing[-_]percent\b/ },
	{ flag: "--no-allocation-site-pretenuring", name: /^--(no[-_])?allocation[-_]site[-_]pretenuring\b/ },
];

/**
 * Sets the V8 flags of `tunings` for this process, each unless the operator chose its value on the
 * command line. NODE_OPTIONS refuses both, so they can only be set there or here. V8 reads them
 * whenever it recomputes the heap's limit or digests a young collection's survivors, so setting
 * them at start works. Returns the flags it set (`setFlag` lets a test see them without setting them).
 */
export function tuneHeap(
	execArgv: readonly string[] = process.execArgv,
	setFlag: (flag: string) => void = setFlagsFromString,
): string[] {
	const set: string[] = [];
	for (const { flag, name } of tunings) {
		if (execArgv.some((arg) => name.test(arg))) continue;
		setFlag(flag);
		set.push(flag);
	}
	return set;
}
