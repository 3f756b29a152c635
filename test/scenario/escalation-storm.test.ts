import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";

/**
 * An alert storm must not lose escalation starts: 1,000 critical alerts in 10 concurrent requests
 * (on PostgreSQL the test database's pool has 5 connections) start 1,000 escalations. Starting one
 * transaction per alert once ran the pool dry and dropped starts.
 */
let app: TestApp;
let tenant: TestTenant;

beforeAll(async () => {
	app = await startTestApp();
	tenant = await app.newTenant("storm");
	const call = (method: string, path: string, json: unknown) =>
		app.request(method, path, { key: tenant.adminKey, json });
	const member = await call("POST", "/api/v1/members", { name: "Ada", email: "ada@example.com", timeZone: "UTC" });
	const policy = await call("POST", "/api/v1/escalation-policies", {
		name: "Inbox",
		tiers: [
			{ timeoutSeconds: 600, targets: [{ type: "member", memberId: member.body.member.id, channels: ["inbox"] }] },
		],
	});
	await call("PUT", "/api/v1/escalation-routes", { routes: [], defaultPolicyId: policy.body.policy.id });
});
afterAll(() => app?.close());

describe(`an alert storm (${backendName})`, () => {
	it("starts an escalation for every one of 1,000 critical alerts sent by 10 requests at once", async () => {
		const responses = await Promise.all(
			Array.from({ length: 10 }, (_, r) =>
				app.request("POST", "/api/v1/webhooks/generic", {
					key: tenant.adminKey,
					json: Array.from({ length: 100 }, (_, i) => ({
						title: `Storm ${r * 100 + i}`,
						severity: "critical",
						labels: { n: String(r * 100 + i) },
					})),
				}),
			),
		);
		expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
		const { rows } = await sql<{ n: number }>`
			select count(*)::int as n from ${sql.table(`tenant_${tenant.slug}.escalations`)}`.execute(app.database.db);
		expect(rows[0]?.n).toBe(1000);
		await app.running.container.escalations.settled();
		const inbox = await sql<{ n: number }>`
			select count(*)::int as n from ${sql.table(`tenant_${tenant.slug}.notifications`)}
			where channel = 'inbox' and status = 'sent'`.execute(app.database.db);
		expect(inbox.rows[0]?.n).toBe(1000);
	});
});
