import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../harness/app.ts";
import { backendName, testDatabaseUrl, testRedisUrl } from "../harness/backend.ts";

/**
 * Two API replicas of one deployment (PostgreSQL + Redis). On the embedded default there is only
 * ever one process, so there the same file checks that a single process forgets a revoked key.
 */
let first: TestApp;
let second: TestApp | undefined;
const replicated = Boolean(testDatabaseUrl && testRedisUrl);

beforeAll(async () => {
	first = await startTestApp();
	if (replicated) second = await startTestApp({ replicaOf: first });
});
afterAll(async () => {
	await second?.close();
	await first?.close();
});

describe(`API key revocation across processes (${backendName})`, () => {
	it("refuses a revoked key at once in every process that had it cached", async () => {
		const tenant = await first.newTenant("rev");
		const key = await tenant.keyFor("engineer");
		const other = second ?? first;
		// Both processes authenticate the key once, so both cache it.
		expect((await first.request("GET", "/api/v1/me", { key })).status).toBe(200);
		expect((await other.request("GET", "/api/v1/me", { key })).status).toBe(200);

		const keyId = (await first.request("GET", "/api/v1/me", { key })).body.apiKeyId;
		expect((await first.request("DELETE", `/api/v1/api-keys/${keyId}`, { key: tenant.adminKey })).status).toBe(200);

		expect((await first.request("GET", "/api/v1/me", { key })).status).toBe(401);
		// The other replica hears of it over Redis within moments, long before its cache would expire.
		await expect
			.poll(async () => (await other.request("GET", "/api/v1/me", { key })).status, { timeout: 3000 })
			.toBe(401);
	});
});
