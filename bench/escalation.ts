/**
 * `npm run bench:escalation`: the escalation engine under a page storm, on real PostgreSQL + Redis.
 * One API process and two worker processes from dist/ (the heap bounds of `npm start`), Slack DMs
 * to a fake Slack Web API running inside this process (test/harness/fake-slack.ts), each worker
 * at a base URL of its own (for the fault injection below).
 *
 * - setup per run, through the HTTP API: a fresh tenant, 150 members with a Slack id each, 50
 *   policies of three 2-second tiers (one distinct member each, Slack DM, no repeat, no emergency
 *   channel) and 50 routes `team=t<N>` → policy N.
 * - a run: 1,000 critical alerts through the generic webhook (100 per request, 10 requests at once);
 *   each starts an escalation that pages 3 times: tier 1 at its start, tier 2 at +2 s, tier 3 at +4 s.
 *   Waits until the fake has every expected page and the outbox is quiet (no timer, nothing pending
 *   or sending, no active escalation), or 40 s after the last ingest (60 s in the fault run).
 * - lateness of a page: when the fake received it (its `ts`, taken from the clock at receipt) minus
 *   the instant it was due (escalation `started_at` + tier × 2 s, from PostgreSQL); first copy only.
 * - lost: expected pages (3 per alert created) the fake never received; duplicates: extra copies of a
 *   page the fake had already received. Cross-checked against the outbox rows' statuses.
 * - runs: a small warm-up (JIT, pools), the clean run (both workers throughout), then the fault run
 *   (fresh tenant): one worker is killed with SIGKILL 3 s after the ingest finished, mid-way through
 *   the tiers, and restarted 5 s later (BENCH_RESTART_AFTER_MS=0: not restarted). Each worker reaches
 *   the fake at a URL of its own; from half a second before the kill, the fake keeps the answers to
 *   the victim's posts, and the kill waits until at least one page was posted but not answered:
 *   the worker dies with pages sent but not marked sent (BENCH_HOLD=0: no holding). Sends the killed
 *   worker had claimed come due again when their 15 s lease ends: the fault run's lateness shows it.
 * - the peer in the same run is the clean run: the fault run's figures are also given as ratios to it.
 *
 * Headline lateness_* and notifications_per_s are the clean run's; lost and duplicates are the sums of
 * both runs. Targets: lateness_p99_ms < 1000, lost = 0, duplicates = 0 (exit code 1 when lost or
 * duplicates are not 0). Needs PostgreSQL and Redis (BENCH_DATABASE_URL, BENCH_REDIS_URL); loads only
 * 127.0.0.1; stops by itself (a 4-minute limit aborts it). Writes bench/results/escalation.json.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import net from "node:net";
import { createInterface } from "node:readline";
import { Redis } from "ioredis";
import pg from "pg";
import { type FakeSlack, type FakeSlackMessage, startFakeSlack } from "../test/harness/fake-slack.ts";
import {
	cpuSeconds,
	machineCpuSeconds,
	peakRssMiB,
	percentile,
	postgresCpuSeconds,
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
const escalationCount = Number(process.env.BENCH_ESCALATIONS ?? 1000);
const warmUpCount = Number(process.env.BENCH_WARMUP ?? 100);
const restartAfterMs = Number(process.env.BENCH_RESTART_AFTER_MS ?? 5000);
const tierSeconds = 2;
const tierCount = 3;
const memberCount = 150;
const policyCount = 50;
const alertsPerRequest = 100;
const concurrentRequests = 10;
const cleanWaitMs = 40_000;
const faultWaitMs = 60_000;
const warmUpWaitMs = 20_000;
const killAfterMs = 3000;
/**
 * Each worker reaches the fake Slack at a base URL of its own. From holdLeadMs before the kill, the
 * fake still carries out the victim's posts (it records the messages) but withholds their answers
 * (its other calls, such as a DM's conversations.open, are answered), and
 * the kill waits (up to killLatestMs after the ingest) until at least one
 * posted message went unanswered: the worker surely dies with pages posted but not marked sent,
 * which the outbox must reconcile instead of sending again. BENCH_HOLD=0 kills without holding.
 */
const holdAnswers = process.env.BENCH_HOLD !== "0";
const holdLeadMs = 500;
const killLatestMs = 8000;
const globalTimeoutMs = 240_000;
const slackToken = "xoxb-bench";
// As `npm start` and the README's production commands run (ADR 0003), unless BENCH_NODE_FLAGS says otherwise.
const heap = process.env.BENCH_NODE_FLAGS?.split(" ") ?? productionNodeFlags;
/** The compiled OpsWatch to run; another build (say, an instrumented copy) can be measured instead. */
const opswatchMain = process.env.BENCH_OPSWATCH_MAIN ?? "dist/src/main.js";
/** BENCH_PROFILE=<dir> writes a CPU profile of each OpsWatch process there (open it in Chrome DevTools). */
const profileDir = process.env.BENCH_PROFILE;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// --- Processes ------------------------------------------------------------------------------------

interface Proc {
	name: string;
	child: ChildProcess;
	port: number;
	/** Warning and error log lines by message, with counts. */
	problems: Map<string, number>;
	tail: string[];
	/** Killed on purpose (the fault) or stopped at the end. */
	expectedExit: boolean;
	oom: boolean;
	exit?: { code: number | null; signal: NodeJS.Signals | null };
	peakRssMiB?: number;
	/** CPU seconds used so far, as last read (a killed process keeps its last reading). */
	cpuS?: number;
}

const procs: Proc[] = [];
const cleanups: (() => Promise<void>)[] = [];
let stopping = false;

async function freePort(): Promise<number> {
	const server = net.createServer();
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const { port } = server.address() as net.AddressInfo;
	await new Promise<void>((resolve) => server.close(() => resolve()));
	return port;
}

/** Starts an OpsWatch process from dist/ and collects its warnings and errors. */
function start(name: string, mode: "api" | "worker", port: number, env: Record<string, string>): Proc {
	const child = spawn(
		process.execPath,
		[
			...heap,
			...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []),
			opswatchMain,
			"serve",
			`--mode=${mode}`,
		],
		{
			cwd: root,
			env: {
				PATH: process.env.PATH ?? "",
				HOME: process.env.HOME ?? "",
				...productionEnv,
				...env,
				OPSWATCH_PORT: String(port),
			},
			stdio: ["ignore", "pipe", "pipe"],
		},
	);
	const proc: Proc = { name, child, port, problems: new Map(), tail: [], expectedExit: false, oom: false };
	const note = (line: string, stream: "stdout" | "stderr") => {
		proc.tail.push(line);
		if (proc.tail.length > 200) proc.tail.shift();
		if (/heap out of memory|Reached heap limit/i.test(line)) proc.oom = true;
		let key: string | undefined;
		try {
			const entry = JSON.parse(line) as {
				level?: string | number;
				msg?: string;
				context?: string;
				err?: { message?: string };
			};
			const level = entry.level;
			if (level === "warn" || level === "error" || level === "fatal" || (typeof level === "number" && level >= 40)) {
				key = `${level}: ${entry.msg ?? ""}${entry.context ? ` [${entry.context}]` : ""}${entry.err?.message ? ` (${entry.err.message})` : ""}`;
			}
		} catch {
			if (stream === "stderr" && line.trim()) key = `stderr: ${line}`;
		}
		if (key) {
			key = key.slice(0, 240);
			proc.problems.set(key, (proc.problems.get(key) ?? 0) + 1);
		}
	};
	if (child.stdout) createInterface({ input: child.stdout }).on("line", (line) => note(line, "stdout"));
	if (child.stderr) createInterface({ input: child.stderr }).on("line", (line) => note(line, "stderr"));
	child.on("exit", (code, signal) => {
		proc.exit = { code, signal };
		if (!stopping && !proc.expectedExit) {
			console.error(
				`\n${name} exited unexpectedly (code ${code}, signal ${signal})${proc.oom ? ": OUT OF MEMORY" : ""}; last output:\n` +
					proc.tail.slice(-20).join("\n"),
			);
		}
	});
	procs.push(proc);
	return proc;
}

async function waitReady(proc: Proc, timeoutMs = 60_000): Promise<void> {
	const url = `http://127.0.0.1:${proc.port}/readyz`;
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (proc.exit) throw new Error(`${proc.name} exited before it was ready:\n${proc.tail.slice(-20).join("\n")}`);
		try {
			if ((await fetch(url, { signal: AbortSignal.timeout(2000) })).ok) return;
		} catch {}
		await sleep(200);
	}
	throw new Error(`${url} (${proc.name}) did not become ready within ${timeoutMs} ms`);
}

// --- HTTP -----------------------------------------------------------------------------------------

let apiBase = "";

async function call<T>(method: string, path: string, body: unknown, headers: Record<string, string>): Promise<T> {
	const response = await fetch(apiBase + path, {
		method,
		headers: { "content-type": "application/json", ...headers },
		body: JSON.stringify(body),
		signal: AbortSignal.timeout(30_000),
	});
	if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${(await response.text()).slice(0, 500)}`);
	return (await response.json()) as T;
}

/** Runs `fn` over `items`, at most `limit` at a time, in order of start. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
	const results: R[] = new Array(items.length);
	let next = 0;
	await Promise.all(
		Array.from({ length: Math.min(limit, items.length) }, async () => {
			while (next < items.length) {
				const index = next++;
				results[index] = await fn(items[index]!, index);
			}
		}),
	);
	return results;
}

// --- A tenant set up for a run ----------------------------------------------------------------------

interface BenchTenant {
	slug: string;
	id: string;
	schema: string;
	auth: Record<string, string>;
	/** The DM channels of this tenant's members: the fake's messages of this run. */
	channels: Set<string>;
	policies: number;
}

async function prepareTenant(
	slug: string,
	tag: string,
	members: number,
	policies: number,
	adminToken: string,
	fake: FakeSlack,
): Promise<BenchTenant> {
	const admin = { authorization: `Bearer ${adminToken}` };
	const { tenant } = await call<{ tenant: { id: string } }>("POST", "/api/v1/admin/tenants", { slug }, admin);
	const { key } = await call<{ key: string }>(
		"POST",
		`/api/v1/admin/tenants/${slug}/api-keys`,
		{ role: "admin", description: "bench:escalation" },
		admin,
	);
	const auth = { "x-api-key": key };
	const slackIds = Array.from({ length: members }, (_, i) => `U${tag}${String(i).padStart(4, "0")}`);
	const memberIds = await mapLimit(slackIds, 10, async (slackId, i) => {
		const { member } = await call<{ member: { id: string } }>(
			"POST",
			"/api/v1/members",
			{
				name: `Bench ${tag} ${i}`,
				email: `bench-${tag.toLowerCase()}-${i}@example.com`,
				timeZone: "UTC",
				contactMethods: [{ type: "slack", value: slackId }],
			},
			auth,
		);
		return member.id;
	});
	const policyIds = await mapLimit(
		Array.from({ length: policies }, (_, p) => p),
		10,
		async (p) => {
			const { policy } = await call<{ policy: { id: string } }>(
				"POST",
				"/api/v1/escalation-policies",
				{
					name: `bench ${p}`,
					tiers: Array.from({ length: tierCount }, (_, t) => ({
						timeoutSeconds: tierSeconds,
						targets: [{ type: "member", memberId: memberIds[(p * tierCount + t) % members]!, channels: ["slack_dm"] }],
					})),
					repeat: 0,
					emergencyChannel: null,
				},
				auth,
			);
			return policy.id;
		},
	);
	await call(
		"PUT",
		"/api/v1/escalation-routes",
		{
			routes: policyIds.map((policyId, p) => ({ matchers: [{ label: "team", op: "=", value: `t${p}` }], policyId })),
			defaultPolicyId: null,
		},
		auth,
	);
	return {
		slug,
		id: tenant.id,
		schema: `tenant_${slug}`,
		auth,
		channels: new Set(slackIds.map((id) => fake.dmChannelOf(id))),
		policies,
	};
}

// --- A run ------------------------------------------------------------------------------------------

interface Lateness {
	p50: number;
	p99: number;
	max: number;
	count: number;
}

interface RunResult {
	kind: string;
	alerts: number;
	created: number;
	escalations: number;
	ingestMs: number;
	expected: number;
	delivered: number;
	lost: number;
	duplicates: number;
	unexpected: number;
	/** Replies in pages' threads ("escalated to…", "exhausted"): Slack traffic, not pages. */
	followUps: number;
	lateness: Lateness;
	tier1: Lateness;
	tiers23: Lateness;
	ingestToTier1: Lateness;
	/** From the instant a page was due to its tier firing (its outbox row written). */
	fired: Lateness;
	/** From the outbox row to the fake's receipt. */
	delivery: Lateness;
	notificationsPerS: number;
	tier1PerS: number;
	outbox: Record<string, number>;
	escalationStatus: Record<string, number>;
	sentNotReceived: number;
	receivedNotSent: number;
	retried: number;
	/** conversations.history calls: reconciliations of in-doubt sends. */
	historyReads: number;
	/** CPU time spent during the run (from the ingest to a quiet outbox), by whom. */
	cpu: RunCpu;
	/** Alerts of the run that never got an escalation: each is 3 lost pages. */
	alertsWithoutEscalation: number;
	completed: boolean;
	waitedMs: number;
	killedAtMs?: number;
	restartedAtMs?: number;
	atKill?: Record<string, number>;
	/** Messages the killed worker had posted (the fake recorded them) without getting Slack's answer. */
	unansweredAtKill?: number;
	/** The same, counting calls that were on their way at the kill and reached the fake after it. */
	unanswered?: number;
}

interface RunCpu {
	/** Every worker's, summed (the killed one up to its last reading). */
	workersS: number;
	apiS: number;
	postgresS: number;
	/** This process: the fake Slack and the bench's own polling. */
	benchS: number;
	/** Cores busy on average, of the machine's. */
	machineCores: number;
	cores: number;
	wallS: number;
}

/** PostgreSQL processes' CPU time so far, as last read (an ended backend keeps its last reading). */
const postgresCpu = new Map<number, number>();

/** Reads every OpsWatch and PostgreSQL process's CPU time so far into its `cpuS` and `postgresCpu`. */
function readProcCpu(): void {
	for (const p of procs) {
		if (p.exit) continue;
		const seconds = cpuSeconds(p.child.pid);
		if (Number.isFinite(seconds)) p.cpuS = seconds;
	}
	for (const [pid, seconds] of postgresCpuSeconds()) postgresCpu.set(pid, seconds);
}

/** Where the CPU goes from now until the returned function is called. */
function cpuMeter(): () => RunCpu {
	readProcCpu();
	const before = new Map(procs.map((p) => [p, p.cpuS ?? 0]));
	const postgresBefore = new Map(postgresCpu);
	const bench = process.cpuUsage();
	const machine = machineCpuSeconds();
	const started = Date.now();
	return () => {
		readProcCpu();
		const used = (p: Proc) => (p.cpuS ?? 0) - (before.get(p) ?? 0);
		const benchUsage = process.cpuUsage(bench);
		const after = machineCpuSeconds();
		const wallS = (Date.now() - started) / 1000;
		const cores = Math.round((after.total - machine.total) / wallS);
		return {
			workersS: round2(procs.filter((p) => p.name.startsWith("worker")).reduce((sum, p) => sum + used(p), 0)),
			apiS: round2(procs.filter((p) => p.name === "api").reduce((sum, p) => sum + used(p), 0)),
			postgresS: round2(
				[...postgresCpu].reduce((sum, [pid, seconds]) => sum + seconds - (postgresBefore.get(pid) ?? 0), 0),
			),
			benchS: round2((benchUsage.user + benchUsage.system) / 1e6),
			machineCores: round2((after.busy - machine.busy) / wallS),
			cores,
			wallS: round2(wallS),
		};
	};
}

const summarize = (samples: number[]): Lateness => ({
	p50: percentile(samples, 50, 1),
	p99: percentile(samples, 99, 1),
	max: samples.length ? Math.round(Math.max(...samples) * 10) / 10 : Number.NaN,
	count: samples.length,
});

/** Slack's ts ("<seconds>.<microseconds>"), which the fake takes from the clock at receipt, in ms. */
const tsMs = (ts: string) => {
	const [seconds, micros = "0"] = ts.split(".");
	return Number(seconds) * 1000 + Number(micros.padEnd(6, "0")) / 1000;
};

const keyOf = (m: FakeSlackMessage) => {
	const key = m.metadata?.event_payload?.key;
	return typeof key === "string" ? key : undefined;
};

async function outboxCounts(db: pg.Pool, tenant: BenchTenant): Promise<Record<string, number>> {
	const { rows } = await db.query<{ status: string; n: number }>(
		`select status, count(*)::int as n from ${tenant.schema}.notifications group by status`,
	);
	return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

async function runScenario(
	kind: "warm-up" | "clean" | "fault",
	tenant: BenchTenant,
	count: number,
	db: pg.Pool,
	fake: FakeSlack,
	fault?: { victim: Proc; restart: () => Promise<void> },
): Promise<RunResult> {
	const runId = randomBytes(3).toString("hex");
	const alerts = Array.from({ length: count }, (_, i) => ({
		title: `Bench escalation ${runId} #${i}`,
		severity: "critical",
		labels: { team: `t${i % tenant.policies}`, run: runId, n: String(i) },
	}));
	const batches = Array.from({ length: Math.ceil(count / alertsPerRequest) }, (_, b) =>
		alerts.slice(b * alertsPerRequest, (b + 1) * alertsPerRequest),
	);
	const batchSentAt: number[] = [];
	const firstRequest = fake.requests.length;
	const cpuUsed = cpuMeter();
	let created = 0;
	const ingestStarted = Date.now();
	await mapLimit(batches, concurrentRequests, async (batch, b) => {
		batchSentAt[b] = Date.now();
		const result = await call<{ alerts: { outcome: string }[] }>(
			"POST",
			"/api/v1/webhooks/generic",
			batch,
			tenant.auth,
		);
		created += result.alerts.filter((a) => a.outcome === "created").length;
	});
	const ingestEnded = Date.now();
	const expected = created * tierCount;

	// Wait for every expected page and a quiet outbox, killing (and restarting) a worker on the way.
	const waitMs = kind === "fault" ? faultWaitMs : kind === "clean" ? cleanWaitMs : warmUpWaitMs;
	const deadline = ingestEnded + waitMs;
	let killedAt: number | undefined;
	let restartedAt: number | undefined;
	let restarting: Promise<void> | undefined;
	let atKill: Record<string, number> | undefined;
	let holding = false;
	let unansweredAtKill: number | undefined;
	let completed = false;
	let lastPoll = 0;
	let lastProgress = Date.now();
	const distinctKeys = () => {
		const keys = new Set<string>();
		for (const m of fake.messages) {
			const key = tenant.channels.has(m.channel) ? keyOf(m) : undefined;
			if (key) keys.add(key);
		}
		return keys.size;
	};
	while (Date.now() < deadline) {
		const now = Date.now();
		if (fault && holdAnswers && !holding && now >= ingestEnded + killAfterMs - holdLeadMs) {
			holding = true;
			fake.holdAnswers(fault.victim.name);
		}
		if (
			fault &&
			killedAt === undefined &&
			now >= ingestEnded + killAfterMs &&
			(!holdAnswers || fake.unansweredPosts(fault.victim.name) > 0 || now >= ingestEnded + killLatestMs)
		) {
			fault.victim.peakRssMiB = peakRssMiB(fault.victim.child.pid);
			fault.victim.expectedExit = true;
			fault.victim.child.kill("SIGKILL");
			killedAt = Date.now();
			unansweredAtKill = fake.unansweredPosts(fault.victim.name);
			fake.releaseAnswers(fault.victim.name);
			atKill = await outboxCounts(db, tenant);
			console.log(
				`  SIGKILL ${fault.victim.name} at +${killedAt - ingestEnded} ms after the ingest, with ` +
					`${unansweredAtKill} pages posted to Slack but not answered; outbox then: ${JSON.stringify(atKill)}`,
			);
		}
		if (fault && killedAt !== undefined && restartAfterMs > 0 && !restarting && now >= killedAt + restartAfterMs) {
			restartedAt = Date.now();
			restarting = fault.restart().catch((error) => console.error(`  restart failed: ${(error as Error).message}`));
		}
		if (now - lastPoll >= 250) {
			lastPoll = now;
			readProcCpu();
			const received = distinctKeys();
			const { rows } = await db.query<{ timers: number; open: number; active: number; escalations: number }>(
				`select (select count(*)::int from public.escalation_timers where tenant_id = $1) as timers,
					(select count(*)::int from ${tenant.schema}.notifications where status in ('pending', 'sending')) as open,
					(select count(*)::int from ${tenant.schema}.escalations where status = 'active') as active,
					(select count(*)::int from ${tenant.schema}.escalations) as escalations`,
				[tenant.id],
			);
			const state = rows[0]!;
			const faultDone = !fault || (killedAt !== undefined && (restartAfterMs <= 0 || restarting !== undefined));
			if (
				received >= expected &&
				state.timers === 0 &&
				state.open === 0 &&
				state.active === 0 &&
				state.escalations === created &&
				faultDone
			) {
				completed = true;
				break;
			}
			if (now - lastProgress >= 5000) {
				lastProgress = now;
				console.log(
					`  … +${Math.round((now - ingestEnded) / 1000)} s: ${received}/${expected} pages, ` +
						`${state.active} active escalations, ${state.open} pending/sending, ${state.timers} timers`,
				);
			}
		}
		await sleep(50);
	}
	const waitedMs = Date.now() - ingestEnded;
	const cpu = cpuUsed();
	// A late copy (a duplicate) would come right after the outbox went quiet: give it a moment.
	await sleep(completed ? 1000 : 0);
	await restarting;

	// What was due when, from PostgreSQL.
	const { rows: escalationRows } = await db.query<{
		id: string;
		status: string;
		started_at: Date;
		policy: { tiers: { targets: { memberId?: string }[] }[] };
		n: string | null;
	}>(
		`select e.id, e.status, e.started_at, e.policy, a.labels ->> 'n' as n
		from ${tenant.schema}.escalations e join ${tenant.schema}.alerts a on a.id = e.alert_id`,
	);
	const { rows: notificationRows } = await db.query<{
		idempotency_key: string;
		status: string;
		tries: number;
		created_at: Date;
	}>(`select idempotency_key, status, tries, created_at from ${tenant.schema}.notifications`);
	// When the tier fired: the outbox row is written in the transaction that fires it.
	const queuedAt = new Map(notificationRows.map((row) => [row.idempotency_key, row.created_at.getTime()]));

	const due = new Map<string, { at: number; tier: number; batch: number }>();
	for (const e of escalationRows) {
		const batch = Math.floor(Number(e.n) / alertsPerRequest);
		e.policy.tiers.forEach((tier, t) => {
			const memberId = tier.targets[0]?.memberId;
			due.set(`${e.id}:0:${t}:${memberId}:slack_dm`, {
				at: e.started_at.getTime() + t * tierSeconds * 1000,
				tier: t,
				batch,
			});
		});
	}

	const firstSeen = new Map<string, number>();
	let duplicates = 0;
	let unexpected = 0;
	let followUps = 0;
	for (const m of fake.messages) {
		if (!tenant.channels.has(m.channel)) continue;
		const key = keyOf(m);
		if (!key && m.threadTs) {
			followUps++;
			continue;
		}
		if (!key || !due.has(key)) {
			unexpected++;
			continue;
		}
		if (firstSeen.has(key)) duplicates++;
		else firstSeen.set(key, tsMs(m.ts));
	}

	const all: number[] = [];
	const tier1: number[] = [];
	const tiers23: number[] = [];
	const ingestToTier1: number[] = [];
	const fired: number[] = [];
	const delivery: number[] = [];
	const tier1Receipts: number[] = [];
	for (const [key, receivedAt] of firstSeen) {
		const { at, tier, batch } = due.get(key)!;
		const late = receivedAt - at;
		all.push(late);
		const queued = queuedAt.get(key);
		if (queued !== undefined) {
			fired.push(queued - at);
			delivery.push(receivedAt - queued);
		}
		if (tier === 0) {
			tier1.push(late);
			tier1Receipts.push(receivedAt);
			const sentAt = batchSentAt[batch];
			if (sentAt !== undefined) ingestToTier1.push(receivedAt - sentAt);
		} else tiers23.push(late);
	}
	const receipts = [...firstSeen.values()];
	const rate = (times: number[]) =>
		times.length > 1 ? Math.round(times.length / ((Math.max(...times) - Math.min(...times)) / 1000)) : Number.NaN;

	const outbox: Record<string, number> = {};
	let sentNotReceived = 0;
	let receivedNotSent = 0;
	let retried = 0;
	const rowStatus = new Map<string, string>();
	for (const row of notificationRows) {
		outbox[row.status] = (outbox[row.status] ?? 0) + 1;
		rowStatus.set(row.idempotency_key, row.status);
		if (row.status === "sent" && !firstSeen.has(row.idempotency_key)) sentNotReceived++;
		if (row.tries > 1) retried++;
	}
	for (const key of firstSeen.keys()) if (rowStatus.get(key) !== "sent") receivedNotSent++;
	const escalationStatus: Record<string, number> = {};
	for (const e of escalationRows) escalationStatus[e.status] = (escalationStatus[e.status] ?? 0) + 1;

	const missingEscalations = Math.max(0, created - escalationRows.length);
	const { rows: orphanRows } = await db.query<{ n: number }>(
		`select count(*)::int as n from ${tenant.schema}.alerts a
		where a.labels ->> 'run' = $1
			and not exists (select 1 from ${tenant.schema}.escalations e where e.alert_id = a.id)`,
		[runId],
	);
	// In-doubt sends are reconciled by reading the DM's history before sending again.
	const historyReads = fake.requests
		.slice(firstRequest)
		.filter((r) => r.method === "conversations.history" && tenant.channels.has(String(r.params.channel))).length;
	return {
		kind,
		alerts: count,
		created,
		escalations: escalationRows.length,
		ingestMs: ingestEnded - ingestStarted,
		expected,
		delivered: firstSeen.size,
		lost: missingEscalations * tierCount + (due.size - firstSeen.size),
		duplicates,
		unexpected,
		followUps,
		lateness: summarize(all),
		tier1: summarize(tier1),
		tiers23: summarize(tiers23),
		ingestToTier1: summarize(ingestToTier1),
		fired: summarize(fired),
		delivery: summarize(delivery),
		notificationsPerS: rate(receipts),
		tier1PerS: rate(tier1Receipts),
		outbox,
		escalationStatus,
		sentNotReceived,
		receivedNotSent,
		retried,
		historyReads,
		cpu,
		alertsWithoutEscalation: orphanRows[0]?.n ?? 0,
		completed,
		waitedMs,
		...(killedAt !== undefined && {
			killedAtMs: killedAt - ingestEnded,
			atKill,
			unansweredAtKill,
			unanswered: fault && fake.unansweredPosts(fault.victim.name),
		}),
		...(restartedAt !== undefined && { restartedAtMs: restartedAt - ingestEnded }),
	};
}

// --- Main -------------------------------------------------------------------------------------------

/** Workers' CPU per expected page: each page's tier, its send, and the follow-ups that run meanwhile. */
const perPageMs = (r: RunResult) => round2((r.cpu.workersS / r.expected) * 1000);

function printRun(r: RunResult): void {
	const l = (x: Lateness) => `p50 ${x.p50} ms  p99 ${x.p99} ms  max ${x.max} ms  (n ${x.count})`;
	console.log(
		`  ${r.kind}: ${r.created}/${r.alerts} alerts created in ${r.ingestMs} ms, ${r.escalations} escalations; ` +
			`${r.delivered}/${r.expected} pages delivered, lost ${r.lost}, duplicates ${r.duplicates}` +
			`${r.unexpected ? `, UNEXPECTED ${r.unexpected}` : ""}, ${r.followUps} thread follow-ups; ` +
			`${r.completed ? `quiet after ${r.waitedMs} ms` : `NOT COMPLETE after ${r.waitedMs} ms`}`,
	);
	console.log(`    lateness, all tiers:   ${l(r.lateness)}`);
	console.log(`    lateness, tier 1:      ${l(r.tier1)}`);
	console.log(`    lateness, tiers 2–3:   ${l(r.tiers23)}`);
	console.log(`    ingest → tier-1 page:  ${l(r.ingestToTier1)}`);
	console.log(`    of which due → fired:  ${l(r.fired)}`);
	console.log(`    and fired → received:  ${l(r.delivery)}`);
	console.log(
		`    ${r.notificationsPerS} notifications/s overall, ${r.tier1PerS}/s in the tier-1 burst; ` +
			`outbox ${JSON.stringify(r.outbox)}, escalations ${JSON.stringify(r.escalationStatus)}, ` +
			`${r.retried} rows tried more than once, ${r.historyReads} in-doubt reconciliations (conversations.history)`,
	);
	if (r.alertsWithoutEscalation) {
		console.log(
			`    ${r.alertsWithoutEscalation} alerts never got an escalation (${r.alertsWithoutEscalation * tierCount} of the lost pages)`,
		);
	}
	const { cpu } = r;
	console.log(
		`    CPU in ${cpu.wallS} s: workers ${cpu.workersS} s (${perPageMs(r)} ms per page), API ${cpu.apiS} s, ` +
			`PostgreSQL ${cpu.postgresS} s, this process (fake Slack) ${cpu.benchS} s; ` +
			`machine ${cpu.machineCores} of ${cpu.cores} cores busy`,
	);
	if (r.sentNotReceived || r.receivedNotSent) {
		console.log(
			`    outbox vs fake: ${r.sentNotReceived} rows 'sent' the fake never got, ${r.receivedNotSent} pages the fake got whose row is not 'sent'`,
		);
	}
}

async function main(): Promise<number> {
	await reachable(databaseUrl, 5432);
	await reachable(redisUrl, 6379);

	const scratch = await scratchDatabase(databaseUrl);
	cleanups.push(scratch.drop);
	const redisPrefix = `bench:${scratch.name}:`;
	cleanups.push(async () => {
		const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
		await redis.connect();
		let cursor = "0";
		do {
			const [next, keys] = await redis.scan(cursor, "MATCH", `${redisPrefix}*`, "COUNT", 1000);
			if (keys.length) await redis.del(...keys);
			cursor = next;
		} while (cursor !== "0");
		await redis.quit();
	});

	const fake = await startFakeSlack({ token: slackToken });
	cleanups.push(() => fake.close());

	const adminToken = randomBytes(32).toString("hex");
	const apiPort = await freePort();
	apiBase = `http://127.0.0.1:${apiPort}`;
	const env = {
		OPSWATCH_DATABASE_URL: scratch.url,
		OPSWATCH_REDIS_URL: redisUrl,
		OPSWATCH_REDIS_PREFIX: redisPrefix,
		OPSWATCH_ADMIN_TOKEN: adminToken,
		OPSWATCH_HOST: "127.0.0.1",
		OPSWATCH_LOG_LEVEL: "warn",
		OPSWATCH_SLACK_BOT_TOKEN: slackToken,
		OPSWATCH_SLACK_API_URL: fake.url,
		OPSWATCH_PUBLIC_URL: apiBase,
	};
	const api = start("api", "api", apiPort, env);
	await waitReady(api);
	const workers: Proc[] = [];
	for (const name of ["worker-1", "worker-2"]) {
		workers.push(start(name, "worker", await freePort(), { ...env, OPSWATCH_SLACK_API_URL: fake.urlFor(name) }));
	}
	await Promise.all(workers.map((w) => waitReady(w)));

	const db = new pg.Pool({ connectionString: scratch.url, max: 2 });
	cleanups.push(() => db.end());

	console.log(
		`escalation benchmark: ${escalationCount} escalations × ${tierCount} tiers of ${tierSeconds} s, ` +
			`1 API + 2 worker processes (${heap.join(" ")}), PostgreSQL + Redis, fake Slack in-process`,
	);

	const runs: RunResult[] = [];
	if (warmUpCount > 0) {
		const tenant = await prepareTenant("bench_warmup", "WARM", tierCount, 1, adminToken, fake);
		runs.push(await runScenario("warm-up", tenant, warmUpCount, db, fake));
		printRun(runs.at(-1)!);
	}

	const cleanTenant = await prepareTenant("bench_clean", "CLEAN", memberCount, policyCount, adminToken, fake);
	const clean = await runScenario("clean", cleanTenant, escalationCount, db, fake);
	printRun(clean);

	const faultTenant = await prepareTenant("bench_fault", "FAULT", memberCount, policyCount, adminToken, fake);
	const victim = workers[0]!;
	const fault = await runScenario("fault", faultTenant, escalationCount, db, fake, {
		victim,
		restart: async () => {
			const name = `${victim.name} (restarted)`;
			const again = start(name, "worker", await freePort(), { ...env, OPSWATCH_SLACK_API_URL: fake.urlFor(name) });
			workers.push(again);
			await waitReady(again);
		},
	});
	printRun(fault);

	for (const w of workers) w.peakRssMiB ??= peakRssMiB(w.child.pid);
	api.peakRssMiB = peakRssMiB(api.child.pid);

	const lost = clean.lost + fault.lost;
	const duplicates = clean.duplicates + fault.duplicates;
	const ratio = (a: number, b: number) => round2(a / b);
	const crashed = procs.filter((p) => p.exit && !p.expectedExit);
	const results: Record<string, unknown> = {
		lateness_p50_ms: clean.lateness.p50,
		lateness_p99_ms: clean.lateness.p99,
		lateness_max_ms: clean.lateness.max,
		notifications_per_s: clean.notificationsPerS,
		lost,
		duplicates,
		clean_lost: clean.lost,
		clean_duplicates: clean.duplicates,
		clean_delivered: clean.delivered,
		clean_expected: clean.expected,
		clean_tier1_lateness_p50_ms: clean.tier1.p50,
		clean_tier1_lateness_p99_ms: clean.tier1.p99,
		clean_tier1_lateness_max_ms: clean.tier1.max,
		clean_tiers23_lateness_p50_ms: clean.tiers23.p50,
		clean_tiers23_lateness_p99_ms: clean.tiers23.p99,
		clean_tiers23_lateness_max_ms: clean.tiers23.max,
		clean_ingest_to_tier1_p50_ms: clean.ingestToTier1.p50,
		clean_ingest_to_tier1_p99_ms: clean.ingestToTier1.p99,
		clean_tier1_notifications_per_s: clean.tier1PerS,
		clean_fire_lateness_p50_ms: clean.fired.p50,
		clean_fire_lateness_p99_ms: clean.fired.p99,
		clean_delivery_p50_ms: clean.delivery.p50,
		clean_delivery_p99_ms: clean.delivery.p99,
		clean_ingest_ms: clean.ingestMs,
		clean_outbox: clean.outbox,
		clean_worker_cpu_ms_per_page: perPageMs(clean),
		clean_cpu_s: clean.cpu,
		fault_cpu_s: fault.cpu,
		fault_lateness_p50_ms: fault.lateness.p50,
		fault_lateness_p99_ms: fault.lateness.p99,
		fault_lateness_max_ms: fault.lateness.max,
		fault_tier1_lateness_p99_ms: fault.tier1.p99,
		fault_tiers23_lateness_p99_ms: fault.tiers23.p99,
		fault_notifications_per_s: fault.notificationsPerS,
		fault_fire_lateness_p99_ms: fault.fired.p99,
		fault_delivery_p99_ms: fault.delivery.p99,
		fault_lost: fault.lost,
		fault_duplicates: fault.duplicates,
		fault_delivered: fault.delivered,
		fault_expected: fault.expected,
		fault_retried_rows: fault.retried,
		fault_history_reads: fault.historyReads,
		fault_outbox: fault.outbox,
		fault_outbox_at_kill: fault.atKill ?? null,
		fault_unanswered_posts_at_kill: fault.unansweredAtKill ?? null,
		fault_unanswered_posts: fault.unanswered ?? null,
		fault_killed_at_ms: fault.killedAtMs ?? null,
		fault_restarted_at_ms: fault.restartedAtMs ?? null,
		fault_to_clean_lateness_p50_ratio: ratio(fault.lateness.p50, clean.lateness.p50),
		fault_to_clean_lateness_p99_ratio: ratio(fault.lateness.p99, clean.lateness.p99),
		unexpected_messages: clean.unexpected + fault.unexpected,
		thread_follow_ups: clean.followUps + fault.followUps,
		alerts_without_escalation: clean.alertsWithoutEscalation + fault.alertsWithoutEscalation,
		outbox_sent_not_received: clean.sentNotReceived + fault.sentNotReceived,
		received_not_marked_sent: clean.receivedNotSent + fault.receivedNotSent,
		runs_completed: clean.completed && fault.completed,
		worker_peak_rss_mib: Math.max(...workers.map((w) => w.peakRssMiB ?? Number.NaN)),
		api_peak_rss_mib: api.peakRssMiB,
		unexpected_process_exits: crashed.length,
		out_of_memory: procs.some((p) => p.oom),
	};

	console.log("\nsummary");
	const row = (name: string, a: unknown, b: unknown) =>
		console.log(`  ${name.padEnd(30)} ${String(a).padStart(12)} ${String(b).padStart(12)}`);
	row("", "clean", "fault");
	row("pages delivered / expected", `${clean.delivered}/${clean.expected}`, `${fault.delivered}/${fault.expected}`);
	row("lost", clean.lost, fault.lost);
	row("duplicates", clean.duplicates, fault.duplicates);
	row("lateness p50 ms", clean.lateness.p50, fault.lateness.p50);
	row("lateness p99 ms", clean.lateness.p99, fault.lateness.p99);
	row("lateness max ms", clean.lateness.max, fault.lateness.max);
	row("  tier 1 p99 ms", clean.tier1.p99, fault.tier1.p99);
	row("  tiers 2–3 p99 ms", clean.tiers23.p99, fault.tiers23.p99);
	row("  ingest → tier-1 page p99 ms", clean.ingestToTier1.p99, fault.ingestToTier1.p99);
	row("  due → tier fired p99 ms", clean.fired.p99, fault.fired.p99);
	row("  fired → received p99 ms", clean.delivery.p99, fault.delivery.p99);
	row("notifications/s", clean.notificationsPerS, fault.notificationsPerS);
	row("rows tried more than once", clean.retried, fault.retried);
	row("in-doubt reconciliations", clean.historyReads, fault.historyReads);
	row("worker CPU ms per page", perPageMs(clean), perPageMs(fault));
	row("machine cores busy", clean.cpu.machineCores, fault.cpu.machineCores);
	console.log(
		`  fault run: SIGKILL ${victim.name} at +${fault.killedAtMs} ms after the ingest, ` +
			`${fault.unanswered} of its pages posted but unanswered (${fault.unansweredAtKill} of them recorded by the fake before the kill, the rest still on the wire)` +
			(fault.restartedAtMs !== undefined ? `, restarted at +${fault.restartedAtMs} ms` : ", not restarted") +
			`; its p99 lateness is ${results.fault_to_clean_lateness_p99_ratio} × the clean run's`,
	);
	console.log(
		`  peak RSS: workers ${workers.map((w) => w.peakRssMiB).join(" / ")} MiB, API ${api.peakRssMiB} MiB` +
			`${results.out_of_memory ? " — OUT OF MEMORY in a process (see above)" : ""}`,
	);
	for (const p of procs) {
		if (p.problems.size === 0) continue;
		console.log(`  ${p.name} logged:`);
		for (const [message, n] of [...p.problems].sort((a, b) => b[1] - a[1]).slice(0, 8)) {
			console.log(`    ${String(n).padStart(5)} × ${message}`);
		}
	}

	const latenessMet = clean.lateness.p99 < 1000;
	console.log("\ntargets");
	console.log(`  lateness_p99_ms < 1000:  ${clean.lateness.p99}  ${latenessMet ? "met" : "NOT MET"}`);
	console.log(`  lost = 0:                ${lost}  ${lost === 0 ? "met" : "NOT MET"}`);
	console.log(`  duplicates = 0:          ${duplicates}  ${duplicates === 0 ? "met" : "NOT MET"}`);

	const file = writeResults(
		"escalation",
		"postgres+redis",
		{
			escalations: escalationCount,
			tiers: tierCount,
			tier_timeout_s: tierSeconds,
			repeat: 0,
			workers: 2,
			members: memberCount,
			policies: policyCount,
			alerts_per_request: alertsPerRequest,
			concurrent_requests: concurrentRequests,
			warm_up_escalations: warmUpCount,
			kill_after_ingest_ms: killAfterMs,
			victim_answers_held_before_kill_ms: holdAnswers ? holdLeadMs : null,
			kill_latest_after_ingest_ms: holdAnswers ? killLatestMs : null,
			restart_after_kill_ms: restartAfterMs > 0 ? restartAfterMs : null,
			wait_ms: { warm_up: warmUpWaitMs, clean: cleanWaitMs, fault: faultWaitMs },
			node_flags: heap.join(" "),
		},
		results,
	);
	console.log(`\nwrote ${file}`);
	return lost > 0 || duplicates > 0 ? 1 : 0;
}

/** Stops every process (SIGTERM, SIGKILL after 10 s), then drops the database and closes the fake. */
let shuttingDown: Promise<void> | undefined;
function shutdown(): Promise<void> {
	shuttingDown ??= (async () => {
		stopping = true;
		await Promise.all(
			procs.map(async (p) => {
				if (p.exit) return;
				const exited = new Promise((resolve) => p.child.once("exit", resolve));
				p.child.kill("SIGTERM");
				const timer = setTimeout(() => p.child.kill("SIGKILL"), 10_000);
				await exited;
				clearTimeout(timer);
			}),
		);
		for (const cleanup of cleanups.reverse()) {
			await Promise.race([cleanup(), sleep(15_000).then(() => Promise.reject(new Error("timed out")))]).catch((error) =>
				console.error(`cleanup: ${(error as Error).message}`),
			);
		}
	})();
	return shuttingDown;
}

const abort = async (message: string, code: number) => {
	console.error(message);
	await shutdown();
	process.exit(code);
};
const limit = setTimeout(
	() => void abort(`bench:escalation: still running after ${globalTimeoutMs / 1000} s: aborting`, 2),
	globalTimeoutMs,
);
process.once("SIGINT", () => void abort("bench:escalation: interrupted", 130));

try {
	const code = await main();
	await shutdown();
	clearTimeout(limit);
	process.exit(code);
} catch (error) {
	console.error(`bench:escalation failed: ${(error as Error).stack ?? error}`);
	await shutdown();
	clearTimeout(limit);
	process.exit(1);
}
