// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are read freely
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";
import { createBrowser } from "../harness/browser.ts";

/**
 * Local accounts: an admin sets a member's password, the member signs in with it (a session, as
 * with the identity provider) and changes it; wrong guesses are told apart from nothing, lock the
 * account after five, and one address can't try more than 20 times a minute.
 */

let app: TestApp;
let tenant: TestTenant;
let adaId: string;
const json = (text: string) => JSON.parse(text || "null");

beforeAll(async () => {
	app = await startTestApp();
	tenant = await app.newTenant("local");
	const ada = await app.request("POST", "/api/v1/members", {
		key: tenant.adminKey,
		json: { name: "Ada", email: "ada@example.com", timeZone: "UTC", role: "manager" },
	});
	adaId = ada.body.member.id;
});
afterAll(() => app?.close());

const signIn = (browser: ReturnType<typeof createBrowser>, email: string, password: string) =>
	browser.request(`${app.url}/api/v1/auth/local/login`, { json: { tenant: tenant.slug, email, password } });

describe(`local accounts (${backendName})`, () => {
	it("lets an admin set a password, the member sign in and change it, and audits without the secret", async () => {
		const manager = await tenant.keyFor("manager");
		const set = (key: string, password: string) =>
			app.request("PUT", `/api/v1/members/${adaId}/password`, { key, json: { password } });
		expect((await set(manager, "a-perfectly-fine-password")).status).toBe(403);
		const short = await set(tenant.adminKey, "short");
		expect(short.status).toBe(400);
		expect(short.body.error.fields[0]).toMatchObject({
			path: "body.password",
			message: "must be at least 12 characters",
		});
		expect((await set(tenant.adminKey, "first-password-0001")).status).toBe(204);

		const browser = createBrowser();
		const wrong = await signIn(browser, "ada@example.com", "not-the-password");
		expect(wrong.status).toBe(401);
		const nobody = await signIn(browser, "nobody@example.com", "first-password-0001");
		expect(nobody.status).toBe(401);
		expect(json(nobody.text).error.message).toBe(json(wrong.text).error.message);

		expect((await signIn(browser, "ADA@example.com", "first-password-0001")).status).toBe(204);
		const me = json((await browser.request(`${app.url}/api/v1/me`)).text);
		expect(me).toMatchObject({ role: "manager", user: { email: "ada@example.com", memberId: adaId } });

		const csrf = browser.cookie(app.url, "opswatch_csrf")!;
		const change = (current: string, next: string) =>
			browser.request(`${app.url}/api/v1/me/password`, {
				method: "PUT",
				headers: { "x-csrf-token": csrf },
				json: { currentPassword: current, newPassword: next },
			});
		const badCurrent = await change("guess-guess-guess", "second-password-0002");
		expect(badCurrent.status).toBe(403);
		expect((await change("first-password-0001", "second-password-0002")).status).toBe(204);
		const fresh = createBrowser();
		expect((await signIn(fresh, "ada@example.com", "first-password-0001")).status).toBe(401);
		expect((await signIn(fresh, "ada@example.com", "second-password-0002")).status).toBe(204);

		const audit = (await app.request("GET", `/api/v1/admin/audit-log?targetId=${adaId}`, { key: tenant.adminKey })).body
			.entries;
		expect(audit.map((e: any) => e.action)).toEqual(
			expect.arrayContaining(["member.password_set", "member.password_change"]),
		);
		expect(JSON.stringify(audit)).not.toMatch(/password-000|scrypt/);
	});

	it("refuses an engineer changing their own role (403), and keeps it", async () => {
		const eng = await app.request("POST", "/api/v1/members", {
			key: tenant.adminKey,
			json: { name: "Eng", email: "eng@example.com", timeZone: "UTC", role: "engineer" },
		});
		await app.request("PUT", `/api/v1/members/${eng.body.member.id}/password`, {
			key: tenant.adminKey,
			json: { password: "engineer-password-1" },
		});
		const browser = createBrowser();
		expect((await signIn(browser, "eng@example.com", "engineer-password-1")).status).toBe(204);
		const promote = await browser.request(`${app.url}/api/v1/me/member`, {
			method: "PATCH",
			headers: { "x-csrf-token": browser.cookie(app.url, "opswatch_csrf")! },
			json: { role: "admin" },
		});
		expect(promote.status).toBe(403);
		expect(json(promote.text).error.code).toBe("member.role_change_denied");
		expect(
			(await app.request("GET", `/api/v1/members/${eng.body.member.id}`, { key: tenant.adminKey })).body.member.role,
		).toBe("engineer");
	});

	it("locks an account for 15 minutes after five failures, even against the right password", async () => {
		await app.request("POST", "/api/v1/members", {
			key: tenant.adminKey,
			json: { name: "Bo", email: "bo@example.com", timeZone: "UTC" },
		});
		const bo = (await app.request("GET", "/api/v1/members", { key: tenant.adminKey })).body.members.find(
			(m: any) => m.email === "bo@example.com",
		);
		await app.request("PUT", `/api/v1/members/${bo.id}/password`, {
			key: tenant.adminKey,
			json: { password: "bos-password-0001" },
		});
		const browser = createBrowser();
		for (let i = 0; i < 5; i++) expect((await signIn(browser, "bo@example.com", `guess-${i}`)).status).toBe(401);
		const locked = await signIn(browser, "bo@example.com", "bos-password-0001");
		expect(locked.status).toBe(429);
		expect(locked.headers.get("retry-after")).toBe("900");
		expect(json(locked.text).error.code).toBe("auth.account_locked");
		const audit = (await app.request("GET", "/api/v1/admin/audit-log?action=auth.", { key: tenant.adminKey })).body
			.entries;
		expect(audit.filter((e: any) => e.action === "auth.login_failed" && e.targetId === bo.id)).toHaveLength(5);
		expect(audit.find((e: any) => e.action === "auth.login_locked")).toMatchObject({
			sourceIp: "127.0.0.1",
			after: { email: "bo@example.com" },
		});
		expect(JSON.stringify(audit)).not.toContain("bos-password");
		expect(browser.cookie(app.url, "opswatch_session")).toBeUndefined();
	});

	it("lets one address try 20 times a minute, then answers 429", async () => {
		const browser = createBrowser();
		const statuses: number[] = [];
		for (let i = 0; i < 25; i++) statuses.push((await signIn(browser, `someone${i}@example.com`, "x")).status);
		const first429 = statuses.indexOf(429);
		expect(first429).toBeGreaterThan(0);
		expect(statuses.slice(0, first429).every((s) => s === 401)).toBe(true);
		expect(statuses.slice(first429).every((s) => s === 429)).toBe(true);
	});
});
