import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Role, roleHasPermission, roles } from "../../src/tenant/index.ts";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";

let app: TestApp;
let tenant: TestTenant;
const keys = new Map<Role, string>();

beforeAll(async () => {
	app = await startTestApp();
	tenant = await app.newTenant();
	for (const role of roles) keys.set(role, await tenant.keyFor(role));
});
afterAll(() => app?.close());

/** A concrete URL for a route template: unknown ids, so allowed requests end in 404/400, not in changes. */
const concrete = (template: string) =>
	template.replace(/:id\b/g, "00000000-0000-4000-8000-000000000000").replace(/:slug\b/g, tenant.slug);

describe(`every route declares its permission and enforces it (${backendName})`, () => {
	it("registers no route without a declared auth requirement", () => {
		const catalog = app.running.app.routeCatalog;
		expect(catalog.length).toBeGreaterThan(10);
		for (const entry of catalog) expect(entry.auth, `${entry.method} ${entry.url}`).toBeDefined();
	});

	it("allows exactly the roles of the permission table on every tenant route", async () => {
		const tenantRoutes = app.running.app.routeCatalog.filter(
			(entry) => typeof entry.auth === "object" && entry.method !== "HEAD",
		);
		expect(tenantRoutes.length).toBeGreaterThan(0);
		for (const route of tenantRoutes) {
			const permission = (route.auth as { permission: Parameters<typeof roleHasPermission>[1] }).permission;
			for (const role of roles) {
				const allowed = roleHasPermission(role, permission);
				const response = await app.request(route.method, concrete(route.url), {
					key: keys.get(role)!,
					...(["POST", "PUT", "PATCH"].includes(route.method) && { json: {} }),
					headersOnly: allowed,
				});
				const where = `${role} → ${route.method} ${route.url} (${permission})`;
				if (allowed) {
					expect([401, 403], where).not.toContain(response.status);
				} else {
					expect(response.status, where).toBe(403);
					expect(response.body.error.code, where).toBe("auth.permission_denied");
				}
				const anonymous = await app.request(route.method, concrete(route.url));
				expect(anonymous.status, `anonymous → ${route.method} ${route.url}`).toBe(401);
			}
		}
	});

	it("keeps every admin route to the platform-admin credential", async () => {
		const adminRoutes = app.running.app.routeCatalog.filter(
			(entry) => entry.auth === "platform_admin" && entry.method !== "HEAD",
		);
		expect(adminRoutes.map((r) => r.url)).toContain("/api/v1/admin/tenants");
		for (const route of adminRoutes) {
			expect(route.url.startsWith("/api/v1/admin/"), route.url).toBe(true);
			for (const role of roles) {
				const response = await app.request(route.method, concrete(route.url), {
					key: keys.get(role)!,
					...(route.method === "POST" && { json: {} }),
				});
				expect(response.status, `${role} → ${route.method} ${route.url}`).toBe(403);
			}
		}
	});
});
