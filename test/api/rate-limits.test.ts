import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";

/** Budgets per API key and per tenant: beyond them, 429 with Retry-After, naming which budget ran out. */

let app: TestApp;
beforeAll(async () => {
	app = await startTestApp({ env: { OPSWATCH_RATE_LIMIT_PER_KEY: "3", OPSWATCH_RATE_LIMIT_PER_TENANT: "5" } });
});
afterAll(() => app?.close());

describe(`rate limits (${backendName})`, () => {
	it("refuses a key past its budget, then the tenant past its budget, and leaves other tenants alone", async () => {
		const a = await app.newTenant("limited");
		const b = await app.newTenant("unlimited");
		const me = (key: string) => app.request("GET", "/api/v1/me", { key });
		const first = a.adminKey;
		// newTenant made the admin key; minting a second costs the platform-admin token nothing.
		const second = await a.keyFor("engineer");

		for (let i = 0; i < 3; i++) expect((await me(first)).status).toBe(200);
		const refused = await me(first);
		expect(refused.status).toBe(429);
		expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
		expect(refused.body.error).toMatchObject({
			code: "rate_limited",
			message: "Too many requests for this API key (at most 3 per minute): retry later",
		});

		// The tenant has had 4 of its 5: the other key gets one more, then the tenant is out.
		expect((await me(second)).status).toBe(200);
		const tenantOut = await me(second);
		expect(tenantOut.status).toBe(429);
		expect(tenantOut.body.error.message).toBe(
			`Too many requests for tenant ${a.slug} (at most 5 per minute): retry later`,
		);

		// Another tenant draws from its own budget; a wrong key is 401, not 429.
		expect((await me(b.adminKey)).status).toBe(200);
		expect((await me("ow_not-a-real-key")).status).toBe(401);
	});
});

describe(`rate limits drawn in leases (${backendName})`, () => {
	let leasing: TestApp;
	beforeAll(async () => {
		// 200 and more is drawn from Redis 1% at a time and handed out from memory (platform/ratelimit/leased.ts).
		leasing = await startTestApp({
			env: { OPSWATCH_RATE_LIMIT_PER_KEY: "200", OPSWATCH_RATE_LIMIT_PER_TENANT: "300" },
		});
	});
	afterAll(() => leasing?.close());

	it("lets exactly the budget through, then refuses the key, then the tenant", async () => {
		const tenant = await leasing.newTenant("leasing");
		const second = await tenant.keyFor("engineer");
		const me = (key: string) => leasing.request("GET", "/api/v1/me", { key });
		const statuses = async (key: string, n: number) => {
			const counts = new Map<number, number>();
			for (let i = 0; i < n; i++) {
				const { status } = await me(key);
				counts.set(status, (counts.get(status) ?? 0) + 1);
			}
			return Object.fromEntries(counts);
		};
		expect(await statuses(tenant.adminKey, 201)).toEqual({ 200: 200, 429: 1 });
		// The tenant has had 201 of its 300: the key's refused request counted against it too.
		expect(await statuses(second, 100)).toEqual({ 200: 99, 429: 1 });
		const tenantOut = await me(second);
		expect(tenantOut.body.error.message).toBe(
			`Too many requests for tenant ${tenant.slug} (at most 300 per minute): retry later`,
		);
	});
});
