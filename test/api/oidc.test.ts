// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are read freely
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";
import { createTestClock } from "../harness/clock.ts";
import { type OidcPerson, OTHER_RESOURCE, startOidcProvider, type TestOidcProvider } from "../harness/oidc.ts";

/**
 * Bearer tokens of an OpenID Connect provider started here (oidc-provider): who the bearer is comes
 * from the token (tenant, role) and the tenant's members (role, member id); every forged, stale,
 * misdirected or unsigned token is refused with 401, and a token never reaches another tenant.
 */

const AUDIENCE = "https://opswatch.test/api";
// The provider stamps real time into its tokens; OpsWatch checks them against this clock.
const clock = createTestClock(new Date());
let idp: TestOidcProvider;
let app: TestApp;
let acme: TestTenant;
let other: TestTenant;
const ids: Record<string, string> = {};
const bearer = (token: string, method: string, path: string, json?: unknown) =>
	app.request(method, path, {
		headers: { authorization: `Bearer ${token}` },
		...(json !== undefined && { json }),
	});

// The provider reads these when it issues a token: the tenant slug is filled in once it exists.
const people: Record<string, OidcPerson> = {
	ada: { email: "Ada@Example.com" },
	rita: { email: "rita@example.com", roles: ["offline_access", "readonly"] },
	mia: { email: "mia@example.com" },
	nobody: { email: "nobody@example.com" },
	ghost: { email: "ada@example.com", tenant: "nosuchtenant" },
	boss: { email: "boss@example.com", roles: ["admin"] },
};

beforeAll(async () => {
	idp = await startOidcProvider({ audience: AUDIENCE, people });
	app = await startTestApp({
		clock,
		env: { OPSWATCH_OIDC_ISSUER: idp.issuer, OPSWATCH_OIDC_AUDIENCE: AUDIENCE },
	});
	acme = await app.newTenant("oidcacme");
	other = await app.newTenant("oidcother");
	for (const person of ["ada", "rita", "mia", "nobody", "boss"]) people[person]!.tenant = acme.slug;
	for (const [name, role] of [
		["ada", "engineer"],
		["rita", "engineer"],
		["mia", "manager"],
	] as const) {
		const created = await app.request("POST", "/api/v1/members", {
			key: acme.adminKey,
			json: { name, email: `${name}@example.com`, timeZone: "UTC", role },
		});
		expect(created.status, created.text).toBe(201);
		ids[name] = created.body.member.id;
	}
});
afterAll(async () => {
	await app?.close();
	await idp?.close();
});

describe(`OIDC bearer tokens (${backendName})`, () => {
	it("acts as the member with the token's e-mail address, in the token's tenant, with the member's role", async () => {
		const token = await idp.tokenFor("ada");
		const me = await bearer(token, "GET", "/api/v1/me");
		expect(me.status, me.text).toBe(200);
		expect(me.body).toEqual({
			tenant: { id: acme.id, slug: acme.slug },
			role: "engineer",
			user: { subject: "ada", email: "Ada@Example.com", memberId: ids.ada },
		});

		const fired = await app.request("POST", "/api/v1/webhooks/generic", {
			key: acme.adminKey,
			json: { title: "Disk full", severity: "warning" },
		});
		const alertId = fired.body.alerts[0].alertId;
		const ack = await bearer(token, "PATCH", `/api/v1/alerts/${alertId}/acknowledge`, {});
		expect(ack.status, ack.text).toBe(200);
		expect(ack.body.alert.acknowledgedBy).toBe(`member:${ids.ada}`);
		const audit = (await app.request("GET", "/api/v1/admin/audit-log", { key: acme.adminKey })).body.entries;
		const own = await bearer(token, "PUT", `/api/v1/members/${ids.ada}`, {});
		expect(own.status).toBe(403);
		expect(audit.length).toBeGreaterThan(0);
	});

	it("takes the role the token grants over the member's: a readonly token can't acknowledge", async () => {
		const token = await idp.tokenFor("rita");
		expect((await bearer(token, "GET", "/api/v1/me")).body.role).toBe("readonly");
		const fired = await app.request("POST", "/api/v1/webhooks/generic", {
			key: acme.adminKey,
			json: { title: "CPU hot", severity: "warning", labels: { host: "web-1" } },
		});
		const denied = await bearer(token, "PATCH", `/api/v1/alerts/${fired.body.alerts[0].alertId}/acknowledge`, {});
		expect(denied.status).toBe(403);
		expect(denied.body.error.code).toBe("auth.permission_denied");
		// The attempt is on the audit log, as the member with the role the token gave.
		const [refusal] = (
			await app.request("GET", "/api/v1/admin/audit-log?action=auth.permission_denied", { key: acme.adminKey })
		).body.entries;
		expect(refusal).toMatchObject({
			actorType: "member",
			actorId: ids.rita,
			actorRole: "readonly",
			targetType: "route",
			targetId: "PATCH /api/v1/alerts/:id/acknowledge",
		});
		expect(
			(await app.request("GET", `/api/v1/alerts/${fired.body.alerts[0].alertId}`, { key: acme.adminKey })).body.alert
				.status,
		).toBe("firing");
	});

	it("keeps roles to admins: a manager can't promote, an admin (by token) can; each change is audited as the member", async () => {
		const manager = await idp.tokenFor("mia");
		const ada = (await app.request("GET", `/api/v1/members/${ids.ada}`, { key: acme.adminKey })).body.member;
		const promote = (token: string) =>
			bearer(token, "PUT", `/api/v1/members/${ids.ada}`, {
				version: ada.version,
				name: ada.name,
				email: ada.email,
				timeZone: ada.timeZone,
				role: "admin",
			});
		const refused = await promote(manager);
		expect(refused.status).toBe(403);
		expect(refused.body.error).toMatchObject({
			code: "member.role_change_denied",
			message: "Only an admin changes a member's role (from engineer to admin)",
		});
		const newAdmin = await bearer(manager, "POST", "/api/v1/members", {
			name: "Eve",
			email: "eve@example.com",
			timeZone: "UTC",
			role: "admin",
		});
		expect(newAdmin.status).toBe(403);

		const boss = await idp.tokenFor("boss");
		const promoted = await promote(boss);
		expect(promoted.status, promoted.text).toBe(200);
		expect(promoted.body.member.role).toBe("admin");
		const [entry] = (
			await app.request("GET", `/api/v1/admin/audit-log?action=member.update&targetId=${ids.ada}`, {
				key: acme.adminKey,
			})
		).body.entries;
		// boss has no member record: recorded by the identity provider's subject, with the token's role.
		expect(entry).toMatchObject({
			actorType: "member",
			actorId: "oidc:boss",
			actorRole: "admin",
			before: { role: "engineer" },
			after: { role: "admin" },
		});
	});

	it("lets a manager change her own contact methods, never her role, and read her own inbox", async () => {
		const token = await idp.tokenFor("mia");
		const own = await bearer(token, "PATCH", "/api/v1/me/member", {
			contactMethods: [{ type: "sms", value: "+41790000001" }],
			timeZone: "Europe/Zurich",
		});
		expect(own.status, own.text).toBe(200);
		expect(own.body.member).toMatchObject({ id: ids.mia, timeZone: "Europe/Zurich", role: "manager" });
		const promote = await bearer(token, "PATCH", "/api/v1/me/member", { role: "admin" });
		expect(promote.status).toBe(403);
		expect(promote.body.error.code).toBe("member.role_change_denied");
		const [attempt] = (
			await app.request("GET", `/api/v1/admin/audit-log?action=member.role_change_denied&targetId=${ids.mia}`, {
				key: acme.adminKey,
			})
		).body.entries;
		expect(attempt).toMatchObject({ actorId: ids.mia, before: { role: "manager" }, after: { role: "admin" } });
		expect((await bearer(token, "PATCH", "/api/v1/me/member", { name: "Queen Ada" })).status).toBe(400);
		expect((await app.request("GET", `/api/v1/members/${ids.mia}`, { key: acme.adminKey })).body.member.role).toBe(
			"manager",
		);
		const viaKey = await app.request("PATCH", "/api/v1/me/member", { key: acme.adminKey, json: { timeZone: "UTC" } });
		expect(viaKey.status).toBe(422);

		// Her inbox: the pages an escalation sent her there.
		const policy = await app.request("POST", "/api/v1/escalation-policies", {
			key: acme.adminKey,
			json: {
				name: "Mia's inbox",
				tiers: [{ timeoutSeconds: 300, targets: [{ type: "member", memberId: ids.mia, channels: ["inbox"] }] }],
			},
		});
		await app.request("PUT", "/api/v1/escalation-routes", {
			key: acme.adminKey,
			json: { routes: [], defaultPolicyId: policy.body.policy.id },
		});
		await app.request("POST", "/api/v1/webhooks/generic", {
			key: acme.adminKey,
			json: { title: "Inbox me", severity: "critical", labels: { inbox: "1" } },
		});
		await app.running.container.escalations.settled();
		const inbox = await bearer(token, "GET", "/api/v1/me/notifications?channel=inbox");
		expect(inbox.status, inbox.text).toBe(200);
		expect(inbox.body.notifications).toEqual([
			expect.objectContaining({ memberId: ids.mia, channel: "inbox", title: "Inbox me", tier: 1 }),
		]);
		expect((await app.request("GET", "/api/v1/me/notifications", { key: acme.adminKey })).status).toBe(422);
	});

	it("never reaches another tenant: another tenant's ids are unknown, and its data unseen", async () => {
		const token = await idp.tokenFor("ada");
		const theirs = await app.request("POST", "/api/v1/webhooks/generic", {
			key: other.adminKey,
			json: { title: "Not yours", severity: "critical" },
		});
		const theirId = theirs.body.alerts[0].alertId;
		expect((await bearer(token, "GET", `/api/v1/alerts/${theirId}`)).status).toBe(404);
		expect((await bearer(token, "PATCH", `/api/v1/alerts/${theirId}/acknowledge`, {})).status).toBe(404);
		const listed = (await bearer(token, "GET", "/api/v1/alerts?limit=100")).body.alerts.map((a: any) => a.id);
		expect(listed).not.toContain(theirId);
	});

	it("refuses expired, not-yet-valid, forged, misdirected and unsigned tokens with 401, naming why", async () => {
		const now = Math.floor(clock.now().getTime() / 1000);
		const claims = { sub: "ada", email: "ada@example.com", tenant: acme.slug };
		const valid = await idp.sign({ ...claims, iat: now, exp: now + 300 });
		expect((await bearer(valid, "GET", "/api/v1/me")).status).toBe(200);

		const [header, payload, signature] = valid.split(".");
		const forgedPayload = Buffer.from(
			JSON.stringify({ ...JSON.parse(Buffer.from(payload!, "base64url").toString()), roles: ["admin"] }),
		).toString("base64url");
		const unsigned = `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${payload}.`;
		const hmac = await (async () => {
			const { SignJWT } = await import("jose");
			return new SignJWT({ ...claims, iss: idp.issuer, aud: AUDIENCE, exp: now + 300 })
				.setProtectedHeader({ alg: "HS256" })
				.sign(new TextEncoder().encode("the issuer's public key, misused as an HMAC secret"));
		})();
		const cases: [string, string, RegExp][] = [
			["expired", await idp.sign({ ...claims, iat: now - 900, exp: now - 600 }), /has expired/],
			["not yet valid", await idp.sign({ ...claims, iat: now, nbf: now + 600, exp: now + 900 }), /not valid yet/],
			["forged", `${header}.${forgedPayload}.${signature}`, /signature does not verify/],
			["wrong audience", await idp.tokenFor("ada", { resource: OTHER_RESOURCE }), /another audience/],
			["wrong issuer", await idp.sign({ ...claims, iss: "https://evil.example", exp: now + 300 }), /another issuer/],
			["alg none", unsigned, /not valid|algorithm/],
			["HMAC", hmac, /algorithm is not allowed/],
		];
		for (const [what, token, message] of cases) {
			const response = await bearer(token, "GET", "/api/v1/me");
			expect(response.status, what).toBe(401);
			expect(response.body.error.code, what).toBe("auth.invalid_token");
			expect(response.body.error.message, what).toMatch(message);
			expect(response.text, what).not.toContain(token);
		}

		// A real token, later: expired by OpsWatch's clock (skew 30 s allowed, TTL 300 s).
		const token = await idp.tokenFor("ada");
		const before = clock.now();
		clock.advance("6m");
		const late = await bearer(token, "GET", "/api/v1/me");
		expect(late.status).toBe(401);
		expect(late.body.error.message).toBe("The token has expired");
		clock.set(before);
	});

	it("refuses a valid token for a tenant that doesn't exist, or for someone who is no member and has no role", async () => {
		const ghost = await bearer(await idp.tokenFor("ghost"), "GET", "/api/v1/me");
		expect(ghost.status).toBe(401);
		expect(ghost.body.error).toMatchObject({
			code: "auth.not_a_member",
			message: 'The token names tenant "nosuchtenant", which does not exist',
		});
		const nobody = await bearer(await idp.tokenFor("nobody"), "GET", "/api/v1/me");
		expect(nobody.status).toBe(401);
		expect(nobody.body.error.message).toMatch(/has no member with this token's e-mail address/);
	});
});
