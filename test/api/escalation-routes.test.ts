// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are read freely
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";

let app: TestApp;
let tenant: TestTenant;
let other: TestTenant;
const ids: Record<string, string> = {};

const call = (method: string, path: string, json?: unknown, key = tenant.adminKey) =>
	app.request(method, path, { key, ...(json !== undefined && { json }) });

async function newPolicy(t: TestTenant, name: string): Promise<string> {
	const member = await call(
		"POST",
		"/api/v1/members",
		{ name, email: `${name}@example.com`, timeZone: "UTC" },
		t.adminKey,
	);
	const policy = await call(
		"POST",
		"/api/v1/escalation-policies",
		{
			name,
			tiers: [
				{ timeoutSeconds: 300, targets: [{ type: "member", memberId: member.body.member.id, channels: ["inbox"] }] },
			],
		},
		t.adminKey,
	);
	expect(policy.status, policy.text).toBe(201);
	return policy.body.policy.id;
}

beforeAll(async () => {
	app = await startTestApp();
	tenant = await app.newTenant("routes");
	other = await app.newTenant("routesother");
	ids.db = await newPolicy(tenant, "database");
	ids.fallback = await newPolicy(tenant, "everything");
	ids.theirs = await newPolicy(other, "theirs");
});
afterAll(() => app?.close());

describe(`escalation routes (${backendName})`, () => {
	const dbRoute = { matchers: [{ label: "service", op: "=~", value: "postgres|mysql" }], policyId: "" };

	it("routes alerts by label matchers in order, with a default, and audits the change", async () => {
		const routes = { routes: [{ ...dbRoute, policyId: ids.db }], defaultPolicyId: ids.fallback };
		const put = await call("PUT", "/api/v1/escalation-routes", routes);
		expect(put.status, put.text).toBe(200);
		expect(put.body).toEqual(routes);
		expect((await call("GET", "/api/v1/escalation-routes")).body).toEqual(routes);

		const fire = async (labels: Record<string, string>) => {
			const r = await call("POST", "/api/v1/webhooks/generic", { title: "x", severity: "critical", labels });
			const alertId = r.body.alerts[0].alertId;
			return (await call("GET", `/api/v1/alerts/${alertId}/escalation`)).body.escalation;
		};
		expect(await fire({ service: "postgres" })).toMatchObject({ policyId: ids.db, policyName: "database" });
		expect(await fire({ service: "redis" })).toMatchObject({ policyId: ids.fallback, policyName: "everything" });

		const { rows } = await sql`
			select action from ${sql.table(`tenant_${tenant.slug}.audit_log`)}
			where action = 'escalation_routes.replace'`.execute(app.database.db);
		expect(rows).toHaveLength(1);
	});

	it("refuses bad routes with a 4xx naming the field, and changes nothing", async () => {
		const before = (await call("GET", "/api/v1/escalation-routes")).body;
		const cases: [unknown, number, string][] = [
			[
				{ routes: [{ ...dbRoute, policyId: crypto.randomUUID() }], defaultPolicyId: null },
				422,
				"body.routes.0.policyId",
			],
			[{ routes: [{ ...dbRoute, policyId: ids.theirs }], defaultPolicyId: null }, 422, "body.routes.0.policyId"],
			[{ routes: [], defaultPolicyId: ids.theirs }, 422, "body.defaultPolicyId"],
			[{ routes: [{ matchers: [], policyId: ids.db }], defaultPolicyId: null }, 400, "body.routes.0.matchers"],
			[
				{ routes: [{ matchers: [{ label: "a", op: "=~", value: "(" }], policyId: ids.db }], defaultPolicyId: null },
				400,
				"body.routes.0.matchers.0.value",
			],
			[{ routes: [{ ...dbRoute, policyId: "not-a-uuid" }], defaultPolicyId: null }, 400, "body.routes.0.policyId"],
			[{ routes: [] }, 400, "body.defaultPolicyId"],
		];
		for (const [body, status, field] of cases) {
			const response = await call("PUT", "/api/v1/escalation-routes", body);
			expect(response.status, JSON.stringify(body)).toBe(status);
			expect(response.body.error.fields.map((f: any) => f.path)).toContain(field);
		}
		expect((await call("GET", "/api/v1/escalation-routes")).body).toEqual(before);
	});

	it("engineers read routes but may not change them", async () => {
		const engineer = await tenant.keyFor("engineer");
		expect((await call("GET", "/api/v1/escalation-routes", undefined, engineer)).status).toBe(200);
		const put = await call("PUT", "/api/v1/escalation-routes", { routes: [], defaultPolicyId: null }, engineer);
		expect(put.status).toBe(403);
	});

	it("shows another tenant neither this tenant's escalations nor its members' pages", async () => {
		const fired = await call("POST", "/api/v1/webhooks/generic", { title: "mine", severity: "critical" });
		const alertId = fired.body.alerts[0].alertId;
		expect((await call("GET", `/api/v1/alerts/${alertId}/escalation`)).status).toBe(200);
		const theirView = await call("GET", `/api/v1/alerts/${alertId}/escalation`, undefined, other.adminKey);
		expect(theirView.status).toBe(404);

		const members = (await call("GET", "/api/v1/members")).body.members;
		const inbox = await call("GET", `/api/v1/members/${members[0].id}/notifications`);
		expect(inbox.status).toBe(200);
		const theirInbox = await call("GET", `/api/v1/members/${members[0].id}/notifications`, undefined, other.adminKey);
		expect(theirInbox.status).toBe(404);
		const theirRoutes = (await call("GET", "/api/v1/escalation-routes", undefined, other.adminKey)).body;
		expect(theirRoutes).toEqual({ routes: [], defaultPolicyId: null });
	});
});
