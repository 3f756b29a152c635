/** What every benchmark needs: reachability checks, a scratch database, and the result file (DESIGN §8). */
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

export const root = fileURLToPath(new URL("../", import.meta.url));

/**
 * How `npm start` and the README's production commands run OpsWatch (docs/adr/0003): a bounded heap,
 * and glibc limited to two malloc arenas (each of Node's threads would otherwise get its own).
 */
export const productionNodeFlags = ["--max-semi-space-size=4", "--max-old-space-size=96"];
export const productionEnv = { MALLOC_ARENA_MAX: "2" };

/** Fails fast, with the address (without credentials), when a server the benchmark needs is down. */
export async function reachable(url: string, fallbackPort: number): Promise<void> {
	const { hostname, port } = new URL(url);
	await new Promise<void>((resolve, reject) => {
		const socket = net.connect(Number(port || fallbackPort), hostname, () => {
			socket.end();
			resolve();
		});
		socket.on("error", () => reject(new Error(`${url.replace(/\/\/[^@]*@/, "//")} is not reachable: start it first`)));
	});
}

/** A database of the benchmark's own on the server at `serverUrl`; `drop` removes it. */
export async function scratchDatabase(
	serverUrl: string,
): Promise<{ name: string; url: string; drop(): Promise<void> }> {
	const name = `opswatch_bench_${randomBytes(4).toString("hex")}`;
	const run = async (statement: string) => {
		const client = new pg.Client({ connectionString: serverUrl });
		await client.connect();
		try {
			await client.query(statement);
		} finally {
			await client.end();
		}
	};
	await run(`create database ${name}`);
	const url = new URL(serverUrl);
	url.pathname = `/${name}`;
	return { name, url: url.toString(), drop: () => run(`drop database if exists ${name} with (force)`) };
}

/** Writes bench/results/<bench>.json in the shape of DESIGN §8; returns its path. */
export function writeResults(
	bench: string,
	backend: string,
	settings: Record<string, unknown>,
	results: Record<string, unknown>,
): string {
	mkdirSync(join(root, "bench/results"), { recursive: true });
	const file = join(root, `bench/results/${bench}.json`);
	const body = { bench, at: new Date().toISOString(), node: process.version, backend, settings, results };
	writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
	return file;
}

/** mulberry32: a small seeded PRNG, so runs generate the same data and are comparable. */
export function seededRandom(seed: number): {
	random: () => number;
	int: (n: number) => number;
	pick: <T>(items: readonly T[]) => T;
} {
	let state = seed;
	const random = () => {
		state = (state + 0x6d2b79f5) | 0;
		let t = Math.imul(state ^ (state >>> 15), 1 | state);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
	const int = (n: number) => Math.floor(random() * n);
	return { random, int, pick: (items) => items[int(items.length)]! };
}

/** `n` to two decimals, as the benchmarks print and record ratios and seconds. */
export const round2 = (n: number) => Math.round(n * 100) / 100;

/** The p-th percentile (nearest rank) of `samples`, rounded to `digits` decimals. */
export function percentile(samples: number[], p: number, digits = 2): number {
	if (samples.length === 0) return Number.NaN;
	const sorted = [...samples].sort((a, b) => a - b);
	const value = sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
	const scale = 10 ** digits;
	return Math.round(value * scale) / scale;
}

/** Peak resident set of a process (Linux VmHWM), in MiB; NaN once it is gone. */
export function peakRssMiB(pid: number | undefined): number {
	try {
		const status = readFileSync(`/proc/${pid}/status`, "utf8");
		const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
		return Math.round((kb / 1024) * 10) / 10;
	} catch {
		return Number.NaN;
	}
}

// Linux reports CPU time in clock ticks of USER_HZ, which is 100 on every architecture Node runs on.
const TICKS_PER_S = 100;

/** CPU time (user + system) a process has used so far, in seconds; NaN once it is gone. */
export function cpuSeconds(pid: number | undefined): number {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
		// Fields after the command (which may hold spaces): utime and stime are the 12th and 13th.
		const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
		return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
	} catch {
		return Number.NaN;
	}
}

/**
 * CPU time used so far by each PostgreSQL process on this machine (server and backends), in seconds,
 * by pid: backends come and go with connections, so a sum over time needs each one's own readings.
 */
export const postgresCpuSeconds = () => processCpuSeconds("postgres");

/** CPU time used so far by each process on this machine whose command is `comm`, in seconds, by pid. */
export function processCpuSeconds(comm: string): Map<number, number> {
	const used = new Map<number, number>();
	for (const pid of readdirSync("/proc")) {
		if (!/^\d+$/.test(pid)) continue;
		try {
			if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== comm) continue;
		} catch {
			continue;
		}
		const seconds = cpuSeconds(Number(pid));
		if (Number.isFinite(seconds)) used.set(Number(pid), seconds);
	}
	return used;
}

/** Busy and total CPU time of the whole machine so far (all cores), in seconds: `/proc/stat`. */
export function machineCpuSeconds(): { busy: number; total: number } {
	const [cpu] = readFileSync("/proc/stat", "utf8").split("\n");
	const ticks = (cpu ?? "").trim().split(/\s+/).slice(1).map(Number);
	const total = ticks.reduce((sum, t) => sum + t, 0);
	// idle and iowait are the 4th and 5th.
	const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
	return { busy: (total - idle) / TICKS_PER_S, total: total / TICKS_PER_S };
}
