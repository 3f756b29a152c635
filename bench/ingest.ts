/**
 * `npm run bench:ingest`: OpsWatch's whole ingest pipeline on real PostgreSQL + Redis against a bare
 * Fastify + pg server that does one multi-row INSERT per request, measured in the same run with the
 * same load (autocannon on 127.0.0.1). Where Debian's prometheus-alertmanager is installed, its own
 * in-memory ingest (POST /api/v2/alerts) is measured with the same alerts. The repeats are also sent
 * to a bare Fastify route that only parses them: the most any Node receiver does on this machine.
 * Writes bench/results/ingest.json.
 *
 * Each comparison runs in BENCH_ROUNDS rounds (default 3) that alternate the two servers,
 * BENCH_ROUND_S seconds each (10), and reports the median round: the machines here are shared, and
 * their speed drifts by a third within a minute, which one run of each server after the other
 * turned into ratios that said more about the minute than about the code. Rounds shorter than
 * ~10 s flatter OpsWatch: the baseline gains more than OpsWatch from a longer run (ADR 0008).
 *
 * Needs PostgreSQL and Redis (BENCH_DATABASE_URL, BENCH_REDIS_URL; defaults are the local servers).
 * Bounded: BENCH_ROUNDS × BENCH_ROUND_S seconds per server per comparison, with BENCH_CONNECTIONS
 * connections (32).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { Redis } from "ioredis";
import {
	cpuSeconds,
	machineCpuSeconds,
	peakRssMiB,
	postgresCpuSeconds,
	processCpuSeconds,
	productionEnv,
	productionNodeFlags,
	reachable,
	root,
	round2,
	scratchDatabase,
	writeResults,
} from "./lib.ts";

const databaseUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const redisUrl = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const roundS = Number(process.env.BENCH_ROUND_S ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const poolSize = 10;
const alertmanagerBinary = "/usr/bin/prometheus-alertmanager";

const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];

async function freePort(): Promise<number> {
	const server = net.createServer();
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const { port } = server.address() as net.AddressInfo;
	await new Promise<void>((resolve) => server.close(() => resolve()));
	return port;
}

function start(command: string, args: string[], env: Record<string, string> = {}): ChildProcess {
	const child = spawn(command, args, {
		cwd: root,
		env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
		stdio: ["ignore", "pipe", "pipe"],
	});
	let stderr = "";
	child.stderr?.on("data", (chunk) => {
		stderr = (stderr + chunk).slice(-4000);
	});
	child.on("exit", (code) => {
		if (code && code !== 0 && !stopping) console.error(`${command} ${args.join(" ")} exited ${code}:\n${stderr}`);
	});
	children.push(child);
	return child;
}

async function waitFor(url: string, timeoutMs = 60_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		try {
			if ((await fetch(url)).ok) return;
		} catch {}
		await new Promise((resolve) => setTimeout(resolve, 200));
	}
	throw new Error(`${url} did not become ready within ${timeoutMs} ms`);
}

let fingerprintCounter = 0;
const runId = randomBytes(2).toString("hex");
const nextFingerprint = () => `${runId}${(fingerprintCounter++).toString(16).padStart(12, "0")}`;
const startsAt = new Date().toISOString();

function alertmanagerAlert(fingerprint: string) {
	return {
		status: "firing",
		labels: { alertname: "BenchLatencyHigh", instance: `host-${fingerprint}:9100`, job: "bench", severity: "warning" },
		annotations: { summary: `Latency high on host-${fingerprint}`, description: "p99 above 750 ms for 5 minutes" },
		startsAt,
		endsAt: "0001-01-01T00:00:00Z",
		generatorURL: "http://prometheus.bench:9090/graph",
		fingerprint,
	};
}

function webhookBody(alerts: ReturnType<typeof alertmanagerAlert>[]): string {
	return JSON.stringify({
		receiver: "opswatch",
		status: "firing",
		alerts,
		groupLabels: { alertname: "BenchLatencyHigh" },
		commonLabels: { alertname: "BenchLatencyHigh", job: "bench" },
		commonAnnotations: {},
		externalURL: "http://alertmanager.bench:9093",
		version: "4",
		groupKey: '{}:{alertname="BenchLatencyHigh"}',
		truncatedAlerts: 0,
	});
}

interface Measured {
	alerts_per_s: number;
	requests_per_s: number;
	p50_ms: number;
	p99_ms: number;
	errors: number;
	/** The errors by kind: status codes, connection errors, timeouts. */
	errorKinds: string;
	/** CPU per 1,000 alerts, in ms: the server under load, PostgreSQL, Redis, the load generator. */
	cpu: { server: number; postgres: number; redis: number; autocannon: number; machineCores: number };
}

/** The pid of the server a scenario loads, by its URL's port. */
const serverPids = new Map<number, number>();

/** One server under one kind of load. */
interface Scenario {
	name: string;
	url: string;
	headers: Record<string, string>;
	alertsPerRequest: number;
	body: () => string;
}

/** Loads the scenario's server for `seconds` with `connections` connections. */
async function load(scenario: Scenario, seconds: number): Promise<Measured> {
	const { url, headers, alertsPerRequest, body } = scenario;
	const server = serverPids.get(Number(new URL(url).port));
	const before = { server: cpuSeconds(server), ...sharedCpu(), postgresByPid: postgresCpuSeconds() };
	const machine = machineCpuSeconds();
	const started = Date.now();
	const result = await autocannon({
		url,
		method: "POST",
		connections,
		duration: seconds,
		headers: { "content-type": "application/json", ...headers },
		requests: [{ setupRequest: (request) => ({ ...request, body: body() }) }],
	});
	const machineAfter = machineCpuSeconds();
	const loadS = (Date.now() - started) / 1000;
	await settle();
	// Read after the settling, so that work a load left behind (writes still in flight, autovacuum)
	// counts against it.
	const after = { server: cpuSeconds(server), ...sharedCpu() };
	const ok = result.requests.total - result.non2xx;
	const perThousand = (seconds: number) => Math.round((seconds * 1e7) / Math.max(1, ok * alertsPerRequest)) / 10;
	const errors = result.errors + result.timeouts + result.non2xx;
	return {
		alerts_per_s: Math.round((ok * alertsPerRequest) / (result.duration || seconds)),
		requests_per_s: Math.round(ok / (result.duration || seconds)),
		p50_ms: result.latency.p50,
		p99_ms: result.latency.p99,
		errors,
		errorKinds: errors ? errorKinds(result) : "",
		cpu: {
			server: perThousand(after.server - before.server),
			postgres: perThousand(cpuSince(before.postgresByPid, postgresCpuSeconds())),
			redis: perThousand(after.redis - before.redis),
			autocannon: perThousand(after.autocannon - before.autocannon),
			machineCores: round2((machineAfter.busy - machine.busy) / loadS),
		},
	};
}

/**
 * Waits until the machine is quiet (under a fifth of a core busy for 200 ms, at most 5 s): what
 * one server's load left running, such as its last writes or an autovacuum of its tables, must not
 * slow the other server's round.
 */
async function settle(): Promise<void> {
	const deadline = Date.now() + 5000;
	let last = machineCpuSeconds();
	while (Date.now() < deadline) {
		await new Promise((resolve) => setTimeout(resolve, 200));
		const now = machineCpuSeconds();
		const busyCores = (now.busy - last.busy) / 0.2;
		last = now;
		if (busyCores < 0.2) return;
	}
}

/** Prints a scenario's figures: throughput, latency, errors, and whose CPU each alert cost. */
function report(name: string, measured: Measured): void {
	const { cpu } = measured;
	console.log(
		`  ${name.padEnd(34)} ${String(measured.alerts_per_s).padStart(8)} alerts/s  ` +
			`p50 ${measured.p50_ms} ms  p99 ${measured.p99_ms} ms${measured.errors ? `  ERRORS ${measured.errors} (${measured.errorKinds})` : ""}\n` +
			`  ${"".padEnd(34)} CPU ms per 1,000 alerts: server ${cpu.server}, PostgreSQL ${cpu.postgres}, ` +
			`Redis ${cpu.redis}, autocannon ${cpu.autocannon}; ${cpu.machineCores} of ${cpuCount} cores busy`,
	);
}

/** A warm-up: JIT, connection pools and batchers reach their steady state before anything is measured. */
async function warmUp(scenario: Scenario): Promise<void> {
	report(`warm-up ${scenario.name}`, await load(scenario, Math.min(roundS, 5)));
}

const median = (values: number[]): number => {
	const sorted = [...values].sort((x, y) => x - y);
	const middle = sorted.length >> 1;
	return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** Each figure's median over the rounds (errors: their sum). */
function medianOf(measured: Measured[]): Measured {
	const of = (pick: (m: Measured) => number) => median(measured.map(pick));
	return {
		alerts_per_s: of((m) => m.alerts_per_s),
		requests_per_s: of((m) => m.requests_per_s),
		p50_ms: of((m) => m.p50_ms),
		p99_ms: of((m) => m.p99_ms),
		errors: measured.reduce((sum, m) => sum + m.errors, 0),
		errorKinds: measured
			.map((m) => m.errorKinds)
			.filter(Boolean)
			.join("; "),
		cpu: {
			server: of((m) => m.cpu.server),
			postgres: of((m) => m.cpu.postgres),
			redis: of((m) => m.cpu.redis),
			autocannon: of((m) => m.cpu.autocannon),
			machineCores: of((m) => m.cpu.machineCores),
		},
	};
}

interface Comparison {
	peer: Measured;
	ours: Measured;
	/** The median of the rounds' `ours / peer` throughput ratios, and their range. */
	ratio: number;
	minRatio: number;
	maxRatio: number;
}

/**
 * Runs `peer` and `ours` in alternating rounds, each server `roundS` seconds per round, the peer
 * first in one round and second in the next; prints each round's ratio, then both servers' medians.
 * Two servers measured a few seconds apart see the same machine, which two measured a minute
 * apart do not.
 */
async function compare(peer: Scenario, ours: Scenario): Promise<Comparison> {
	const peers: Measured[] = [];
	const ourRounds: Measured[] = [];
	const ratios: number[] = [];
	for (let i = 0; i < rounds; i++) {
		const peerFirst = i % 2 === 0;
		const first = await load(peerFirst ? peer : ours, roundS);
		const second = await load(peerFirst ? ours : peer, roundS);
		const [p, o] = peerFirst ? [first, second] : [second, first];
		peers.push(p);
		ourRounds.push(o);
		ratios.push(o.alerts_per_s / Math.max(1, p.alerts_per_s));
		console.log(
			`  round ${i + 1}/${rounds}: ${peer.name} ${p.alerts_per_s}, ${ours.name} ${o.alerts_per_s} alerts/s → ${round2(ratios[i]!)}`,
		);
	}
	const comparison = {
		peer: medianOf(peers),
		ours: medianOf(ourRounds),
		ratio: round2(median(ratios)),
		minRatio: round2(Math.min(...ratios)),
		maxRatio: round2(Math.max(...ratios)),
	};
	report(`${peer.name} (median)`, comparison.peer);
	report(`${ours.name} (median)`, comparison.ours);
	return comparison;
}

const cpuCount = availableParallelism();

/** What a scenario's errors were: answers by status code, connection errors, timeouts. */
function errorKinds(result: autocannon.Result): string {
	const statuses = Object.entries(result.statusCodeStats ?? {})
		.filter(([code]) => !code.startsWith("2"))
		.map(([code, { count }]) => `${count} × ${code}`);
	return [
		...statuses,
		...(result.errors ? [`${result.errors} connection errors`] : []),
		...(result.timeouts ? [`${result.timeouts} timeouts`] : []),
	].join(", ");
}

/**
 * CPU seconds used between two readings by pid: a backend that started since counts from zero, one
 * that ended since is left out (pools open and close connections between scenarios).
 */
function cpuSince(before: Map<number, number>, after: Map<number, number>): number {
	let used = 0;
	for (const [pid, seconds] of after) used += seconds - (before.get(pid) ?? 0);
	return used;
}

/** CPU seconds so far of the processes every scenario shares: Redis's and this one's. */
function sharedCpu(): { redis: number; autocannon: number } {
	const usage = process.cpuUsage();
	return {
		redis: [...processCpuSeconds("redis-server").values()].reduce((sum, s) => sum + s, 0),
		autocannon: (usage.user + usage.system) / 1e6,
	};
}

let stopping = false;
async function main(): Promise<void> {
	await reachable(databaseUrl, 5432);
	await reachable(redisUrl, 6379);

	// A database of our own, dropped at the end.
	const scratch = await scratchDatabase(databaseUrl);
	const dbName = scratch.name;
	cleanups.push(scratch.drop);
	const redisPrefix = `bench:${dbName}:`;
	cleanups.push(async () => {
		const redis = new Redis(redisUrl);
		let cursor = "0";
		do {
			const [next, keys] = await redis.scan(cursor, "MATCH", `${redisPrefix}*`, "COUNT", 1000);
			if (keys.length) await redis.del(...keys);
			cursor = next;
		} while (cursor !== "0");
		await redis.quit();
	});

	const adminToken = randomBytes(32).toString("hex");
	const opswatchPort = await freePort();
	// BENCH_PROFILE=1 writes a CPU profile of OpsWatch to bench/results/ (open it in Chrome DevTools).
	const profile = process.env.BENCH_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${join(root, "bench/results")}`] : [];
	const opswatch = start(
		process.execPath,
		[...productionNodeFlags, ...profile, "dist/src/main.js", "serve", "--mode=all"],
		{
			...productionEnv,
			OPSWATCH_HOST: "127.0.0.1",
			OPSWATCH_PORT: String(opswatchPort),
			OPSWATCH_DATABASE_URL: scratch.url,
			OPSWATCH_DATABASE_POOL_SIZE: String(poolSize),
			OPSWATCH_REDIS_URL: redisUrl,
			OPSWATCH_REDIS_PREFIX: redisPrefix,
			OPSWATCH_ADMIN_TOKEN: adminToken,
			OPSWATCH_LOG_LEVEL: "warn",
		},
	);
	serverPids.set(opswatchPort, opswatch.pid!);
	const baselinePort = await freePort();
	const baselineServer = start(process.execPath, [
		"--import",
		"tsx",
		"bench/baseline-server.ts",
		String(baselinePort),
		scratch.url,
		String(poolSize),
	]);
	serverPids.set(baselinePort, baselineServer.pid!);
	const base = `http://127.0.0.1:${opswatchPort}`;
	await waitFor(`${base}/readyz`);

	const call = async (path: string, json: unknown) => {
		const response = await fetch(base + path, {
			method: "POST",
			headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
			body: JSON.stringify(json),
		});
		if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
		return response.json() as Promise<Record<string, string>>;
	};
	await call("/api/v1/admin/tenants", { slug: "bench" });
	const { key } = await call("/api/v1/admin/tenants/bench/api-keys", { role: "engineer", description: "bench" });
	const auth = { authorization: `Bearer ${key}` };
	const webhook = `${base}/api/v1/webhooks/alertmanager`;
	const baseline = `http://127.0.0.1:${baselinePort}/ingest`;
	const baselineParse = `http://127.0.0.1:${baselinePort}/parse`;
	await waitFor(`http://127.0.0.1:${baselinePort}/ingest`, 30_000).catch(() => {}); // a 404 on GET still proves it listens

	const single = () => webhookBody([alertmanagerAlert(nextFingerprint())]);
	const batched = () => webhookBody(Array.from({ length: 50 }, () => alertmanagerAlert(nextFingerprint())));
	// The same 20 bodies in turn, written once: the load generator shares the two cores with the
	// servers, and encoding them again for every request cost it ~4 µs a request.
	const repeatBodies = Array.from({ length: 20 }, () => webhookBody([alertmanagerAlert(nextFingerprint())]));
	let turn = 0;
	const repeat = () => repeatBodies[turn++ % repeatBodies.length]!;

	const scenario = (
		name: string,
		url: string,
		headers: Record<string, string>,
		alertsPerRequest: number,
		body: () => string,
	): Scenario => ({ name, url, headers, alertsPerRequest, body });
	const baselineSingle = scenario("baseline: 1 alert/request", baseline, {}, 1, single);
	const opswatchSingle = scenario("OpsWatch: 1 alert/request", webhook, auth, 1, single);
	const baselineBatched = scenario("baseline: 50 alerts/request", baseline, {}, 50, batched);
	const opswatchBatched = scenario("OpsWatch: 50 alerts/request", webhook, auth, 50, batched);
	const bareParse = scenario("bare Fastify: parse only", baselineParse, {}, 1, repeat);
	const opswatchDedup = scenario("OpsWatch: repeats (dedup hits)", webhook, auth, 1, repeat);

	console.log(
		`ingest benchmark: ${connections} connections, ${rounds} alternating rounds of ${roundS} s per server ` +
			`per comparison, PostgreSQL + Redis, pool ${poolSize}`,
	);
	for (const warm of [baselineSingle, bareParse, opswatchSingle, baselineBatched, opswatchBatched]) await warmUp(warm);

	console.log("single-alert payloads");
	const singles = await compare(baselineSingle, opswatchSingle);
	console.log("50-alert payloads");
	const batches = await compare(baselineBatched, opswatchBatched);
	// The repeated alerts are open before their repeats arrive.
	for (const body of repeatBodies) {
		await fetch(webhook, { method: "POST", headers: { "content-type": "application/json", ...auth }, body });
	}
	console.log("repeats (dedup hits)");
	const repeats = await compare(bareParse, opswatchDedup);

	let alertmanager: Comparison | undefined;
	if (existsSync(alertmanagerBinary)) {
		console.log("Alertmanager's in-memory ingest, 50 alerts/request");
		alertmanager = await compare(await startAlertmanager(), opswatchBatched);
	}

	const rssMiB = peakRssMiB(opswatch.pid!);
	const results: Record<string, number> = {
		batched_alerts_per_s: batches.ours.alerts_per_s,
		single_alerts_per_s: singles.ours.alerts_per_s,
		baseline_batched_rows_per_s: batches.peer.alerts_per_s,
		baseline_single_rows_per_s: singles.peer.alerts_per_s,
		batched_ratio: batches.ratio,
		single_ratio: singles.ratio,
		// The spread of the rounds' ratios, to see how much the median can be trusted.
		batched_ratio_min: batches.minRatio,
		batched_ratio_max: batches.maxRatio,
		single_ratio_min: singles.minRatio,
		single_ratio_max: singles.maxRatio,
		dedup_alerts_per_s: repeats.ours.alerts_per_s,
		bare_parse_requests_per_s: repeats.peer.requests_per_s,
		dedup_vs_bare_parse: repeats.ratio,
		p99_ms: singles.ours.p99_ms,
		batched_p99_ms: batches.ours.p99_ms,
		dedup_p99_ms: repeats.ours.p99_ms,
		single_p50_ms: singles.ours.p50_ms,
		baseline_single_p99_ms: singles.peer.p99_ms,
		rss_mib: rssMiB,
		// CPU per 1,000 alerts of the 50-alert scenarios, to see which process a ratio is made of.
		batched_server_cpu_ms_per_1k: batches.ours.cpu.server,
		batched_postgres_cpu_ms_per_1k: batches.ours.cpu.postgres,
		baseline_batched_server_cpu_ms_per_1k: batches.peer.cpu.server,
		baseline_batched_postgres_cpu_ms_per_1k: batches.peer.cpu.postgres,
		errors: [singles, batches, repeats].reduce((sum, c) => sum + c.peer.errors + c.ours.errors, 0),
	};
	if (alertmanager) {
		results.alertmanager_batched_alerts_per_s = alertmanager.peer.alerts_per_s;
		results.alertmanager_ratio = alertmanager.ratio;
	}

	console.log("\nsummary");
	console.log(
		`  single-alert payloads: ${results.single_ratio} × the bare insert (target ≥ 0.5; rounds ${singles.minRatio}–${singles.maxRatio})`,
	);
	console.log(
		`  50-alert payloads:     ${results.batched_ratio} × the bare insert (target ≥ 0.5; rounds ${batches.minRatio}–${batches.maxRatio})`,
	);
	console.log(`  dedup hits:            ${results.dedup_alerts_per_s} alerts/s (target ≥ 10,000)`);
	console.log(
		`                         ${results.dedup_vs_bare_parse} × a bare Fastify route that only parses the same body (${results.bare_parse_requests_per_s}/s here)`,
	);
	console.log(`  p99 (single):          ${results.p99_ms} ms`);
	console.log(`  OpsWatch peak RSS:     ${results.rss_mib} MiB (target ≤ 128)`);
	if (alertmanager) console.log(`  vs Alertmanager in-memory ingest (50/request): ${results.alertmanager_ratio} ×`);
	else console.log(`  Alertmanager not measured (${alertmanagerBinary} not installed)`);

	const file = writeResults(
		"ingest",
		"postgres+redis",
		{ connections, rounds, round_s: roundS, pool_size: poolSize },
		results,
	);
	console.log(`\nwrote ${file}`);
}

/** Alertmanager with a null receiver, as a scenario of its own ingest: POST /api/v2/alerts, 50 alerts per request, in memory. */
async function startAlertmanager(): Promise<Scenario> {
	const port = await freePort();
	const dir = mkdtempSync(join(tmpdir(), "bench-alertmanager-"));
	cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
	writeFileSync(join(dir, "alertmanager.yml"), "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n");
	const alertmanager = start(alertmanagerBinary, [
		`--config.file=${join(dir, "alertmanager.yml")}`,
		`--storage.path=${dir}`,
		`--web.listen-address=127.0.0.1:${port}`,
		"--cluster.listen-address=",
	]);
	serverPids.set(port, alertmanager.pid!);
	await waitFor(`http://127.0.0.1:${port}/-/ready`);
	const alerts = () =>
		JSON.stringify(
			Array.from({ length: 50 }, () => {
				const { labels, annotations, generatorURL } = alertmanagerAlert(nextFingerprint());
				return { labels, annotations, generatorURL, startsAt };
			}),
		);
	const scenario = {
		name: "Alertmanager: 50 alerts/request",
		url: `http://127.0.0.1:${port}/api/v2/alerts`,
		headers: {},
		alertsPerRequest: 50,
		body: alerts,
	};
	await warmUp(scenario);
	return scenario;
}

async function shutdown(): Promise<void> {
	stopping = true;
	for (const child of children) child.kill("SIGTERM");
	await Promise.all(
		children.map((child) =>
			child.exitCode !== null ? undefined : new Promise((resolve) => child.once("exit", resolve)),
		),
	);
	for (const cleanup of cleanups.reverse())
		await cleanup().catch((error) => console.error(`cleanup: ${error.message}`));
}

try {
	await main();
	await shutdown();
} catch (error) {
	console.error(`bench:ingest failed: ${(error as Error).message}`);
	await shutdown();
	process.exit(1);
}
