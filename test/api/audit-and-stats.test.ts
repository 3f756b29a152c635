// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are read freely
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";
import { createTestClock } from "../harness/clock.ts";

/**
 * The tenant's audit log (who changed what, filtered and paged; append-only down to the database)
 * and its statistics, checked against a data set seeded here with known answers.
 */

const clock = createTestClock(new Date("2026-11-20T08:00:00Z"));
let app: TestApp;
let a: TestTenant;
let b: TestTenant;
const as = (key: string, method: string, path: string, json?: unknown) =>
	app.request(method, path, { key, ...(json !== undefined && { json }) });

beforeAll(async () => {
	app = await startTestApp({ clock });
	a = await app.newTenant("audita");
	b = await app.newTenant("auditb");
});
afterAll(() => app?.close());

describe(`the audit log (${backendName})`, () => {
	it("lists changes newest first with actor, role, before and after; filters and pages; stays in its tenant", async () => {
		const manager = await a.keyFor("manager");
		const member = await as(a.adminKey, "POST", "/api/v1/members", {
			name: "Ann",
			email: "ann@example.com",
			timeZone: "UTC",
		});
		const memberId = member.body.member.id;
		await as(manager, "PUT", `/api/v1/members/${memberId}`, {
			version: member.body.member.version,
			name: "Ann Lee",
			email: "ann@example.com",
			timeZone: "Europe/Zurich",
		});
		const rule = await as(a.adminKey, "POST", "/api/v1/alert-rules", {
			name: "db is major",
			position: 10,
			matchers: [{ label: "service", op: "=", value: "db" }],
			severity: "major",
		});
		expect(rule.status, rule.text).toBe(201);

		const all = await as(manager, "GET", "/api/v1/admin/audit-log");
		expect(all.status, all.text).toBe(200);
		const actions = all.body.entries.map((e: any) => e.action);
		expect(actions.slice(0, 3)).toEqual(["alert_rule.create", "member.update", "member.create"]);
		const update = all.body.entries.find((e: any) => e.action === "member.update");
		expect(update).toMatchObject({
			actorType: "api_key",
			actorRole: "manager",
			targetType: "member",
			targetId: memberId,
			before: { name: "Ann", timeZone: "UTC" },
			after: { name: "Ann Lee", timeZone: "Europe/Zurich" },
			requestId: expect.any(String),
			sourceIp: "127.0.0.1",
		});

		const only = async (query: string) =>
			(await as(a.adminKey, "GET", `/api/v1/admin/audit-log?${query}`)).body.entries.map((e: any) => e.action);
		expect(await only("action=member.update")).toEqual(["member.update"]);
		expect(await only("action=member.")).toEqual(["member.update", "member.create"]);
		expect(await only(`targetType=member&targetId=${memberId}`)).toEqual(["member.update", "member.create"]);
		expect(await only(`actorType=api_key&actorId=${update.actorId}`)).toEqual(["member.update"]);
		expect(await only("since=2099-01-01T00:00:00Z")).toEqual([]);

		// Pages hold together: two at a time, then the rest, no row twice.
		const first = await as(a.adminKey, "GET", "/api/v1/admin/audit-log?limit=2");
		expect(first.body.entries).toHaveLength(2);
		const second = await as(a.adminKey, "GET", `/api/v1/admin/audit-log?limit=500&cursor=${first.body.nextCursor}`);
		const paged = [...first.body.entries, ...second.body.entries].map((e: any) => e.id);
		expect(paged).toEqual(all.body.entries.map((e: any) => e.id));
		expect(second.body.nextCursor).toBeUndefined();

		// Tenant B sees none of it.
		expect(
			(await as(b.adminKey, "GET", "/api/v1/admin/audit-log")).body.entries.map((e: any) => e.targetId),
		).not.toContain(memberId);
	});

	it("refuses bad queries with 400 naming the parameter, and engineers and readonly with 403", async () => {
		for (const [query, path] of [
			["cursor=bm90LWEtY3Vyc29y", "querystring.cursor"],
			["since=2026-11-02T00:00:00Z&until=2026-11-01T00:00:00Z", "querystring.since"],
			["since=yesterday", "querystring.since"],
			["limit=0", "querystring.limit"],
			["actorType=robot", "querystring.actorType"],
			["colour=blue", "querystring"],
		] as const) {
			const response = await as(a.adminKey, "GET", `/api/v1/admin/audit-log?${query}`);
			expect(response.status, query).toBe(400);
			expect(
				response.body.error.fields.map((f: any) => f.path),
				query,
			).toContain(path);
		}
		for (const role of ["engineer", "readonly"] as const) {
			expect((await as(await a.keyFor(role), "GET", "/api/v1/admin/audit-log")).status).toBe(403);
		}
	});

	it("is append-only in the database itself", async () => {
		const table = sql.id(`tenant_${a.slug}`, "audit_log");
		await expect(sql`update ${table} set action = 'forged'`.execute(app.database.db)).rejects.toThrow(/append-only/);
		await expect(sql`delete from ${table}`.execute(app.database.db)).rejects.toThrow(/append-only/);
		await expect(sql`truncate ${table}`.execute(app.database.db)).rejects.toThrow(/append-only/);
		const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${table} where action = 'forged'`.execute(
			app.database.db,
		);
		expect(rows[0]!.n).toBe(0);
	});
});

describe(`the admin statistics (${backendName})`, () => {
	it("match a seeded data set: severities and sources, MTTA and MTTR, escalations by tier, knowledge-base hit rate", async () => {
		const key = b.adminKey;
		const agent = (await as(key, "POST", "/api/v1/api-keys", { role: "engineer", agent: true, description: "agent" }))
			.body.key;
		const ida = await as(key, "POST", "/api/v1/members", { name: "Ida", email: "ida@example.com", timeZone: "UTC" });
		const policy = await as(key, "POST", "/api/v1/escalation-policies", {
			name: "Ida twice",
			tiers: [
				{ timeoutSeconds: 300, targets: [{ type: "member", memberId: ida.body.member.id, channels: ["inbox"] }] },
				{ timeoutSeconds: 300, targets: [{ type: "member", memberId: ida.body.member.id, channels: ["inbox"] }] },
			],
		});
		await as(key, "PUT", "/api/v1/escalation-routes", { routes: [], defaultPolicyId: policy.body.policy.id });
		await as(key, "POST", "/api/v1/incidents", {
			title: "Known: cache cold",
			symptoms: "",
			rootCause: "",
			solution: "Warm the cache",
			fingerprints: ["fp-cache-cold"],
			matchers: [],
			runbookIds: [],
			tags: [],
		});
		const settled = () => app.running.container.escalations.settled();

		// Before the window: not counted.
		await as(key, "POST", "/api/v1/webhooks/generic", { title: "Old news", severity: "critical" });
		clock.advance("1h");
		const windowStart = clock.now();
		const fire = async (body: object) =>
			(await as(key, "POST", "/api/v1/webhooks/generic", body)).body.alerts[0].alertId as string;
		const disk = await fire({ title: "Disk full", severity: "critical", labels: { n: "1" } });
		const cpu = await fire({ title: "CPU hot", severity: "critical", labels: { n: "2" } });
		const cache = await fire({ title: "Cache cold", severity: "warning", fingerprint: "fp-cache-cold" });
		const queue = await fire({ title: "Queue stuck", severity: "major", labels: { n: "3" } });
		const paged = await app.request("POST", "/api/v1/webhooks/pagerduty", {
			json: {
				routing_key: key,
				event_action: "trigger",
				payload: { summary: "Paged via PD", source: "x", severity: "info" },
			},
		});
		expect(paged.status).toBe(202);
		await settled();

		clock.advance("60s");
		await as(key, "PATCH", `/api/v1/alerts/${disk}/acknowledge`, {});
		clock.advance("60s");
		await as(key, "PATCH", `/api/v1/alerts/${cpu}/acknowledge`, {});
		clock.advance("60s");
		await as(key, "PATCH", `/api/v1/alerts/${disk}/resolve`, { notes: "cleaned" });
		// The queue alert is nobody's: its escalation reaches tier 2; an agent then resolves it with
		// notes, which teaches the knowledge base but was no hit.
		clock.advance("5m");
		await settled();
		clock.advance("1m");
		await as(agent, "PATCH", `/api/v1/alerts/${queue}/resolve`, { notes: "restarted the consumer" });
		await settled();
		expect((await as(key, "GET", `/api/v1/alerts/${queue}`)).body.alert.knowledgeBaseEntryId).toEqual(
			expect.any(String),
		);

		const stats = await as(key, "GET", `/api/v1/admin/stats?since=${windowStart.toISOString()}`);
		expect(stats.status, stats.text).toBe(200);
		expect(stats.body).toEqual({
			window: { since: windowStart.toISOString(), until: clock.now().toISOString() },
			alerts: {
				total: 5,
				bySeverity: { critical: 2, warning: 1, major: 1, info: 1 },
				bySource: { generic: 4, pagerduty: 1 },
			},
			// Disk acknowledged after 60 s, CPU after 120 s; disk resolved after 180 s, queue after 540 s.
			meanTimeToAcknowledgeSeconds: 90,
			meanTimeToResolveSeconds: 360,
			escalationsByTier: { "1": 3, "2": 1 },
			knowledgeBaseHitRate: 0.2,
		});
		expect((await as(key, "GET", `/api/v1/alerts/${cache}`)).body.alert.knowledgeBaseEntryId).toEqual(
			expect.any(String),
		);

		// The default window is the last 7 days; it counts the alert before our window too.
		expect((await as(key, "GET", "/api/v1/admin/stats")).body.alerts.total).toBe(6);
		// Tenant A's numbers are its own.
		expect((await as(a.adminKey, "GET", "/api/v1/admin/stats")).body.alerts.total).toBe(0);
		for (const [query, path] of [
			[`since=${clock.now().toISOString()}&until=${windowStart.toISOString()}`, "querystring.since"],
			["since=2020-01-01T00:00:00Z&until=2026-01-01T00:00:00Z", "querystring.since"],
			["until=soon", "querystring.until"],
		] as const) {
			const response = await as(key, "GET", `/api/v1/admin/stats?${query}`);
			expect(response.status, query).toBe(400);
			expect(response.body.error.fields[0].path).toBe(path);
		}
		expect((await as(await b.keyFor("engineer"), "GET", "/api/v1/admin/stats")).status).toBe(403);
		expect((await as(await b.keyFor("manager"), "GET", "/api/v1/admin/stats")).status).toBe(200);
	});
});
