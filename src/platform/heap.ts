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
export const HEAP_GROWING_PERCENT = 40;

/**
 * Sets the old generation's growing factor for this process, unless the operator chose one with
 * `--heap-growing-percent` (which NODE_OPTIONS refuses, so it can only be set on the command line
 * or here). V8 reads the flag whenever it recomputes the heap's limit, so setting it at start works.
 * Returns whether it set it.
 */
export function tuneHeapGrowth(execArgv: readonly string[] = process.execArgv): boolean {
	if (execArgv.some((arg) => /^--heap[-_]growing[-_]percent/.test(arg))) return false;
	setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
	return true;
}
