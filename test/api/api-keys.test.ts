import { createHash } from "node:crypto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";

let app: TestApp;
let a: TestTenant;
let b: TestTenant;
beforeAll(async () => {
	app = await startTestApp();
	a = await app.newTenant("a");
	b = await app.newTenant("b");
});
afterAll(() => app?.close());

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe(`API keys (${backendName})`, () => {
	it("shows a new key once and stores only its SHA-256", async () => {
		const created = await app.request("POST", "/api/v1/api-keys", {
			key: a.adminKey,
			json: { role: "engineer", description: "alertmanager" },
		});
		expect(created.status).toBe(201);
		const { key, apiKey } = created.body;
		expect(key).toMatch(/^ow_[A-Za-z0-9_-]{43}$/);
		expect(apiKey).toMatchObject({ role: "engineer", description: "alertmanager", prefix: key.slice(0, 11) });

		const { rows } = await sql<Record<string, unknown>>`
			select * from public.api_keys where id = ${apiKey.id}`.execute(app.database.db);
		expect(rows).toHaveLength(1);
		expect(rows[0]!.key_hash).toBe(sha256(key));
		// No column holds the key itself (the prefix is a fragment, never the whole key).
		expect(JSON.stringify(rows[0])).not.toContain(key);

		const listed = await app.request("GET", "/api/v1/api-keys", { key: a.adminKey });
		expect(listed.status).toBe(200);
		expect(listed.text).not.toContain(key);
		expect(listed.body.apiKeys.map((k: { id: string }) => k.id)).toContain(apiKey.id);

		const me = await app.request("GET", "/api/v1/me", { key });
		expect(me.body).toEqual({ tenant: { id: a.id, slug: a.slug }, role: "engineer", apiKeyId: apiKey.id });
	});

	it("accepts the key as X-API-Key and as Authorization: Bearer (Alertmanager 0.25)", async () => {
		const viaHeader = await app.request("GET", "/api/v1/me", { headers: { "x-api-key": a.adminKey } });
		const viaBearer = await app.request("GET", "/api/v1/me", { headers: { authorization: `Bearer ${a.adminKey}` } });
		expect(viaHeader.status).toBe(200);
		expect(viaBearer.status).toBe(200);
		expect(viaBearer.body.tenant.slug).toBe(a.slug);
	});

	it("records when a key was last used", async () => {
		const { key, apiKey } = (
			await app.request("POST", "/api/v1/api-keys", { key: a.adminKey, json: { role: "readonly" } })
		).body;
		expect(apiKey.lastUsedAt).toBeNull();
		await app.request("GET", "/api/v1/me", { key });
		await expect
			.poll(async () => {
				const listed = await app.request("GET", "/api/v1/api-keys", { key: a.adminKey });
				return listed.body.apiKeys.find((k: { id: string }) => k.id === apiKey.id).lastUsedAt;
			})
			.not.toBeNull();
	});

	it.each([
		["no credential", {}, "auth.missing_credential"],
		["an unknown key", { "x-api-key": `ow_${"x".repeat(43)}` }, "auth.invalid_credential"],
		["a malformed key", { "x-api-key": "hunter2" }, "auth.invalid_credential"],
		["a non-Bearer Authorization", { authorization: "Basic dXNlcjpwYXNz" }, "auth.missing_credential"],
	])("answers 401 for %s", async (_why, headers, code) => {
		const response = await app.request("GET", "/api/v1/api-keys", { headers: headers as Record<string, string> });
		expect(response.status).toBe(401);
		expect(response.body.error.code).toBe(code);
		expect(response.body.error.requestId).toBe(response.headers.get("x-request-id"));
	});

	it("refuses a revoked key at once, and an unauthenticated request writes nothing", async () => {
		const { key, apiKey } = (
			await app.request("POST", "/api/v1/api-keys", { key: a.adminKey, json: { role: "admin" } })
		).body;
		expect((await app.request("GET", "/api/v1/me", { key })).status).toBe(200);

		const revoked = await app.request("DELETE", `/api/v1/api-keys/${apiKey.id}`, { key: a.adminKey });
		expect(revoked.status).toBe(200);
		expect(revoked.body.apiKey.revokedAt).not.toBeNull();

		const after = await app.request("GET", "/api/v1/me", { key });
		expect(after.status).toBe(401);
		expect(after.body.error.code).toBe("auth.key_revoked");

		const keysBefore = (await app.request("GET", "/api/v1/api-keys", { key: a.adminKey })).body.apiKeys.length;
		const write = await app.request("POST", "/api/v1/api-keys", { key, json: { role: "admin" } });
		expect(write.status).toBe(401);
		const keysAfter = (await app.request("GET", "/api/v1/api-keys", { key: a.adminKey })).body.apiKeys.length;
		expect(keysAfter).toBe(keysBefore);

		const audit = await app.running.container.tenants.listAudit(a.slug);
		expect(audit.find((row) => row.action === "apikey.revoke" && row.targetId === apiKey.id)).toMatchObject({
			actorType: "api_key",
			actorRole: "admin",
		});
	});

	it("refuses a key of the wrong role with 403 and writes nothing", async () => {
		const engineer = await a.keyFor("engineer");
		const readonly = await a.keyFor("readonly");
		const before = (await app.request("GET", "/api/v1/api-keys", { key: a.adminKey })).body.apiKeys.length;

		for (const key of [engineer, readonly]) {
			const create = await app.request("POST", "/api/v1/api-keys", { key, json: { role: "admin" } });
			expect(create.status).toBe(403);
			expect(create.body.error.code).toBe("auth.permission_denied");
			expect(create.body.error.message).toMatch(/lacks the permission apikeys.manage/);
			expect((await app.request("GET", "/api/v1/api-keys", { key })).status).toBe(403);
		}
		expect((await app.request("GET", "/api/v1/me", { key: readonly })).status).toBe(200);
		const after = (await app.request("GET", "/api/v1/api-keys", { key: a.adminKey })).body.apiKeys.length;
		expect(after).toBe(before);
	});

	it("keeps tenant A's key away from tenant B's rows", async () => {
		const bKeys = (await app.request("GET", "/api/v1/api-keys", { key: b.adminKey })).body.apiKeys;
		const bKeyId = bKeys[0].id as string;

		const aList = (await app.request("GET", "/api/v1/api-keys", { key: a.adminKey })).body.apiKeys;
		expect(aList.map((k: { id: string }) => k.id)).not.toContain(bKeyId);
		expect(aList.every((k: { id: string }) => !bKeys.some((bk: { id: string }) => bk.id === k.id))).toBe(true);

		const revokeB = await app.request("DELETE", `/api/v1/api-keys/${bKeyId}`, { key: a.adminKey });
		expect(revokeB.status).toBe(404);
		expect(revokeB.body.error.code).toBe("apikey.not_found");
		expect((await app.request("GET", "/api/v1/me", { key: b.adminKey })).status).toBe(200);

		// Nothing about B landed in A's audit log, and B's audit log holds no action of A's keys.
		const aAudit = await app.running.container.tenants.listAudit(a.slug);
		expect(aAudit.some((row) => row.targetId === bKeyId)).toBe(false);
		const bAudit = await app.running.container.tenants.listAudit(b.slug);
		expect(
			bAudit.every((row) => row.actorType !== "api_key" || bKeys.some((k: { id: string }) => k.id === row.actorId)),
		).toBe(true);

		// A tenant's key never acts through the admin API on another tenant.
		const viaAdmin = await app.request("POST", `/api/v1/admin/tenants/${b.slug}/api-keys`, {
			key: a.adminKey,
			json: { role: "admin" },
		});
		expect(viaAdmin.status).toBe(403);
		expect((await app.request("GET", "/api/v1/api-keys", { key: b.adminKey })).body.apiKeys).toHaveLength(bKeys.length);
	});

	it("does not let the platform-admin token act inside a tenant", async () => {
		const response = await app.request("GET", "/api/v1/api-keys", { key: app.adminToken });
		expect(response.status).toBe(403);
		expect(response.body.error.code).toBe("auth.tenant_credential_required");
	});

	it("validates key creation input", async () => {
		const badRole = await app.request("POST", "/api/v1/api-keys", { key: a.adminKey, json: { role: "root" } });
		expect(badRole.status).toBe(400);
		expect(badRole.body.error.fields[0].path).toBe("body.role");
		const badId = await app.request("DELETE", "/api/v1/api-keys/not-a-uuid", { key: a.adminKey });
		expect(badId.status).toBe(400);
		expect(badId.body.error.fields[0].path).toBe("params.id");
		const unknownTenant = await app.request("POST", "/api/v1/admin/tenants/nosuch/api-keys", {
			key: app.adminToken,
			json: { role: "admin" },
		});
		expect(unknownTenant.status).toBe(404);
	});
});
