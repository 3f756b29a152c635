/**
 * `npm run bench:ingest`: OpsWatch's whole ingest pipeline on real PostgreSQL + Redis against a bare
 * Fastify + pg server that does one multi-row INSERT per request, measured in the same run with the
 * same load (autocannon on 127.0.0.1). Where Debian's prometheus-alertmanager is installed, its own
 * in-memory ingest (POST /api/v2/alerts) is measured with the same alerts. The repeats are also sent
 * to a bare Fastify route that only parses them: the most any Node receiver does on this machine.
 * Writes bench/results/ingest.json.
 *
 * Needs PostgreSQL and Redis (BENCH_DATABASE_URL, BENCH_REDIS_URL; defaults are the local servers).
 * Bounded: BENCH_DURATION_S seconds per scenario (default 10) with BENCH_CONNECTIONS connections (32).
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
	scratchDatabase,
	writeResults,
} from "./lib.ts";

const databaseUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const redisUrl = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const durationS = Number(process.env.BENCH_DURATION_S ?? 10);
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
	/** CPU per 1,000 alerts, in ms: the server under load, PostgreSQL, Redis, the load generator. */
	cpu: { server: number; postgres: number; redis: number; autocannon: number; machineCores: number };
}

/** The pid of the server a scenario loads, by its URL's port. */
const serverPids = new Map<number, number>();

async function load(
	name: string,
	url: string,
	headers: Record<string, string>,
	alertsPerRequest: number,
	body: () => string,
): Promise<Measured> {
	const server = serverPids.get(Number(new URL(url).port));
	const before = { server: cpuSeconds(server), ...sharedCpu(), postgresByPid: postgresCpuSeconds() };
	const machine = machineCpuSeconds();
	const started = Date.now();
	const result = await autocannon({
		url,
		method: "POST",
		connections,
		duration: durationS,
		headers: { "content-type": "application/json", ...headers },
		requests: [{ setupRequest: (request) => ({ ...request, body: body() }) }],
	});
	const after = { server: cpuSeconds(server), ...sharedCpu() };
	const machineAfter = machineCpuSeconds();
	const ok = result.requests.total - result.non2xx;
	const perThousand = (seconds: number) => Math.round((seconds * 1e7) / Math.max(1, ok * alertsPerRequest)) / 10;
	const measured = {
		alerts_per_s: Math.round((ok * alertsPerRequest) / (result.duration || durationS)),
		requests_per_s: Math.round(ok / (result.duration || durationS)),
		p50_ms: result.latency.p50,
		p99_ms: result.latency.p99,
		errors: result.errors + result.timeouts + result.non2xx,
		cpu: {
			server: perThousand(after.server - before.server),
			postgres: perThousand(cpuSince(before.postgresByPid, postgresCpuSeconds())),
			redis: perThousand(after.redis - before.redis),
			autocannon: perThousand(after.autocannon - before.autocannon),
			machineCores: Math.round(((machineAfter.busy - machine.busy) / ((Date.now() - started) / 1000)) * 100) / 100,
		},
	};
	const cpu = measured.cpu;
	console.log(
		`  ${name.padEnd(34)} ${String(measured.alerts_per_s).padStart(8)} alerts/s  ` +
			`p50 ${measured.p50_ms} ms  p99 ${measured.p99_ms} ms${measured.errors ? `  ERRORS ${measured.errors} (${errorKinds(result)})` : ""}\n` +
			`  ${"".padEnd(34)} CPU ms per 1,000 alerts: server ${cpu.server}, PostgreSQL ${cpu.postgres}, ` +
			`Redis ${cpu.redis}, autocannon ${cpu.autocannon}; ${cpu.machineCores} of ${cpuCount} cores busy`,
	);
	return measured;
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
	const repeating = Array.from({ length: 20 }, () => nextFingerprint());
	let turn = 0;
	const repeat = () => webhookBody([alertmanagerAlert(repeating[turn++ % repeating.length]!)]);

	console.log(
		`ingest benchmark: ${connections} connections, ${durationS} s per scenario, PostgreSQL + Redis, pool ${poolSize}`,
	);
	// Warm both servers (JIT, connection pools) before measuring.
	await load("warm-up baseline", baseline, {}, 1, single);
	await load("warm-up bare Fastify", baselineParse, {}, 1, single);
	await load("warm-up OpsWatch", webhook, auth, 1, single);

	const baselineSingle = await load("baseline: 1 alert/request", baseline, {}, 1, single);
	const opswatchSingle = await load("OpsWatch: 1 alert/request", webhook, auth, 1, single);
	const baselineBatched = await load("baseline: 50 alerts/request", baseline, {}, 50, batched);
	const opswatchBatched = await load("OpsWatch: 50 alerts/request", webhook, auth, 50, batched);
	for (const fingerprint of repeating) {
		await fetch(webhook, {
			method: "POST",
			headers: { "content-type": "application/json", ...auth },
			body: webhookBody([alertmanagerAlert(fingerprint)]),
		});
	}
	const opswatchDedup = await load("OpsWatch: repeats (dedup hits)", webhook, auth, 1, repeat);
	const bareParse = await load("bare Fastify: parse only", baselineParse, {}, 1, repeat);

	let alertmanager: Measured | undefined;
	if (existsSync(alertmanagerBinary)) alertmanager = await measureAlertmanager();

	const rssMiB = peakRssMiB(opswatch.pid!);
	const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
	const results: Record<string, number> = {
		batched_alerts_per_s: opswatchBatched.alerts_per_s,
		single_alerts_per_s: opswatchSingle.alerts_per_s,
		baseline_batched_rows_per_s: baselineBatched.alerts_per_s,
		baseline_single_rows_per_s: baselineSingle.alerts_per_s,
		batched_ratio: ratio(opswatchBatched.alerts_per_s, baselineBatched.alerts_per_s),
		single_ratio: ratio(opswatchSingle.alerts_per_s, baselineSingle.alerts_per_s),
		dedup_alerts_per_s: opswatchDedup.alerts_per_s,
		bare_parse_requests_per_s: bareParse.requests_per_s,
		dedup_vs_bare_parse: ratio(opswatchDedup.alerts_per_s, bareParse.requests_per_s),
		p99_ms: opswatchSingle.p99_ms,
		batched_p99_ms: opswatchBatched.p99_ms,
		dedup_p99_ms: opswatchDedup.p99_ms,
		single_p50_ms: opswatchSingle.p50_ms,
		baseline_single_p99_ms: baselineSingle.p99_ms,
		rss_mib: rssMiB,
		// CPU per 1,000 alerts of the 50-alert scenarios, to see which process a ratio is made of.
		batched_server_cpu_ms_per_1k: opswatchBatched.cpu.server,
		batched_postgres_cpu_ms_per_1k: opswatchBatched.cpu.postgres,
		baseline_batched_server_cpu_ms_per_1k: baselineBatched.cpu.server,
		baseline_batched_postgres_cpu_ms_per_1k: baselineBatched.cpu.postgres,
		errors: [baselineSingle, opswatchSingle, baselineBatched, opswatchBatched, opswatchDedup, bareParse].reduce(
			(sum, m) => sum + m.errors,
			0,
		),
	};
	if (alertmanager) {
		results.alertmanager_batched_alerts_per_s = alertmanager.alerts_per_s;
		results.alertmanager_ratio = ratio(opswatchBatched.alerts_per_s, alertmanager.alerts_per_s);
	}

	console.log("\nsummary");
	console.log(`  single-alert payloads: ${results.single_ratio} × the bare insert (target ≥ 0.5)`);
	console.log(`  50-alert payloads:     ${results.batched_ratio} × the bare insert (target ≥ 0.5)`);
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
		{ connections, duration_s: durationS, pool_size: poolSize },
		results,
	);
	console.log(`\nwrote ${file}`);
}

/** Alertmanager's own ingest: POST /api/v2/alerts, 50 alerts per request, in memory. */
async function measureAlertmanager(): Promise<Measured> {
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
	return load("Alertmanager: 50 alerts/request", `http://127.0.0.1:${port}/api/v2/alerts`, {}, 50, alerts);
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
