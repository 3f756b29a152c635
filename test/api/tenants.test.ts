import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";

let app: TestApp;
beforeAll(async () => {
	app = await startTestApp();
});
afterAll(() => app?.close());

async function schemaExists(schema: string): Promise<boolean> {
	const { rows } = await sql<{ n: number }>`
		select count(*)::int as n from information_schema.schemata where schema_name = ${schema}`.execute(app.database.db);
	return rows[0]!.n === 1;
}

const listSlugs = async (): Promise<string[]> =>
	(await app.request("GET", "/api/v1/admin/tenants", { key: app.adminToken })).body.tenants.map(
		(t: { slug: string }) => t.slug,
	);

describe(`tenants (${backendName})`, () => {
	it("creates a tenant with its own migrated schema and an audit row there", async () => {
		const created = await app.request("POST", "/api/v1/admin/tenants", {
			key: app.adminToken,
			json: { slug: "acme_ops", name: "ACME Operations" },
		});
		expect(created.status).toBe(201);
		expect(created.body.tenant).toMatchObject({ slug: "acme_ops", name: "ACME Operations" });
		expect(await schemaExists("tenant_acme_ops")).toBe(true);

		const { rows: migrations } = await sql<{ version: string }>`
			select version from tenant_acme_ops.schema_migrations order by version`.execute(app.database.db);
		expect(migrations.map((m) => m.version)).toContain("0001");

		const audit = await app.running.container.tenants.listAudit("acme_ops");
		expect(audit).toHaveLength(1);
		expect(audit[0]).toMatchObject({ action: "tenant.create", actorType: "platform_admin", targetType: "tenant" });
		expect(audit[0]!.requestId).toBe(created.headers.get("x-request-id"));

		expect(await listSlugs()).toContain("acme_ops");
		const one = await app.request("GET", "/api/v1/admin/tenants/acme_ops", { key: app.adminToken });
		expect(one.status).toBe(200);
		expect(one.body.tenant.id).toBe(created.body.tenant.id);
	});

	it.each([
		["upper case", "Acme"],
		["SQL in the slug", "tenant_a; drop schema"],
		["41 characters", `a${"b".repeat(40)}`],
		["leading digit", "1acme"],
		["empty", ""],
	])("rejects an invalid slug (%s) with 400 naming the field, writing nothing", async (_why, slug) => {
		const before = await listSlugs();
		const response = await app.request("POST", "/api/v1/admin/tenants", { key: app.adminToken, json: { slug } });
		expect(response.status).toBe(400);
		expect(response.body.error.code).toBe("request.invalid");
		expect(response.body.error.fields[0].path).toBe("body.slug");
		expect(response.body.error.message).toMatch(/slug/);
		expect(await listSlugs()).toEqual(before);
		expect(await schemaExists(`tenant_${slug.toLowerCase()}`)).toBe(false);
	});

	it("rejects a duplicate tenant with 409 and leaves the first one intact", async () => {
		const first = await app.request("POST", "/api/v1/admin/tenants", { key: app.adminToken, json: { slug: "dup" } });
		expect(first.status).toBe(201);
		const second = await app.request("POST", "/api/v1/admin/tenants", {
			key: app.adminToken,
			json: { slug: "dup", name: "Other" },
		});
		expect(second.status).toBe(409);
		expect(second.body.error).toMatchObject({ code: "tenant.slug_taken", message: 'Tenant "dup" already exists' });
		const one = await app.request("GET", "/api/v1/admin/tenants/dup", { key: app.adminToken });
		expect(one.body.tenant).toMatchObject({ id: first.body.tenant.id, name: "dup" });
		expect((await app.running.container.tenants.listAudit("dup")).length).toBe(1);
	});

	it("rejects unknown fields instead of silently ignoring them", async () => {
		const response = await app.request("POST", "/api/v1/admin/tenants", {
			key: app.adminToken,
			json: { slug: "typo", nmae: "Typo" },
		});
		expect(response.status).toBe(400);
		expect(response.body.error.message).toMatch(/nmae/);
		expect(await listSlugs()).not.toContain("typo");
	});

	it("answers 404 for a tenant that does not exist", async () => {
		const response = await app.request("GET", "/api/v1/admin/tenants/nosuch", { key: app.adminToken });
		expect(response.status).toBe(404);
		expect(response.body.error.code).toBe("tenant.not_found");
	});

	it("keeps the admin API to the platform-admin credential", async () => {
		const tenant = await app.newTenant();
		const anonymous = await app.request("POST", "/api/v1/admin/tenants", { json: { slug: "anon" } });
		expect(anonymous.status).toBe(401);
		expect(anonymous.headers.get("www-authenticate")).toMatch(/Bearer/);
		const wrong = await app.request("GET", "/api/v1/admin/tenants", { key: "not-the-admin-token" });
		expect(wrong.status).toBe(401);
		const tenantAdmin = await app.request("POST", "/api/v1/admin/tenants", {
			key: tenant.adminKey,
			json: { slug: "by_tenant_admin" },
		});
		expect(tenantAdmin.status).toBe(403);
		expect(tenantAdmin.body.error.code).toBe("auth.platform_admin_required");
		expect(await listSlugs()).not.toContain("anon");
		expect(await listSlugs()).not.toContain("by_tenant_admin");
	});
});
