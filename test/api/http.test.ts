import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";

let app: TestApp;
let tenant: TestTenant;
beforeAll(async () => {
	app = await startTestApp({ env: { OPSWATCH_BODY_LIMIT_BYTES: "4096" } });
	tenant = await app.newTenant();
});
afterAll(() => app?.close());

const keyCount = async () =>
	(await app.request("GET", "/api/v1/api-keys", { key: tenant.adminKey })).body.apiKeys.length;

describe(`HTTP behaviour (${backendName})`, () => {
	it("answers malformed JSON with 400 and writes nothing", async () => {
		const before = await keyCount();
		const response = await app.request("POST", "/api/v1/api-keys", {
			key: tenant.adminKey,
			body: '{"role": "admin",',
			headers: { "content-type": "application/json" },
		});
		expect(response.status).toBe(400);
		expect(response.body.error.code).toBe("request.malformed_json");
		expect(response.body.error.message).toMatch(/not valid JSON/);
		expect(await keyCount()).toBe(before);
	});

	it("answers a wrong content type with 415 and writes nothing", async () => {
		const before = await keyCount();
		const response = await app.request("POST", "/api/v1/api-keys", {
			key: tenant.adminKey,
			body: "role=admin",
			headers: { "content-type": "application/x-www-form-urlencoded" },
		});
		expect(response.status).toBe(415);
		expect(response.body.error.code).toBe("request.unsupported_media_type");
		expect(await keyCount()).toBe(before);
	});

	it("answers an empty JSON body with 400", async () => {
		const response = await app.request("POST", "/api/v1/api-keys", {
			key: tenant.adminKey,
			body: "",
			headers: { "content-type": "application/json" },
		});
		expect(response.status).toBe(400);
		expect(response.body.error.code).toBe("request.empty_body");
	});

	it("answers a body over the configured limit with 413 and writes nothing", async () => {
		const before = await keyCount();
		const response = await app.request("POST", "/api/v1/api-keys", {
			key: tenant.adminKey,
			json: { role: "admin", description: "x".repeat(5000) },
		});
		expect(response.status).toBe(413);
		expect(response.body.error).toMatchObject({ code: "request.body_too_large" });
		expect(response.body.error.message).toContain("4096 bytes");
		expect(await keyCount()).toBe(before);
	});

	it("checks credentials before reading the body", async () => {
		const response = await app.request("POST", "/api/v1/api-keys", {
			body: "{not json",
			headers: { "content-type": "application/json" },
		});
		expect(response.status).toBe(401);
	});

	it("puts a request id on every response and keeps a sane incoming one", async () => {
		const generated = await app.request("GET", "/healthz");
		expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
		const kept = await app.request("GET", "/api/v1/me", {
			key: tenant.adminKey,
			headers: { "x-request-id": "trace-abc.123" },
		});
		expect(kept.headers.get("x-request-id")).toBe("trace-abc.123");
		const replaced = await app.request("GET", "/healthz", { headers: { "x-request-id": "bad id with spaces" } });
		expect(replaced.headers.get("x-request-id")).not.toBe("bad id with spaces");
	});

	it("answers an unknown route with 404 in the error format", async () => {
		const response = await app.request("GET", "/api/v1/nothing-here?x=1");
		expect(response.status).toBe(404);
		expect(response.body.error).toMatchObject({
			code: "route.not_found",
			message: "No route GET /api/v1/nothing-here",
		});
		expect(response.body.error.requestId).toBe(response.headers.get("x-request-id"));
	});

	it("serves liveness and readiness", async () => {
		expect((await app.request("GET", "/healthz")).body).toEqual({ status: "ok" });
		const ready = await app.request("GET", "/readyz");
		expect(ready.status).toBe(200);
		expect(ready.body.checks.database).toBe("ok");
		if (app.config.redisUrl) expect(ready.body.checks.redis).toBe("ok");
	});

	it("labels request metrics with the route template, never the raw URL", async () => {
		const id = "00000000-0000-4000-8000-000000000000";
		await app.request("DELETE", `/api/v1/api-keys/${id}`, { key: tenant.adminKey });
		const metrics = await app.request("GET", "/metrics");
		expect(metrics.status).toBe(200);
		expect(metrics.headers.get("content-type")).toMatch(/text\/plain/);
		expect(metrics.text).toMatch(
			/opswatch_api_request_duration_seconds_count\{method="DELETE",path="\/api\/v1\/api-keys\/:id",status="404"\} 1/,
		);
		expect(metrics.text).not.toContain(id);
		expect(metrics.text).toContain("process_resident_memory_bytes");
	});

	it("publishes an OpenAPI 3 document generated from the route schemas, and a docs page", async () => {
		const doc = await app.request("GET", "/api/v1/openapi.json");
		expect(doc.status).toBe(200);
		expect(doc.body.openapi).toMatch(/^3\./);
		expect(Object.keys(doc.body.paths)).toEqual(
			expect.arrayContaining(["/api/v1/admin/tenants", "/api/v1/api-keys", "/api/v1/api-keys/{id}", "/api/v1/me"]),
		);
		const create = doc.body.paths["/api/v1/admin/tenants"].post;
		const bodySchema = create.requestBody.content["application/json"].schema;
		expect(bodySchema.properties.slug.pattern).toBe("^[a-z][a-z0-9_]{0,39}$");
		expect(doc.body.paths["/healthz"]).toBeUndefined();
		// A path parameter is declared only where the path has it.
		const names = (path: string) =>
			(doc.body.paths[path].post.parameters ?? []).map((p: { name: string; in: string }) => `${p.in}:${p.name}`);
		expect(names("/api/v1/webhooks/alertmanager")).toEqual([]);
		expect(names("/api/v1/webhooks/alertmanager/{token}")).toEqual(["path:token"]);
		expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(["201", "400", "401", "403", "409", "413"]));
		expect(create.responses["409"].content["application/json"].schema.$ref).toBe("#/components/schemas/Error");
		expect(doc.body.components.schemas.Error.properties.error.required).toEqual(
			expect.arrayContaining(["code", "message", "requestId"]),
		);

		const page = await app.request("GET", "/api/docs/");
		expect(page.status).toBe(200);
		expect(page.headers.get("content-type")).toMatch(/text\/html/);
	});
});

describe(`readiness when a dependency is down (${backendName})`, () => {
	it("answers 503 naming Redis when Redis is unreachable", async () => {
		const broken = await startTestApp({ env: { OPSWATCH_REDIS_URL: "redis://127.0.0.1:1" } });
		try {
			const ready = await broken.request("GET", "/readyz");
			expect(ready.status).toBe(503);
			expect(ready.body.checks.redis).toMatch(/^failing/);
			expect(ready.body.checks.database).toBe("ok");
			expect(ready.body.message).toBe("Not ready: redis failing");
			expect((await broken.request("GET", "/healthz")).status).toBe(200);
		} finally {
			await broken.close();
		}
	});

	it("answers 503 naming the database when it is gone", async () => {
		const broken = await startTestApp();
		try {
			await broken.database.close();
			const ready = await broken.request("GET", "/readyz");
			expect(ready.status).toBe(503);
			expect(ready.body.checks.database).toMatch(/^failing/);
			expect(ready.body.message).toMatch(/database/);
			// A sender is told to come back (Alertmanager retries a 5xx, but drops a group on a 4xx).
			const tenantKey = `ow_${"a".repeat(43)}`;
			const webhook = await broken.request("POST", "/api/v1/webhooks/generic", {
				key: tenantKey,
				json: { title: "x" },
			});
			expect(webhook.status).toBe(503);
			expect(webhook.headers.get("retry-after")).toBe("5");
			expect(webhook.body.error.code).toBe("service.unavailable");
		} finally {
			await broken.close();
		}
	});
});
