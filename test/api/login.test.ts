// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are read freely
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";
import { createBrowser } from "../harness/browser.ts";
import { type OidcPerson, startOidcProvider, type TestOidcProvider, WEB_CLIENT } from "../harness/oidc.ts";

/**
 * Browser sign-in against a real OpenID Connect provider (oidc-provider, its dev login form):
 * authorization code + PKCE → a server-side session in an httpOnly cookie; changes made with the
 * cookie need the CSRF token; logout ends the session, and its cookie is worthless afterwards.
 */

const AUDIENCE = "https://opswatch.test/api";
const people: Record<string, OidcPerson> = { ada: { email: "ada@example.com" } };
let idp: TestOidcProvider;
let app: TestApp;
let tenant: TestTenant;
let base: string;

/** Signs `person` in with a fresh browser: login → provider's form → consent → back with a session. */
async function signIn(person: string) {
	const browser = createBrowser();
	const hops: string[] = [];
	let page = await browser.visit(`${base}/api/v1/auth/login`, {}, (to) => void hops.push(to));
	expect(page.text, "the provider's login form").toContain('name="login"');
	page = await browser.submit(page, { login: person, password: "any" }, (to) => void hops.push(to));
	if (page.text.includes('value="consent"')) page = await browser.submit(page, {}, (to) => void hops.push(to));
	return { browser, page, hops };
}

beforeAll(async () => {
	const port = await freePort();
	base = `http://127.0.0.1:${port}`;
	idp = await startOidcProvider({ audience: AUDIENCE, people, webRedirectUri: `${base}/api/v1/auth/callback` });
	app = await startTestApp({
		env: {
			OPSWATCH_PORT: String(port),
			OPSWATCH_PUBLIC_URL: base,
			OPSWATCH_OIDC_ISSUER: idp.issuer,
			OPSWATCH_OIDC_AUDIENCE: AUDIENCE,
			OPSWATCH_OIDC_CLIENT_ID: WEB_CLIENT.clientId,
			OPSWATCH_OIDC_CLIENT_SECRET: WEB_CLIENT.clientSecret,
		},
	});
	tenant = await app.newTenant("login");
	people.ada!.tenant = tenant.slug;
	await app.request("POST", "/api/v1/members", {
		key: tenant.adminKey,
		json: { name: "Ada", email: "ada@example.com", timeZone: "UTC", role: "engineer" },
	});
});
afterAll(async () => {
	await app?.close();
	await idp?.close();
});

describe(`browser sign-in (${backendName})`, () => {
	it("signs in with the provider, acts as the member, needs the CSRF token for changes, and signs out for good", async () => {
		const { browser, hops } = await signIn("ada");
		const callback = hops.find((h) => h.startsWith(`${base}/api/v1/auth/callback`))!;
		expect(new URL(callback).searchParams.get("code")).toBeTruthy();
		expect(hops.at(-1)).toBe(`${base}/`);
		const authorize = new URL(hops[0]!);
		expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
		expect(authorize.searchParams.get("client_id")).toBe(WEB_CLIENT.clientId);

		const session = browser.cookie(base, "opswatch_session")!;
		const csrf = browser.cookie(base, "opswatch_csrf")!;
		expect(session).toMatch(/^[\w-]{43}$/);
		expect(csrf).toBeTruthy();

		const me = await browser.request(`${base}/api/v1/me`);
		expect(me.status, me.text).toBe(200);
		expect(JSON.parse(me.text)).toMatchObject({
			tenant: { slug: tenant.slug },
			role: "engineer",
			user: { subject: "ada", email: "ada@example.com" },
		});

		const fired = await app.request("POST", "/api/v1/webhooks/generic", {
			key: tenant.adminKey,
			json: { title: "Disk full", severity: "warning" },
		});
		const ack = `${base}/api/v1/alerts/${fired.body.alerts[0].alertId}/acknowledge`;
		// A cross-site form post carries the cookie but cannot know the token.
		const forged = await browser.request(ack, { method: "PATCH", headers: { origin: "https://evil.example" } });
		expect(forged.status).toBe(403);
		expect(JSON.parse(forged.text).error.code).toBe("auth.csrf_token_missing");
		const wrongToken = await browser.request(ack, { method: "PATCH", headers: { "x-csrf-token": "guess" } });
		expect(wrongToken.status).toBe(403);
		const done = await browser.request(ack, { method: "PATCH", headers: { "x-csrf-token": csrf } });
		expect(done.status, done.text).toBe(200);
		expect(JSON.parse(done.text).alert.acknowledgedBy).toMatch(/^member:/);

		// Sign out; the old cookie, replayed, is refused.
		const stolen = browser.cookies(base);
		expect((await browser.request(`${base}/api/v1/auth/logout`, { method: "POST" })).status).toBe(403);
		const out = await browser.request(`${base}/api/v1/auth/logout`, {
			method: "POST",
			headers: { "x-csrf-token": csrf },
		});
		expect(out.status).toBe(204);
		expect(browser.cookie(base, "opswatch_session")).toBeUndefined();
		const replay = createBrowser();
		replay.setCookies(base, stolen);
		const refused = await replay.request(`${base}/api/v1/me`);
		expect(refused.status).toBe(401);
		expect(JSON.parse(refused.text).error.code).toBe("auth.session_ended");
	});

	it("sets the session cookie httpOnly and SameSite=Lax, and the CSRF cookie readable", async () => {
		const browser = createBrowser();
		const hops: string[] = [];
		let page = await browser.visit(`${base}/api/v1/auth/login`, {}, (to) => void hops.push(to));
		page = await browser.submit(page, { login: "ada", password: "x" }, (to) => void hops.push(to));
		if (page.text.includes('value="consent"')) await browser.submit(page, {}, (to) => void hops.push(to));
		const callback = hops.find((h) => h.startsWith(`${base}/api/v1/auth/callback`))!;
		// Replay the callback from the same browser: the code and state are spent.
		const again = await browser.request(callback);
		expect(again.status).toBe(401);
		expect(JSON.parse(again.text).error.code).toBe("auth.login_expired");

		const fresh = createBrowser();
		let start = await fresh.request(`${base}/api/v1/auth/login`);
		const setCookie = start.headers.getSetCookie().join("\n");
		expect(setCookie).toMatch(/opswatch_login=[^;]+;.*HttpOnly/);
		start = await fresh.visit(start.headers.get("location")!);
		const login = await fresh.submit(start, { login: "ada", password: "x" });
		const final = login.text.includes('value="consent"') ? await fresh.submit(login, {}) : login;
		expect(final.url).toBe(`${base}/`);
	});

	it("refuses a callback that another browser started, and one the provider refused", async () => {
		// The attacker signs in but stops before the callback, and makes a victim's browser finish it
		// (to plant the attacker's session there): the victim's browser never started that sign-in.
		const attacker = createBrowser();
		let callback = "";
		const stopAtCallback = (to: string) => {
			if (!to.startsWith(`${base}/api/v1/auth/callback`)) return true;
			callback = to;
			return false;
		};
		let page = await attacker.visit(`${base}/api/v1/auth/login`, {}, stopAtCallback);
		page = await attacker.submit(page, { login: "ada", password: "x" }, stopAtCallback);
		if (page.text.includes('value="consent"')) page = await attacker.submit(page, {}, stopAtCallback);
		expect(callback).toContain("code=");
		const victim = createBrowser();
		const fixated = await victim.request(callback);
		expect(fixated.status).toBe(401);
		expect(JSON.parse(fixated.text).error.code).toBe("auth.login_expired");
		expect(victim.cookie(base, "opswatch_session")).toBeUndefined();

		const refused = await victim.request(`${base}/api/v1/auth/callback?error=access_denied&state=x`);
		expect(refused.status).toBe(401);
		expect(JSON.parse(refused.text).error).toMatchObject({ code: "auth.login_refused" });
	});
});
