import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";

const payload = readFileSync(new URL("../fixtures/alertmanager/firing-group-3-alerts.json", import.meta.url), "utf8");

let app: TestApp;
let a: TestTenant;
let b: TestTenant;
beforeAll(async () => {
	app = await startTestApp({ captureLogs: true });
	a = await app.newTenant("a");
	b = await app.newTenant("b");
});
afterAll(() => app?.close());

/** Posts as a sender that can set no header: only the URL carries the key. */
const postTo = (url: string) =>
	app.request("POST", url, { body: payload, headers: { "content-type": "application/json" } });
const count = async (tenant: TestTenant) =>
	(await app.request("GET", "/api/v1/alerts?limit=500", { key: tenant.adminKey })).body.alerts.length as number;

describe(`integration keys in the webhook URL (${backendName})`, () => {
	let url: string;
	let key: string;
	let keyId: string;

	it("creates a URL for one sender; alerts posted there land in its tenant", async () => {
		const created = await app.request("POST", "/api/v1/integrations", {
			key: a.adminKey,
			json: { source: "alertmanager", description: "prod Alertmanager" },
		});
		expect(created.status).toBe(201);
		({ url, key, apiKeyId: keyId } = created.body);
		expect(url).toBe(`/api/v1/webhooks/alertmanager/${key}`);

		const response = await postTo(url);
		expect(response.status).toBe(200);
		expect(response.body.alerts.map((x: { outcome: string }) => x.outcome)).toEqual(["created", "created", "created"]);
		expect(await count(a)).toBe(3);
		expect(await count(b)).toBe(0);

		const listed = (await app.request("GET", "/api/v1/api-keys", { key: a.adminKey })).body.apiKeys;
		expect(listed.find((k: { id: string }) => k.id === keyId)).toMatchObject({
			integration: "alertmanager",
			role: "engineer",
		});
	});

	it("never writes the key into a log line", () => {
		const text = app.logs.join("\n");
		expect(text).toContain("/api/v1/webhooks/alertmanager/ow_[redacted]");
		expect(text).not.toContain(key);
	});

	it("does nothing but send alerts to its own webhook", async () => {
		const keep = await app.request("POST", `/api/v1/webhooks/keep/${key}`, {
			json: { name: "x", status: "firing", severity: "info" },
		});
		expect(keep.status).toBe(403);
		expect(keep.body.error.code).toBe("webhook.wrong_integration");
		const read = await app.request("GET", "/api/v1/alerts", { key });
		expect(read.status).toBe(403);
		expect(read.body.error.code).toBe("auth.integration_key");
		expect(await count(a)).toBe(3);
	});

	it("another tenant's integration URL writes only to that tenant", async () => {
		const other = (
			await app.request("POST", "/api/v1/integrations", { key: b.adminKey, json: { source: "alertmanager" } })
		).body;
		const response = await postTo(other.url);
		expect(response.status).toBe(200);
		expect(await count(b)).toBe(3);
		expect(await count(a)).toBe(3);
	});

	it("refuses an unknown or revoked key in the URL, writing nothing", async () => {
		const unknown = await postTo(`/api/v1/webhooks/alertmanager/ow_${"x".repeat(43)}`);
		expect(unknown.status).toBe(401);
		expect((await app.request("DELETE", `/api/v1/api-keys/${keyId}`, { key: a.adminKey })).status).toBe(200);
		const revoked = await postTo(url);
		expect(revoked.status).toBe(401);
		expect(revoked.body.error.code).toBe("auth.key_revoked");
		const before = await count(a);
		expect(before).toBe(3);
	});

	it("rejects an unknown source and keeps integration keys to admins", async () => {
		const bad = await app.request("POST", "/api/v1/integrations", { key: a.adminKey, json: { source: "nagios" } });
		expect(bad.status).toBe(400);
		expect(bad.body.error.fields[0].path).toBe("body.source");
		const engineer = await a.keyFor("engineer");
		expect(
			(await app.request("POST", "/api/v1/integrations", { key: engineer, json: { source: "keep" } })).status,
		).toBe(403);
	});
});
