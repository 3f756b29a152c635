import { readFileSync } from "node:fs";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiResponse, startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName, testRedisUrl } from "../harness/backend.ts";
import { recordingEscalation } from "../harness/escalation.ts";
import { startTcpProxy } from "../harness/tcp-proxy.ts";

const fixture = (name: string): string =>
	readFileSync(new URL(`../fixtures/alertmanager/${name}.json`, import.meta.url), "utf8");

const A = "e5b0b73033fece48"; // HighRequestLatency a, warning
const B = "1357b3c990354a98"; // HighRequestLatency b, critical
const C = "697060813bc60dae"; // HighRequestLatency c, warning
const DB_LAG = "141a6098d261fcdb"; // PostgresReplicationLag, critical, child route

interface Harness {
	app: TestApp;
	tenant: TestTenant;
	key: string;
	escalation: ReturnType<typeof recordingEscalation>;
	post(body: string): Promise<ApiResponse>;
	// biome-ignore lint/suspicious/noExplicitAny: alert JSON as the API returns it
	alertsBy(fingerprint: string): Promise<any[]>;
}

async function harness(env: Record<string, string> = {}): Promise<Harness> {
	const escalation = recordingEscalation();
	const app = await startTestApp({ env, escalation: escalation.starter });
	const tenant = await app.newTenant("am");
	const key = await tenant.keyFor("engineer");
	return {
		app,
		tenant,
		key,
		escalation,
		// Alertmanager 0.25 can only set the Authorization header.
		post: (body) =>
			app.request("POST", "/api/v1/webhooks/alertmanager", {
				body,
				headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
			}),
		async alertsBy(fingerprint) {
			const all = await app.request("GET", "/api/v1/alerts?limit=500", { key });
			return all.body.alerts.filter((a: { fingerprint: string }) => a.fingerprint === fingerprint);
		},
	};
}

function lifecycle(describeName: string, env: () => Record<string, string>, breakRedis?: () => Promise<void>) {
	describe(describeName, () => {
		let h: Harness;
		beforeAll(async () => {
			h = await harness(env());
		});
		afterAll(() => h?.app.close());

		it("stores each alert of a group as its own alert, with the sender's fingerprint and severity", async () => {
			const response = await h.post(fixture("firing-group-3-alerts"));
			expect(response.status).toBe(200);
			expect(
				response.body.alerts.map((a: { fingerprint: string; outcome: string }) => [a.fingerprint, a.outcome]),
			).toEqual([
				[A, "created"],
				[B, "created"],
				[C, "created"],
			]);
			const b = (await h.alertsBy(B))[0]!;
			expect(b).toMatchObject({
				source: "alertmanager",
				status: "firing",
				severity: "critical",
				title: "p99 latency above 750ms on b.checkout-api:8080",
				occurrences: 1,
				endsAt: null,
				startsAt: "2026-11-26T13:20:17.791Z",
			});
			expect(b.labels).toMatchObject({ alertname: "HighRequestLatency", instance: "b.checkout-api:8080" });
			expect(b.annotations.runbook_url).toBe("https://runbooks.example.internal/checkout-api/high-latency");
			expect(b.generatorUrl).toMatch(/^http:\/\/prometheus.example.internal:9090\/graph/);
			expect((await h.alertsBy(A))[0].severity).toBe("warning");

			// Only the critical one pages.
			expect(h.escalation.started.map((s) => s.alertId)).toEqual([b.id]);

			// What Prometheus sees: the group's alerts by source and severity.
			const metrics = (await h.app.request("GET", "/metrics")).text;
			const received = (severity: string) =>
				`opswatch_alerts_received_total{source="alertmanager",severity="${severity}",tenant="${h.tenant.slug}"}`;
			expect(metrics).toContain(`${received("warning")} 2`);
			expect(metrics).toContain(`${received("critical")} 1`);

			const detail = await h.app.request("GET", `/api/v1/alerts/${b.id}`, { key: h.key });
			expect(detail.body.timeline.map((e: { type: string }) => e.type)).toEqual(["created"]);
		});

		it("counts a repeat inside the window and pages no one", async () => {
			if (breakRedis) await breakRedis();
			const [before] = await h.alertsBy(B);
			const response = await h.post(fixture("firing-group-3-alerts"));
			expect(response.status).toBe(200);
			expect(response.body.alerts.map((a: { outcome: string }) => a.outcome)).toEqual([
				"deduplicated",
				"deduplicated",
				"deduplicated",
			]);
			const [after] = await h.alertsBy(B);
			expect(after.id).toBe(before.id);
			expect(after.occurrences).toBe(2);
			expect(h.escalation.started).toHaveLength(1);
			// The timeline counts repeats in one entry, read from the alert: no row per repeat.
			const { timeline } = (await h.app.request("GET", `/api/v1/alerts/${after.id}`, { key: h.key })).body;
			expect(timeline.map((e: { type: string }) => e.type)).toEqual(["created", "deduplicated"]);
			expect(timeline[1]).toMatchObject({ at: after.lastSeenAt, actor: null, details: { repeats: 1 } });
			expect(await h.alertsBy(A)).toHaveLength(1);
		});

		it("closes the open alert when the group reports it resolved, even inside a firing payload", async () => {
			const response = await h.post(fixture("mixed-2-firing-1-resolved"));
			expect(response.body.alerts.map((a: { outcome: string }) => a.outcome)).toEqual([
				"deduplicated",
				"resolved",
				"deduplicated",
			]);
			const [b] = await h.alertsBy(B);
			expect(b.status).toBe("resolved");
			expect(b.endsAt).toBe("2026-11-26T13:27:20.341Z");
			expect(b.resolvedBy).toMatch(/^source:alertmanager:/);
			expect(h.escalation.stopped).toContainEqual({ tenant: h.tenant.slug, alertId: b.id, reason: "resolved" });
			expect((await h.alertsBy(A))[0].occurrences).toBe(3);

			// Alertmanager re-sends a group until one delivery succeeds: the same resolve is harmless.
			const again = await h.post(fixture("mixed-2-firing-1-resolved"));
			expect(again.body.alerts[1].outcome).toBe("ignored");
			expect(await h.alertsBy(B)).toHaveLength(1);
		});

		it("resolves the rest of the group, and a new firing opens a new alert", async () => {
			const response = await h.post(fixture("resolved-group-2-alerts"));
			expect(response.body.alerts.map((a: { outcome: string }) => a.outcome)).toEqual(["resolved", "resolved"]);
			expect((await h.alertsBy(A))[0].status).toBe("resolved");
			expect((await h.alertsBy(C))[0].status).toBe("resolved");

			const refire = await h.post(fixture("firing-group-3-alerts"));
			expect(refire.body.alerts.map((a: { outcome: string }) => a.outcome)).toEqual(["created", "created", "created"]);
			const bs = await h.alertsBy(B);
			expect(bs.map((a) => a.status).sort()).toEqual(["firing", "resolved"]);
			expect(h.escalation.started).toHaveLength(2);
		});

		it("keeps a child route's alert with its own fingerprint and ignores a resolve for an unknown alert", async () => {
			const firing = await h.post(fixture("firing-single-alert-child-route-3-group-labels"));
			expect(firing.body.alerts[0]).toMatchObject({ fingerprint: DB_LAG, outcome: "created" });
			expect((await h.alertsBy(DB_LAG))[0]).toMatchObject({ severity: "critical", status: "firing" });

			const unknown = await h.post(fixture("resolved-single-alert"));
			expect(unknown.status).toBe(200);
			expect(unknown.body.alerts[0]).toMatchObject({
				fingerprint: "16f153ddf75f9cf1",
				outcome: "ignored",
				alertId: null,
			});
			expect(await h.alertsBy("16f153ddf75f9cf1")).toHaveLength(0);
		});

		it("accepts fields newer Alertmanagers add and keeps the raw payload", async () => {
			const payload = JSON.parse(fixture("firing-single-alert-child-route-3-group-labels"));
			payload.notification_reason = "new";
			payload.routeLabels = { team: "db" };
			payload.alerts[0].fingerprint = "00000000000000aa";
			payload.alerts[0].somethingNew = { x: 1 };
			const response = await h.post(JSON.stringify(payload));
			expect(response.status).toBe(200);
			expect(response.body.alerts[0].outcome).toBe("created");
			const stored = await h.app.running.container.alerts.get(
				{ id: h.tenant.id, slug: h.tenant.slug, schema: `tenant_${h.tenant.slug}` },
				response.body.alerts[0].alertId,
			);
			expect(stored.alert.raw).toMatchObject({ somethingNew: { x: 1 }, fingerprint: "00000000000000aa" });
			// The body is kept once, byte for byte: the group's fields and the new ones with it.
			const body = JSON.stringify(payload);
			const { rows } = await sql<{ body: string; n: number }>`
				select body, (select count(*)::int from ${sql.table(`tenant_${h.tenant.slug}.alerts`)}
					where payload_id = p.id) as n
				from ${sql.table(`tenant_${h.tenant.slug}.webhook_payloads`)} p where body = ${body}`.execute(
				h.app.database.db,
			);
			expect(rows).toEqual([{ body, n: 1 }]);
			expect(JSON.parse(rows[0]!.body)).toMatchObject({ notification_reason: "new", routeLabels: { team: "db" } });
		});
	});
}

lifecycle(`Alertmanager fixtures end to end (${backendName})`, () => ({}));

if (testRedisUrl) {
	// Redis vanishes after the first delivery: dedup must stay right on PostgreSQL alone.
	let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
	const url = new URL(testRedisUrl);
	beforeAll(async () => {
		proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 6379) });
	});
	lifecycle(
		`Alertmanager fixtures with Redis stopped mid-test (${backendName})`,
		() => ({ OPSWATCH_REDIS_URL: `redis://127.0.0.1:${proxy.port}` }),
		() => proxy.stop(),
	);
}
