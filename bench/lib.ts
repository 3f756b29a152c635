/** What every benchmark needs: reachability checks, a scratch database, and the result file (DESIGN §8). */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
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

/** The p-th percentile (nearest rank) of `samples`, rounded to `digits` decimals. */
export function percentile(samples: number[], p: number, digits = 2): number {
	if (samples.length === 0) return Number.NaN;
	const sorted = [...samples].sort((a, b) => a - b);
	const value = sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
	const scale = 10 ** digits;
	return Math.round(value * scale) / scale;
}
