// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are read freely
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";

let app: TestApp;
let tenant: TestTenant;
let engineer: string;
let agent: string;

beforeAll(async () => {
	app = await startTestApp();
	tenant = await app.newTenant("learn");
	engineer = await tenant.keyFor("engineer");
	const created = await app.request("POST", "/api/v1/api-keys", {
		key: tenant.adminKey,
		json: { role: "engineer", agent: true, description: "remediation agent" },
	});
	expect(created.body.apiKey.agent).toBe(true);
	agent = created.body.key;
});
afterAll(() => app?.close());

const call = (method: string, path: string, json?: unknown, key = engineer) =>
	app.request(method, path, { key, ...(json !== undefined && { json }) });

async function fire(alert: Record<string, unknown>) {
	const response = await call("POST", "/api/v1/webhooks/generic", { severity: "warning", ...alert });
	expect(response.status, JSON.stringify(response.body)).toBe(200);
	return response.body.alerts[0].alertId as string;
}
const detail = async (id: string) => (await call("GET", `/api/v1/alerts/${id}`)).body;
const entry = async (id: string) => (await call("GET", `/api/v1/incidents/${id}`)).body.incident;

describe(`the knowledge base at ingest and resolution (${backendName})`, () => {
	let byFingerprint: any;
	let byLabels: any;
	let byTitle: any;

	beforeAll(async () => {
		const runbook = (await call("POST", "/api/v1/runbooks", { templateId: "tls-certificate-expiry" })).body.runbook;
		const create = async (fields: object) => (await call("POST", "/api/v1/incidents", fields)).body.incident;
		byFingerprint = await create({
			title: "Payment gateway timeouts",
			fingerprints: ["fp-payments"],
			solution: "Fail over to the secondary PSP: `kubectl set env deploy/payments PSP=secondary`",
			rootCause: "PSP primary region degraded",
			runbookIds: [runbook.id],
		});
		byLabels = await create({
			title: "Kafka consumer lag on billing",
			matchers: [
				{ label: "alertname", op: "=", value: "KafkaConsumerLag" },
				{ label: "group", op: "=~", value: "billing-.*" },
			],
			solution: "Scale the billing consumers to 6 replicas",
		});
		byTitle = await create({
			title: "TLS certificate expiry",
			solution: "Renew with `certbot renew --cert-name shop`",
		});
	});

	it("attaches the entry by fingerprint and shows its solution and runbooks with the alert", async () => {
		const id = await fire({
			title: "Payments p99 above 2s",
			fingerprint: "fp-payments",
			labels: { service: "payments" },
		});
		const shown = await detail(id);
		expect(shown.alert.knowledgeBaseEntryId).toBe(byFingerprint.id);
		expect(shown.knowledgeBase).toMatchObject({
			id: byFingerprint.id,
			solution: byFingerprint.solution,
			rootCause: "PSP primary region degraded",
			runbooks: [{ id: byFingerprint.runbookIds[0], title: expect.stringContaining("TLS") }],
		});
	});

	it("attaches the entry by label matchers, then by title, and none when nothing fits", async () => {
		const lag = await fire({
			title: "Consumer group lagging",
			labels: { alertname: "KafkaConsumerLag", group: "billing-invoices" },
		});
		expect((await detail(lag)).alert.knowledgeBaseEntryId).toBe(byLabels.id);

		const cert = await fire({ title: "TLS certificate expiry in 5 days for shop.example", labels: { host: "shop" } });
		const shown = await detail(cert);
		expect(shown.alert.knowledgeBaseEntryId).toBe(byTitle.id);
		expect(shown.knowledgeBase.solution).toContain("certbot renew");

		const other = await fire({
			title: "Fan speed low on rack 4",
			labels: { alertname: "KafkaConsumerLag", group: "search-indexer" },
		});
		const unrelated = await detail(other);
		expect(unrelated.alert.knowledgeBaseEntryId).toBeNull();
		expect(unrelated.knowledgeBase).toBeNull();
	});

	it("learns stats when a known alert resolves: times seen, last seen, time to acknowledge and resolve", async () => {
		const id = await fire({
			title: "Payments p99 above 2s",
			fingerprint: "fp-payments",
			labels: { service: "payments" },
		});
		// The fingerprint alert above is still open: this is the same alert.
		expect((await call("PATCH", `/api/v1/alerts/${id}/acknowledge`)).status).toBe(200);
		expect((await call("PATCH", `/api/v1/alerts/${id}/resolve`, { notes: "Failed over" })).status).toBe(200);
		const learned = await entry(byFingerprint.id);
		expect(learned.stats.timesSeen).toBe(1);
		expect(learned.stats.lastSeenAt).not.toBeNull();
		expect(learned.stats.meanTimeToAcknowledgeSeconds).toBeGreaterThanOrEqual(0);
		expect(learned.stats.meanTimeToResolveSeconds).toBeGreaterThanOrEqual(0);
		const prompts = (await call("GET", "/api/v1/incidents/prompts")).body.prompts;
		expect(prompts.map((p: any) => p.alertId)).not.toContain(id);
	});

	it("counts a sender's resolution of a known alert too, without asking anyone", async () => {
		await fire({ title: "Consumer group lagging", labels: { alertname: "KafkaConsumerLag", group: "billing-x" } });
		const resolved = await call("POST", "/api/v1/webhooks/generic", {
			title: "Consumer group lagging",
			status: "resolved",
			labels: { alertname: "KafkaConsumerLag", group: "billing-x" },
		});
		expect(resolved.body.alerts[0].outcome).toBe("resolved");
		expect((await entry(byLabels.id)).stats.timesSeen).toBe(1);
	});

	it("asks to document an unknown alert a person resolved, and turns the answer into an entry", async () => {
		const id = await fire({
			title: "Redis evictions spiking",
			fingerprint: "fp-redis-evict",
			labels: { db: "cache-1" },
		});
		await call("PATCH", `/api/v1/alerts/${id}/resolve`, { notes: "Raised maxmemory to 4gb" });
		const pending = (await call("GET", "/api/v1/incidents/prompts")).body.prompts;
		const prompt = pending.find((p: any) => p.alertId === id);
		expect(prompt).toMatchObject({
			fingerprint: "fp-redis-evict",
			title: "Redis evictions spiking",
			resolutionNotes: "Raised maxmemory to 4gb",
			status: "pending",
			labels: { db: "cache-1" },
		});

		const created = await call("POST", "/api/v1/incidents", {
			title: "Redis evicting keys",
			solution: "Raise maxmemory; check for unbounded keys",
			promptId: prompt.id,
		});
		expect(created.status).toBe(201);
		expect(created.body.incident.fingerprints).toEqual(["fp-redis-evict"]);
		const answered = (await call("GET", "/api/v1/incidents/prompts?status=accepted")).body.prompts;
		expect(answered.find((p: any) => p.id === prompt.id).incidentId).toBe(created.body.incident.id);
		const again = await call("POST", "/api/v1/incidents", { title: "Twice", promptId: prompt.id });
		expect(again.status).toBe(409);
		// Another tenant sees none of this tenant's prompts and cannot act on them.
		const stranger = await app.newTenant("learnother");
		const theirs = (await app.request("GET", "/api/v1/incidents/prompts?status=accepted", { key: stranger.adminKey }))
			.body;
		expect(theirs.prompts).toEqual([]);
		const dismiss = await app.request("POST", `/api/v1/incidents/prompts/${prompt.id}/dismiss`, {
			key: stranger.adminKey,
		});
		expect(dismiss.status).toBe(404);

		// The next time it fires, the fix is there.
		const next = await fire({
			title: "Redis evictions spiking",
			fingerprint: "fp-redis-evict",
			labels: { db: "cache-1" },
		});
		expect((await detail(next)).knowledgeBase.solution).toContain("maxmemory");
	});

	it("creates an entry from an agent's resolution notes, marked for review, and links the alert", async () => {
		const id = await fire({ title: "Node disk pressure on worker-7", fingerprint: "fp-disk-pressure" });
		const resolved = await call(
			"PATCH",
			`/api/v1/alerts/${id}/resolve`,
			{ notes: "Pruned images: crictl rmi --prune" },
			agent,
		);
		expect(resolved.status).toBe(200);
		const review = (await call("GET", "/api/v1/incidents?needsReview=true")).body.incidents;
		const learned = review.find((i: any) => i.fingerprints.includes("fp-disk-pressure"));
		expect(learned).toMatchObject({
			title: "Node disk pressure on worker-7",
			solution: "Pruned images: crictl rmi --prune",
			source: "agent",
			needsReview: true,
			stats: { timesSeen: 1 },
		});
		expect(learned.createdBy).toMatch(/^api_key:/);
		expect((await detail(id)).alert.knowledgeBaseEntryId).toBe(learned.id);
		const prompts = (await call("GET", "/api/v1/incidents/prompts")).body.prompts;
		expect(prompts.map((p: any) => p.alertId)).not.toContain(id);

		// A person reviews it.
		const reviewed = await call("PUT", `/api/v1/incidents/${learned.id}`, {
			title: learned.title,
			fingerprints: learned.fingerprints,
			solution: learned.solution,
			needsReview: false,
			version: learned.version,
		});
		expect(reviewed.body.incident.needsReview).toBe(false);
	});

	it("counts searches and hits in the metrics", async () => {
		await call("GET", "/api/v1/incidents/search?q=certificate");
		const metrics = await (await fetch(`${app.url}/metrics`)).text();
		expect(metrics).toMatch(/opswatch_kb_searches_total\{tenant="learn[^"]*",type="text"\} [1-9]/);
		expect(metrics).toMatch(/opswatch_kb_searches_total\{tenant="learn[^"]*",type="alert"\} [1-9]/);
		expect(metrics).toMatch(/opswatch_kb_hits_total\{tenant="learn[^"]*"\} [1-9]/);
		expect(metrics).toContain("opswatch_kb_search_duration_seconds_bucket");
	});
});
