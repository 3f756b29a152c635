import { sql } from "kysely";
import { matchFingerprints, matchTitles, searchText } from "../src/incident/search.ts";
import { type Database, loadMigrations, migrateSchema, openDatabase } from "../src/platform/db/index.ts";
import { percentile, reachable, round2, scratchDatabase, seededRandom, writeResults } from "./lib.ts";

const databaseUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const entries = Number(process.env.BENCH_KB_ENTRIES ?? 100_000);
const queries = 500;
const warmUp = 50;
/** Each scenario stops after this many seconds even if not all its queries ran (slow queries at 100k). */
const scenarioS = Number(process.env.BENCH_KB_SCENARIO_S ?? 120);
const batchSize = 1000;
const poolSize = 4;
const schema = "tenant_bench";
const seed = 20_260_101;

const cleanups: (() => Promise<void>)[] = [];

// --- Deterministic generation (same entries and queries every run) ---------------------------------

const { random, int, pick } = seededRandom(seed);

interface Problem {
	title: string;
	tags: string[];
	symptoms: string[];
	causes: string[];
	solutions: string[];
}

const problems: Problem[] = [
	{
		title: "Disk full",
		tags: ["disk", "storage"],
		symptoms: ["writes fail with ENOSPC", "root filesystem at 100% usage", "log rotation stopped"],
		causes: ["unrotated debug logs filled the data volume", "orphaned docker images accumulated on the node"],
		solutions: ["delete old logs and enable logrotate compression", "extend the volume and prune unused images"],
	},
	{
		title: "High CPU",
		tags: ["cpu", "performance"],
		symptoms: ["load average above core count", "request latency climbs with CPU saturation"],
		causes: ["a hot loop in the JSON serializer", "runaway regex backtracking on user input"],
		solutions: ["roll back the release and profile with perf", "scale out replicas and cap the regex input size"],
	},
	{
		title: "TLS certificate expiry",
		tags: ["tls", "certificate", "security"],
		symptoms: ["clients report certificate has expired", "handshake failures from mobile apps"],
		causes: ["cert-manager renewal failed on DNS challenge", "manually issued certificate was never renewed"],
		solutions: ["renew the certificate and reload the ingress", "fix the DNS01 solver credentials and force renewal"],
	},
	{
		title: "Replication lag",
		tags: ["database", "replication"],
		symptoms: ["replica lag above 300 seconds", "read-your-writes inconsistencies reported by users"],
		causes: ["a long-running analytics query held back replay", "network saturation between availability zones"],
		solutions: [
			"cancel the blocking query and enable hot_standby_feedback",
			"move analytics reads to a dedicated replica",
		],
	},
	{
		title: "OOM killed",
		tags: ["memory", "oom"],
		symptoms: ["container restarted with exit code 137", "kernel logs show oom-kill events"],
		causes: ["memory limit too low for the new cache size", "leak in the image resizing buffer pool"],
		solutions: ["raise the memory limit and cap the cache", "patch the buffer leak and add a heap usage alert"],
	},
	{
		title: "Pod CrashLoopBackOff",
		tags: ["kubernetes", "pod"],
		symptoms: ["pod restarts every few seconds", "readiness probe never succeeds"],
		causes: ["missing secret after namespace migration", "invalid configuration flag in the new deployment"],
		solutions: ["recreate the secret and restart the deployment", "revert the configmap change and redeploy"],
	},
	{
		title: "HTTP 5xx spike",
		tags: ["http", "errors"],
		symptoms: ["error rate above 5% at the load balancer", "upstream returns 502 and 503 responses"],
		causes: ["upstream timeouts after a slow dependency deploy", "bad release rolled out to all canaries"],
		solutions: ["roll back the deployment and drain the bad instances", "raise upstream timeouts and add retries"],
	},
	{
		title: "Node NotReady",
		tags: ["kubernetes", "node"],
		symptoms: ["kubelet stopped posting node status", "pods evicted from the node"],
		causes: ["kubelet hung on a stuck NFS mount", "node ran out of PIDs"],
		solutions: ["cordon and drain the node, then reboot it", "raise pid limits and replace the node"],
	},
	{
		title: "Connection pool exhausted",
		tags: ["database", "pool"],
		symptoms: ["requests wait for a database connection", "timeouts acquiring a client from the pool"],
		causes: ["transactions left open by a missing commit", "pool size too small after traffic growth"],
		solutions: ["fix the leaked transaction and restart the workers", "increase the pool size and add pgbouncer"],
	},
	{
		title: "Kafka consumer lag",
		tags: ["kafka", "queue"],
		symptoms: ["consumer group lag grows steadily", "events processed minutes late"],
		causes: ["slow downstream writes in the consumer", "partition rebalance storm after deploy"],
		solutions: ["add consumers and increase partitions", "tune max.poll.interval and batch the writes"],
	},
	{
		title: "DNS resolution failures",
		tags: ["dns", "network"],
		symptoms: ["lookups time out intermittently", "SERVFAIL responses from the resolver"],
		causes: ["CoreDNS pods overloaded by ndots search expansion", "upstream resolver rate limiting"],
		solutions: ["scale CoreDNS and enable node-local DNS cache", "lower ndots and use fully qualified names"],
	},
	{
		title: "Memory leak",
		tags: ["memory", "leak"],
		symptoms: ["resident memory grows until restart", "garbage collection pauses lengthen"],
		causes: ["event listeners never removed", "unbounded in-process cache"],
		solutions: ["bound the cache with an LRU", "remove listeners on disconnect and add a heap snapshot job"],
	},
	{
		title: "Slow queries",
		tags: ["database", "performance"],
		symptoms: ["p99 query latency above two seconds", "sequential scans on a large table"],
		causes: ["missing index after schema change", "stale planner statistics"],
		solutions: ["add the missing index concurrently", "run analyze and raise the statistics target"],
	},
	{
		title: "Deadlock detected",
		tags: ["database", "locking"],
		symptoms: ["transactions aborted with deadlock detected", "retry storms on order updates"],
		causes: ["two code paths lock rows in opposite order", "batch job updates rows without ordering"],
		solutions: ["lock rows in a consistent order", "split the batch job into smaller ordered transactions"],
	},
	{
		title: "Redis eviction storm",
		tags: ["redis", "cache"],
		symptoms: ["cache hit ratio dropped sharply", "evicted keys counter spikes"],
		causes: ["maxmemory reached after key TTLs were removed", "large hash keys from a new feature"],
		solutions: ["restore TTLs and raise maxmemory", "split large keys and set an eviction policy"],
	},
	{
		title: "Queue backlog",
		tags: ["queue", "backlog"],
		symptoms: ["jobs waiting in the queue for hours", "worker throughput dropped"],
		causes: ["workers stuck on a poison message", "rate limit on the downstream API"],
		solutions: ["move the poison message to the dead letter queue", "scale workers and respect the API rate limit"],
	},
	{
		title: "Disk IO saturation",
		tags: ["disk", "io"],
		symptoms: ["iowait above 40%", "fsync latency spikes"],
		causes: ["burst credits exhausted on the volume", "compaction running during peak hours"],
		solutions: ["move to provisioned IOPS volumes", "schedule compaction off-peak"],
	},
	{
		title: "Packet loss",
		tags: ["network", "packet-loss"],
		symptoms: ["TCP retransmits increase", "intermittent timeouts between services"],
		causes: ["faulty top-of-rack switch port", "MTU mismatch on the overlay network"],
		solutions: ["fail over to the secondary link and replace the port", "align the MTU across the overlay"],
	},
	{
		title: "Load balancer health check failing",
		tags: ["load-balancer", "health-check"],
		symptoms: ["targets marked unhealthy", "traffic concentrated on few instances"],
		causes: ["health endpoint depends on a slow dependency", "security group blocks the check port"],
		solutions: ["make the health endpoint shallow", "open the check port in the security group"],
	},
	{
		title: "Certificate chain invalid",
		tags: ["tls", "certificate"],
		symptoms: ["old Android clients fail the handshake", "unable to verify the first certificate"],
		causes: ["intermediate certificate missing from the bundle", "cross-signed root expired"],
		solutions: ["serve the full chain including intermediates", "switch to the new root chain"],
	},
	{
		title: "Cron job failed",
		tags: ["cron", "batch"],
		symptoms: ["nightly job exited non-zero", "reports missing in the morning"],
		causes: ["credentials rotated without updating the job", "job exceeded its deadline"],
		solutions: ["update the job credentials and rerun it", "raise activeDeadlineSeconds and split the job"],
	},
	{
		title: "Backup failed",
		tags: ["backup", "storage"],
		symptoms: ["no successful backup in 24 hours", "snapshot stuck in pending state"],
		causes: ["bucket quota exceeded", "backup agent lost IAM permissions"],
		solutions: ["raise the bucket quota and expire old backups", "restore the IAM policy and rerun the backup"],
	},
	{
		title: "API rate limit exceeded",
		tags: ["api", "rate-limit"],
		symptoms: ["HTTP 429 responses from the provider", "webhooks delivered late"],
		causes: ["retry loop without backoff", "new integration polls too often"],
		solutions: ["add exponential backoff with jitter", "switch the integration to webhooks"],
	},
	{
		title: "Elasticsearch cluster red",
		tags: ["elasticsearch", "search"],
		symptoms: ["unassigned primary shards", "search requests fail"],
		causes: ["data node lost its disk", "disk watermark blocked allocation"],
		solutions: ["restore the shard from snapshot", "free disk space and reset the watermark block"],
	},
	{
		title: "Thread pool exhaustion",
		tags: ["threads", "performance"],
		symptoms: ["requests rejected by the executor", "thread dumps show blocked workers"],
		causes: ["blocking IO on the request threads", "synchronized section around the HTTP client"],
		solutions: ["move blocking calls to a dedicated pool", "remove the lock and use an async client"],
	},
	{
		title: "Clock skew",
		tags: ["ntp", "time"],
		symptoms: ["tokens rejected as not yet valid", "log timestamps out of order"],
		causes: ["chrony stopped after an upgrade", "hypervisor time drift"],
		solutions: ["restart chrony and enable it at boot", "sync against the internal NTP pool"],
	},
	{
		title: "Disk inode exhaustion",
		tags: ["disk", "inodes"],
		symptoms: ["no space left on device with free blocks", "cannot create temporary files"],
		causes: ["millions of small session files", "cache directory never cleaned"],
		solutions: ["purge the session files and move sessions to Redis", "add a tmpreaper cleanup job"],
	},
	{
		title: "Ingress controller errors",
		tags: ["kubernetes", "ingress"],
		symptoms: ["nginx returns 404 for valid routes", "config reload failures"],
		causes: ["conflicting ingress annotations", "invalid snippet rejected on reload"],
		solutions: ["remove the conflicting annotation", "fix the snippet and reload nginx"],
	},
	{
		title: "Image pull backoff",
		tags: ["kubernetes", "registry"],
		symptoms: ["pods stuck in ImagePullBackOff", "registry returns unauthorized"],
		causes: ["registry credentials expired", "image tag deleted by retention policy"],
		solutions: ["refresh the image pull secret", "retag the image and exempt release tags from retention"],
	},
	{
		title: "Vault seal",
		tags: ["vault", "secrets"],
		symptoms: ["secrets API returns 503", "applications fail to start without secrets"],
		causes: ["vault restarted without auto-unseal", "KMS key permissions revoked"],
		solutions: ["unseal vault with the recovery keys", "restore KMS permissions for auto-unseal"],
	},
	{
		title: "Etcd leader election",
		tags: ["etcd", "kubernetes"],
		symptoms: ["frequent leader changes", "API server requests slow"],
		causes: ["slow disk fsync on etcd members", "network latency between control plane nodes"],
		solutions: ["move etcd to local SSDs", "defragment etcd and tune the heartbeat interval"],
	},
	{
		title: "Payment gateway timeout",
		tags: ["payments", "third-party"],
		symptoms: ["checkout requests hang for 30 seconds", "payment provider status page degraded"],
		causes: ["provider outage in one region", "connection reuse disabled in the client"],
		solutions: ["fail over to the secondary provider", "enable keep-alive and lower the client timeout"],
	},
	{
		title: "Webhook delivery failures",
		tags: ["webhooks", "integration"],
		symptoms: ["deliveries retried repeatedly", "customers report missing events"],
		causes: ["receiver endpoint changed its TLS configuration", "payload size above the receiver limit"],
		solutions: ["contact the customer and pause deliveries", "compress payloads and paginate large events"],
	},
	{
		title: "Zookeeper session expired",
		tags: ["zookeeper", "coordination"],
		symptoms: ["brokers drop out of the cluster", "session expired errors in client logs"],
		causes: ["long GC pauses on the broker", "ensemble overloaded by watches"],
		solutions: ["tune the heap and switch to G1", "reduce watches and add ensemble members"],
	},
	{
		title: "Cache stampede",
		tags: ["cache", "performance"],
		symptoms: ["database load spikes when keys expire", "latency spikes every hour"],
		causes: ["many keys expire at the same moment", "no request coalescing on misses"],
		solutions: ["add jitter to TTLs", "coalesce concurrent misses with a lock"],
	},
	{
		title: "Autoscaler not scaling",
		tags: ["autoscaling", "capacity"],
		symptoms: ["pending pods for more than ten minutes", "CPU above target without new replicas"],
		causes: ["metrics server unavailable", "node group reached its maximum size"],
		solutions: ["restore the metrics server", "raise the node group maximum and request quota"],
	},
];

const domains = [
	"payments",
	"checkout",
	"billing",
	"auth",
	"identity",
	"search",
	"catalog",
	"inventory",
	"orders",
	"shipping",
	"notifications",
	"email",
	"sms",
	"ledger",
	"reporting",
	"analytics",
	"recommendations",
	"pricing",
	"cart",
	"profile",
	"session",
	"media",
	"upload",
	"thumbnail",
	"geo",
	"routing",
	"fraud",
	"risk",
	"onboarding",
	"audit",
	"metrics",
	"logging",
	"tracing",
	"config",
	"flags",
	"scheduler",
	"invoice",
	"subscription",
	"loyalty",
	"warehouse",
];
const roles = ["api", "worker", "gateway", "db", "cache", "consumer", "proxy", "frontend", "indexer", "cron"];
const components = domains.flatMap((domain) => roles.map((role) => `${domain}-${role}`));
const regions = [
	"us-east-1",
	"us-east-2",
	"us-west-2",
	"eu-west-1",
	"eu-central-1",
	"eu-north-1",
	"ap-southeast-1",
	"ap-northeast-1",
	"ap-south-1",
	"sa-east-1",
	"ca-central-1",
	"me-south-1",
];
const environments = ["prod", "staging", "canary"];
const since = [
	"since the 02:00 deploy",
	"after the traffic peak",
	"during the nightly batch",
	"since the failover",
	"after a config change",
	"for about twenty minutes",
];
const observations = [
	"Grafana shows the error budget burning fast",
	"on-call was paged twice within an hour",
	"customers opened support tickets",
	"the status page was updated",
	"synthetic checks failed from two regions",
	"dashboards show a clear step change",
];
const triggers = [
	"a routine release",
	"a kernel upgrade",
	"a traffic surge from a marketing campaign",
	"an expired credential",
	"a dependency upgrade",
	"an infrastructure migration",
];
const followUps = [
	"add an alert on the leading indicator",
	"document the steps in the runbook",
	"schedule a postmortem",
	"verify the dashboards are green for an hour",
	"open a ticket to automate the fix",
	"check the other regions for the same issue",
];
const severities = ["critical", "major", "minor", "warning", "info"] as const;

interface Entry {
	problem: Problem;
	component: string;
	host: string;
	region: string;
	title: string;
	fingerprints: string[];
	symptoms: string;
	rootCause: string;
	solution: string;
	tags: string[];
	severity: string;
}

const usedFingerprints = new Set<string>();
function fingerprint(): string {
	for (;;) {
		const fp = Array.from({ length: 16 }, () => int(16).toString(16)).join("");
		if (!usedFingerprints.has(fp)) {
			usedFingerprints.add(fp);
			return fp;
		}
	}
}

function generateEntry(): Entry {
	const problem = pick(problems);
	const component = pick(components);
	const region = pick(regions);
	const host =
		random() < 0.5 ? `${component}-${String(int(40)).padStart(2, "0")}` : `ip-10-${int(64)}-${int(256)}-${int(256)}`;
	const title = pick([
		`${problem.title} on ${component}`,
		`${problem.title} on ${host} (${region})`,
		`${component}: ${problem.title} in ${region}`,
		`${problem.title} in ${component} on ${host}`,
	]);
	return {
		problem,
		component,
		host,
		region,
		title,
		fingerprints: Array.from({ length: 1 + int(3) }, fingerprint),
		symptoms: `${capitalise(pick(problem.symptoms))} on ${host} ${pick(since)}; ${pick(observations)}.`,
		rootCause: `${capitalise(pick(problem.causes))} after ${pick(triggers)}.`,
		solution: `1. ${capitalise(pick(problem.solutions))}.\n2. ${capitalise(pick(followUps))}.`,
		tags: [...problem.tags, component.split("-")[0]!, region, pick(environments)],
		severity: pick(severities),
	};
}

const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

// --- Queries --------------------------------------------------------------------------------------

/** PostgreSQL's English stop words that occur in the generated text: nobody searches for "other" alone. */
const stopWords = new Set(
	(
		"a about above after against all an and are as at between but by during each few for from has i if in into is " +
		"it its me more most no not now of off on once or other our out over own s same so some t than that the them " +
		"then they this those to too until up was were when where which while with your"
	).split(" "),
);
const isWord = (word: string) => word.length >= 3 && !stopWords.has(word.toLowerCase());

/**
 * One to three consecutive words of an entry's title or solution, exactly as they appear in it (within
 * one clause, so the phrase is also a substring for the ilike baseline), starting and ending on a
 * word a person would search for (no stop words, numbers or bare list markers at the ends).
 */
function realWordQuery(from: Entry[]): string {
	for (;;) {
		const entry = pick(from);
		const clauses = (random() < 0.5 ? entry.title : entry.solution).split(/[.,;:()\n]+/);
		const clause = pick(clauses).trim().split(/\s+/);
		const length = 1 + int(3);
		const start = int(Math.max(1, clause.length - length + 1));
		const phrase = clause.slice(start, start + length);
		if (phrase.length && isWord(phrase[0]!) && isWord(phrase.at(-1)!) && /\p{L}/u.test(phrase.join(""))) {
			return phrase.join(" ");
		}
	}
}

/**
 * A word of at least 5 letters from an entry's problem or service name as its title shows it
 * ("certificate", "payments" of "payments-api"), with one letter dropped or two neighbours swapped,
 * alone ("certficate") or followed by the title's next word spelled right ("certficate expiry").
 */
function misspelledQuery(from: Entry[]): { query: string; correct: string } {
	for (;;) {
		const entry = pick(from);
		const titleWords = entry.title.split(/[\s():-]+/).filter((word) => /^\p{L}+$/u.test(word));
		const searchable = new Set([...entry.problem.title.split(" "), ...entry.component.split("-")]);
		const candidates = titleWords.filter((word) => word.length >= 5 && searchable.has(word));
		if (candidates.length === 0) continue;
		const correct = pick(candidates);
		let typo = correct;
		while (typo.toLowerCase() === correct.toLowerCase()) {
			const at = 1 + int(correct.length - 2);
			typo =
				random() < 0.5
					? correct.slice(0, at) + correct.slice(at + 1)
					: correct.slice(0, at) + correct[at + 1] + correct[at] + correct.slice(at + 2);
		}
		const next = titleWords[titleWords.indexOf(correct) + 1];
		const query = random() < 0.5 && next && isWord(next) ? `${typo} ${next}` : typo;
		return { query: query.toLowerCase(), correct };
	}
}

// --- Measurement ----------------------------------------------------------------------------------

interface Measured {
	p50: number;
	p95: number;
	/** Per-query latency in ms, in the order of the items measured. */
	samples: number[];
	/** Fewer than the items given when the scenario ran out of time. */
	measured: number;
}

/**
 * Runs `run` for each item one after another, timing each call, after a warm-up on other items of
 * the same kind. Stops early (and says so) when the scenario has taken `scenarioS` seconds.
 */
async function measure<T, R>(
	name: string,
	warm: T[],
	items: T[],
	run: (item: T) => Promise<R>,
	check: (item: T, result: R) => void = () => {},
): Promise<Measured> {
	const deadline = performance.now() + scenarioS * 1000;
	for (const item of warm) {
		await run(item);
		if (performance.now() > deadline - scenarioS * 900) break; // at most a tenth of the time on warm-up
	}
	const samples: number[] = [];
	for (const item of items) {
		const started = performance.now();
		const result = await run(item);
		samples.push(performance.now() - started);
		check(item, result);
		if (performance.now() > deadline) break;
	}
	const p50 = percentile(samples, 50);
	const p95 = percentile(samples, 95);
	const cut = samples.length < items.length ? `  (stopped after ${samples.length} queries, ${scenarioS} s)` : "";
	console.log(`  ${name.padEnd(32)} p50 ${p50.toFixed(2).padStart(8)} ms  p95 ${p95.toFixed(2).padStart(8)} ms${cut}`);
	return { p50, p95, samples, measured: samples.length };
}

async function main(): Promise<void> {
	await reachable(databaseUrl, 5432);

	// A database of our own, dropped at the end.
	const scratch = await scratchDatabase(databaseUrl);
	const _dbName = scratch.name;
	cleanups.push(scratch.drop);

	// OpsWatch's own database code and migrations, one tenant schema.
	const database: Database = await openDatabase({ backend: "postgres", url: scratch.url, poolSize });
	cleanups.push(() => database.close());
	const { db } = database;
	await migrateSchema(db, { schema: "public", migrations: loadMigrations("public") });
	await sql`create schema ${sql.id(schema)}`.execute(db);
	await migrateSchema(db, { schema, migrations: loadMigrations("tenant") });
	const { rows: versionRows } = await sql<{ v: string }>`select current_setting('server_version') as v`.execute(db);
	const serverVersion = versionRows[0]!.v;
	const table = sql.id(schema, "incidents");

	console.log(
		`knowledge-base benchmark: ${entries.toLocaleString("en")} entries, PostgreSQL ${serverVersion}, ` +
			`${queries} queries per scenario (at most ${scenarioS} s each), one at a time`,
	);

	// Load: one multi-row INSERT per 1,000 entries (the trigger fills `search`, `title_lexemes` and the
	// word list), one at a time: concurrent multi-row inserts deadlock on `incident_words` (each row
	// adds its words in sorted order, but the rows of two statements interleave).
	const generated = Array.from({ length: entries }, generateEntry);
	const loadStarted = performance.now();
	for (let from = 0; from < generated.length; from += batchSize) {
		const rows = generated
			.slice(from, from + batchSize)
			.map(
				(e) =>
					sql`(${e.title}, ${e.fingerprints}::text[], ${e.symptoms}, ${e.rootCause}, ${e.solution}, ${e.tags}::text[], ${e.severity}, 'human', 'bench', 'bench')`,
			);
		await sql`
			insert into ${table}
				(title, fingerprints, symptoms, root_cause, solution, tags, severity, source, created_by, updated_by)
			values ${sql.join(rows)}`.execute(db);
	}
	const insertS = round2((performance.now() - loadStarted) / 1000);
	// VACUUM as well as ANALYZE: a bulk load leaves every new key in the GIN indexes' pending lists
	// (fastupdate), which each search then scans linearly until autovacuum merges them. Measure the
	// steady state autovacuum reaches within minutes, not the first seconds after a bulk import.
	const vacuumStarted = performance.now();
	await sql`vacuum analyze ${table}`.execute(db);
	const vacuumS = round2((performance.now() - vacuumStarted) / 1000);
	const { rows: sizeRows } = await sql<{ size: string }>`
		select pg_size_pretty(pg_total_relation_size(${`${schema}.incidents`}::regclass)) as size`.execute(db);
	console.log(
		`  loaded in ${insertS} s (${Math.round(entries / insertS).toLocaleString("en")} entries/s), ` +
			`vacuum analyze ${vacuumS} s, table + indexes ${sizeRows[0]!.size}\n`,
	);

	// Text search: 60% real words and phrases, 40% misspelled title words.
	type TextQuery = { query: string; correct?: string };
	const textQuery = (i: number): TextQuery =>
		i % 5 < 3 ? { query: realWordQuery(generated) } : misspelledQuery(generated);
	const textQueries = Array.from({ length: queries }, (_, i) => textQuery(i));
	let textHits = 0;
	let realHits = 0;
	let typoAnyHits = 0;
	let typoHits = 0;
	const realMisses: string[] = [];
	const typoMisses: string[] = [];
	console.log("latency");
	const text = await measure(
		"text search (searchText)",
		Array.from({ length: warmUp }, (_, i) => textQuery(i)),
		textQueries,
		(q) => searchText(db, schema, q.query, 10),
		(q, hits) => {
			if (hits.length > 0) textHits++;
			if (!q.correct) {
				if (hits.length > 0) realHits++;
				else realMisses.push(q.query);
				return;
			}
			if (hits.length > 0) typoAnyHits++;
			const correct = q.correct.toLowerCase();
			if (hits.some((hit) => hit.incident.title.toLowerCase().includes(correct))) typoHits++;
			else typoMisses.push(`"${q.query}" (${q.correct})`);
		},
	);
	const measuredText = textQueries.slice(0, text.measured);
	const realSamples = text.samples.filter((_, i) => !measuredText[i]!.correct);
	const typoSamples = text.samples.filter((_, i) => measuredText[i]!.correct);
	const realCount = realSamples.length;
	const typoCount = typoSamples.length;

	// Fingerprint lookup: random existing fingerprints; each must find its entry.
	const fingerprintQuery = () => {
		const entry = pick(generated);
		return { fp: pick(entry.fingerprints), title: entry.title };
	};
	let fingerprintFailures = 0;
	const fingerprints = await measure(
		"fingerprint (matchFingerprints)",
		Array.from({ length: warmUp }, fingerprintQuery),
		Array.from({ length: queries }, fingerprintQuery),
		(q) => matchFingerprints(db, schema, [q.fp]),
		(q, found) => {
			const incident = found.get(q.fp);
			if (!incident?.fingerprints.includes(q.fp) || incident.title !== q.title) fingerprintFailures++;
		},
	);

	// Alert-title matching: alert-like titles built from generated entries, mostly "<problem> on <host>
	// in <region>", some naming the service, some an entry's own title as Alertmanager would fire it.
	const titleQuery = () => {
		const entry = pick(generated);
		const title = pick([
			`${entry.problem.title} on ${entry.host} in ${entry.region}`,
			`${entry.problem.title} on ${entry.host} in ${entry.region}`,
			`${entry.problem.title} on ${entry.component} in ${entry.region}`,
			`[FIRING:1] ${entry.title}`,
		]);
		return { title, problem: entry.problem.title };
	};
	let titleMatched = 0;
	let titleSameProblem = 0;
	const titles = await measure(
		"alert title (matchTitles)",
		Array.from({ length: warmUp }, titleQuery),
		Array.from({ length: queries }, titleQuery),
		(q) => matchTitles(db, schema, [q.title]),
		(q, [match]) => {
			if (!match) return;
			titleMatched++;
			if (match.title.toLowerCase().includes(q.problem.toLowerCase())) titleSameProblem++;
		},
	);

	// Baseline: a plain scan for the same real-word queries (each is a substring of its entry).
	const realQueries = textQueries.filter((q) => !q.correct);
	let ilikeHits = 0;
	const ilike = await measure(
		"baseline: ilike '%word%'",
		Array.from({ length: warmUp }, () => ({ query: realWordQuery(generated) })),
		realQueries,
		(q) => {
			const pattern = `%${q.query}%`;
			return sql<{ id: string; title: string }>`
				select id, title from ${table}
				where title ilike ${pattern} or symptoms ilike ${pattern} or solution ilike ${pattern}
				limit 10`.execute(db);
		},
		(_, { rows }) => {
			if (rows.length > 0) ilikeHits++;
		},
	);

	const rate = (n: number, of: number) => (of ? Math.round((n / of) * 1000) / 1000 : 0);
	const results: Record<string, number> = {
		entries,
		text_search_p50_ms: text.p50,
		text_search_p95_ms: text.p95,
		fingerprint_p50_ms: fingerprints.p50,
		fingerprint_p95_ms: fingerprints.p95,
		title_match_p50_ms: titles.p50,
		title_match_p95_ms: titles.p95,
		ilike_p50_ms: ilike.p50,
		ilike_p95_ms: ilike.p95,
		ilike_to_text_search_ratio: round2(ilike.p95 / text.p95),
		text_hit_rate: rate(textHits, text.measured),
		typo_hit_rate: rate(typoHits, typoCount),
		insert_s: insertS,
		// The details behind those.
		vacuum_analyze_s: vacuumS,
		real_word_search_p95_ms: percentile(realSamples, 95),
		typo_search_p95_ms: percentile(typoSamples, 95),
		real_word_hit_rate: rate(realHits, realCount),
		typo_any_hit_rate: rate(typoAnyHits, typoCount),
		ilike_hit_rate: rate(ilikeHits, ilike.measured),
		fingerprint_failures: fingerprintFailures,
		title_match_rate: rate(titleMatched, titles.measured),
		title_match_same_problem_rate: rate(titleSameProblem, titles.measured),
		text_search_queries: text.measured,
		fingerprint_queries: fingerprints.measured,
		title_match_queries: titles.measured,
		ilike_queries: ilike.measured,
	};

	const mark = (ok: boolean) => (ok ? "ok" : "MISSED");
	console.log("\nsummary");
	console.log(
		`  text search p95:       ${text.p95} ms (target < 20) ${mark(text.p95 < 20)}` +
			`  [real words ${results.real_word_search_p95_ms} ms, misspelled ${results.typo_search_p95_ms} ms]`,
	);
	console.log(
		`  fingerprint p95:       ${fingerprints.p95} ms (target < 2) ${mark(fingerprints.p95 < 2)}` +
			`  [${fingerprintFailures} of ${fingerprints.measured} not found]`,
	);
	console.log(`  alert title p95:       ${titles.p95} ms`);
	console.log(
		`  ilike p95 / text p95:  ${results.ilike_to_text_search_ratio} × (ilike p95 ${ilike.p95} ms; ` +
			"above 1 means the index-backed search is faster)",
	);
	console.log(
		`  text hit rate:         ${results.text_hit_rate} of ${text.measured} queries return ≥ 1 entry ` +
			`(real words ${results.real_word_hit_rate} of ${realCount}; ilike finds ${results.ilike_hit_rate})`,
	);
	console.log(
		`  typo hit rate:         ${results.typo_hit_rate} of ${typoCount} misspelled queries find an entry titled ` +
			`with the right word (${results.typo_any_hit_rate} return anything)`,
	);
	console.log(
		`  alert titles:          ${results.title_match_rate} matched an entry, ` +
			`${results.title_match_same_problem_rate} one of the same problem`,
	);
	console.log(`  load:                  ${insertS} s for ${entries.toLocaleString("en")} entries`);
	if (realMisses.length) console.log(`  real words not found:  ${realMisses.slice(0, 8).join("; ")}`);
	if (typoMisses.length) console.log(`  typos not found:       ${typoMisses.slice(0, 8).join("; ")}`);

	const file = writeResults(
		"kb",
		"postgres",
		{
			entries,
			queries,
			warm_up: warmUp,
			scenario_max_s: scenarioS,
			batch_size: batchSize,
			pool_size: poolSize,
			seed,
			postgres: serverVersion,
		},
		results,
	);
	console.log(`\nwrote ${file}`);
}

let stopped: Promise<void> | undefined;
/** Runs the cleanups once, newest first (close the pool, then drop the database), however it is reached. */
function shutdown(): Promise<void> {
	stopped ??= (async () => {
		for (const cleanup of cleanups.reverse())
			await cleanup().catch((error) => console.error(`cleanup: ${error.message}`));
	})();
	return stopped;
}

// Interrupted (Ctrl-C, a timeout's SIGTERM): still drop the database.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
	process.once(signal, () => {
		console.error(`bench:kb failed: interrupted by ${signal}`);
		void shutdown().finally(() => process.exit(1));
	});
}

try {
	await main();
	await shutdown();
} catch (error) {
	// After an interrupt the pool is gone and the query in flight fails: that is not news.
	if (!stopped) console.error(`bench:kb failed: ${(error as Error).message}`);
	await shutdown();
	process.exit(1);
}
