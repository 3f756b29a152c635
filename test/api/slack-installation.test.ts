// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are read freely
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";
import { createTestClock } from "../harness/clock.ts";
import { type FakeSlack, startFakeSlack } from "../harness/fake-slack.ts";
import { createSlackSender } from "../harness/slack-requests.ts";

/**
 * A tenant's Slack workspace: set by an admin or by the OAuth install, secrets sealed and never
 * shown, one workspace per tenant and one tenant per workspace; a tenant's own Slack app is
 * verified with its own signing secret under /api/v1/slack/t/<tenant>/….
 */

const CLIENT = { clientId: "1234.5678", clientSecret: "client-secret-of-the-opswatch-app" };
const APP_SECRET = "opswatch-app-signing-secret-0123";
const clock = createTestClock(new Date("2026-11-26T10:00:00Z"));
let slack: FakeSlack;
let app: TestApp;
let a: TestTenant;
let b: TestTenant;
const sender = createSlackSender(
	() => app,
	() => clock.now(),
);
const as = (tenant: TestTenant, method: string, path: string, json?: unknown) =>
	app.request(method, path, { key: tenant.adminKey, ...(json !== undefined && { json }) });

beforeAll(async () => {
	slack = await startFakeSlack({ token: "xoxb-unused" });
	app = await startTestApp({
		clock,
		env: {
			OPSWATCH_SLACK_API_URL: slack.url,
			OPSWATCH_SLACK_SIGNING_SECRET: APP_SECRET,
			OPSWATCH_SLACK_CLIENT_ID: CLIENT.clientId,
			OPSWATCH_SLACK_CLIENT_SECRET: CLIENT.clientSecret,
			OPSWATCH_SLACK_OAUTH_URL: "https://slack.example/oauth/v2/authorize",
		},
	});
	a = await app.newTenant("slacka");
	b = await app.newTenant("slackb");
});
afterAll(async () => {
	await app?.close();
	await slack?.close();
});

describe(`Slack installations (${backendName})`, () => {
	it("keeps secrets sealed: set, shown as flags only, audited without them, and one workspace per tenant", async () => {
		expect((await as(a, "GET", "/api/v1/slack/installation")).status).toBe(404);
		const put = await as(a, "PUT", "/api/v1/slack/installation", {
			teamId: "T0AAA",
			teamName: "A Team",
			botToken: "xoxb-a-secret-token",
			signingSecret: "a-own-app-signing-secret",
			alertChannel: "C0ALERTS",
		});
		expect(put.status, put.text).toBe(200);
		expect(put.body.installation).toMatchObject({
			teamId: "T0AAA",
			teamName: "A Team",
			hasBotToken: true,
			hasSigningSecret: true,
			alertChannel: "C0ALERTS",
			emergencyChannel: null,
		});
		expect(put.text).not.toContain("xoxb-a-secret-token");
		// Changing the channels keeps the stored secrets.
		const moved = await as(a, "PUT", "/api/v1/slack/installation", { teamId: "T0AAA", emergencyChannel: "C0FIRE" });
		expect(moved.body.installation).toMatchObject({
			hasBotToken: true,
			hasSigningSecret: true,
			emergencyChannel: "C0FIRE",
		});

		// Stored sealed, audited without secrets.
		const { rows } = await sql<
			Record<string, unknown>
		>`select * from ${sql.id(`tenant_${a.slug}`, "slack_installation")}`.execute(app.database.db);
		const row = rows[0]!;
		expect(row.bot_token_encrypted).toMatch(/^v1\./);
		expect(JSON.stringify(row)).not.toContain("xoxb-a-secret-token");
		const audit = await app.running.container.tenants.listAudit(a.slug);
		const installs = audit.filter((e) => e.action === "slack.install");
		expect(installs).toHaveLength(2);
		expect(JSON.stringify(installs)).not.toMatch(/xoxb-a-secret-token|a-own-app-signing-secret/);

		// Another tenant can neither see it nor take the same workspace.
		expect((await as(b, "GET", "/api/v1/slack/installation")).status).toBe(404);
		const taken = await as(b, "PUT", "/api/v1/slack/installation", { teamId: "T0AAA" });
		expect(taken.status).toBe(409);
		expect(taken.body.error).toMatchObject({ code: "slack.team_taken", fields: [{ path: "body.teamId" }] });
		expect((await as(b, "GET", "/api/v1/slack/installation")).status).toBe(404);
	});

	it("refuses bad input with 400 naming the field, and other roles with 403", async () => {
		for (const [body, path] of [
			[{ teamId: "acme" }, "body.teamId"],
			[{ teamId: "T0BBB", botToken: "hunter2" }, "body.botToken"],
			[{ teamId: "T0BBB", alertChannel: "#alerts" }, "body.alertChannel"],
			[{ teamId: "T0BBB", signingSecret: "short" }, "body.signingSecret"],
			[{ teamId: "T0BBB", colour: "blue" }, "body"],
			[{}, "body.teamId"],
		] as const) {
			const response = await as(b, "PUT", "/api/v1/slack/installation", body);
			expect(response.status, JSON.stringify(body)).toBe(400);
			expect(response.body.error.fields.map((f: any) => f.path)).toContain(path);
			expect(response.text).not.toContain("hunter2");
		}
		expect((await as(b, "GET", "/api/v1/slack/installation")).status).toBe(404);
		for (const role of ["manager", "engineer", "readonly"] as const) {
			const key = await b.keyFor(role);
			expect((await app.request("PUT", "/api/v1/slack/installation", { key, json: { teamId: "T0BBB" } })).status).toBe(
				403,
			);
			expect((await app.request("GET", "/api/v1/slack/oauth/install", { key })).status).toBe(403);
		}
	});

	it("installs with OAuth: Slack's approval comes back with a code that becomes the installation", async () => {
		const start = await app.request("GET", "/api/v1/slack/oauth/install", { key: b.adminKey, headersOnly: true });
		expect(start.status).toBe(302);
		const location = new URL(start.headers.get("location")!);
		expect(location.origin + location.pathname).toBe("https://slack.example/oauth/v2/authorize");
		expect(location.searchParams.get("client_id")).toBe(CLIENT.clientId);
		expect(location.searchParams.get("scope")!.split(",")).toEqual(
			expect.arrayContaining(["commands", "chat:write", "users:read.email"]),
		);
		expect(location.searchParams.get("redirect_uri")).toBe(
			`${app.running.container.publicUrl}/api/v1/slack/oauth/callback`,
		);
		const state = location.searchParams.get("state")!;

		const callback = (query: Record<string, string>) =>
			app.request("GET", `/api/v1/slack/oauth/callback?${new URLSearchParams(query)}`);
		// Cancelled, forged, or for a code Slack doesn't know: 400, and nothing installed.
		expect((await callback({ error: "access_denied", state })).body.error.code).toBe("slack.oauth_denied");
		const forged = `${a.id}${state.slice(a.id.length)}`;
		expect((await callback({ code: "c1", state: forged })).body.error.code).toBe("slack.oauth_bad_state");
		const unknownCode = await callback({ code: "nope", state });
		expect(unknownCode.status).toBe(400);
		expect(unknownCode.body.error).toMatchObject({
			code: "slack.oauth_failed",
			message: expect.stringMatching(/invalid_code/),
		});
		expect(unknownCode.text).not.toContain(CLIENT.clientSecret);
		expect((await as(b, "GET", "/api/v1/slack/installation")).status).toBe(404);

		slack.grantCode("code-b", {
			...CLIENT,
			teamId: "T0BBB",
			teamName: "B Team",
			botToken: "xoxb-b-granted",
			botUserId: "U0BOTB",
			channelId: "C0BALERTS",
		});
		const done = await callback({ code: "code-b", state });
		expect(done.status, done.text).toBe(200);
		expect(done.headers.get("content-type")).toMatch(/text\/html/);
		expect(done.text).toContain(`Slack workspace <b>B Team</b> is now connected to OpsWatch tenant <b>${b.slug}</b>`);
		expect((await as(b, "GET", "/api/v1/slack/installation")).body.installation).toMatchObject({
			teamId: "T0BBB",
			teamName: "B Team",
			botUserId: "U0BOTB",
			hasBotToken: true,
			hasSigningSecret: false,
			alertChannel: "C0BALERTS",
			installedBy: "system:slack-oauth",
		});

		// The granted token answers B's workspace: a DM to the bot gets its reply with it.
		await as(b, "POST", "/api/v1/members", {
			name: "Bea",
			email: "bea@example.com",
			timeZone: "UTC",
			contactMethods: [{ type: "slack", value: "U0BEA" }],
		});
		const event = JSON.stringify({
			type: "event_callback",
			team_id: "T0BBB",
			event_id: "Ev0B1",
			event: { type: "message", channel_type: "im", user: "U0BEA", text: "help", channel: "D0BEA", ts: "1.1" },
		});
		expect(
			(await sender.post("/api/v1/slack/events", event, { secret: APP_SECRET, contentType: "application/json" }))
				.status,
		).toBe(200);
		await app.running.container.slackBot.events.settled();
		expect(slack.postsIn("D0BEA")[0]?.text).toContain("*OpsWatch commands*");

		// A state is good for 10 minutes.
		const later = await app.request("GET", "/api/v1/slack/oauth/install", { key: b.adminKey, headersOnly: true });
		const laterState = new URL(later.headers.get("location")!).searchParams.get("state")!;
		clock.advance("11m");
		slack.grantCode("code-late", {
			...CLIENT,
			teamId: "T0BBB",
			teamName: "B Team",
			botToken: "xoxb-b-2",
			botUserId: "U0BOTB",
		});
		expect((await callback({ code: "code-late", state: laterState })).body.error.code).toBe("slack.oauth_bad_state");
	});

	it("verifies a tenant's own Slack app with its own secret, on its own endpoints only", async () => {
		await as(a, "POST", "/api/v1/members", {
			name: "Ann",
			email: "ann@example.com",
			timeZone: "UTC",
			contactMethods: [{ type: "slack", value: "U0ANN" }],
		});
		const body = sender.command({ team: "T0AAA", user: "U0ANN", text: "alerts" });
		const own = `/api/v1/slack/t/${a.slug}/commands`;
		const ok = await sender.post(own, body, { secret: "a-own-app-signing-secret" });
		expect(ok.status, ok.text).toBe(200);
		expect(ok.body.text).toBe("No open alerts.");
		// Signed by the OpsWatch app, or by A's app on the OpsWatch app's endpoint: 401.
		expect((await sender.post(own, body, { secret: APP_SECRET })).status).toBe(401);
		expect((await sender.post("/api/v1/slack/commands", body, { secret: "a-own-app-signing-secret" })).status).toBe(
			401,
		);
		// B has no app of its own; an unknown tenant has none either.
		const bOwn = await sender.post(`/api/v1/slack/t/${b.slug}/commands`, body, { secret: APP_SECRET });
		expect(bOwn.status).toBe(401);
		expect(bOwn.body.error.message).toMatch(/has no Slack app of its own/);
		expect((await sender.post("/api/v1/slack/t/nosuchtenant/commands", body, { secret: APP_SECRET })).status).toBe(401);
		// A's app naming B's workspace: not A's workspace, so not connected.
		const crossed = await sender.post(own, sender.command({ team: "T0BBB", user: "U0ANN", text: "alerts" }), {
			secret: "a-own-app-signing-secret",
		});
		expect(crossed.body.text).toMatch(/not connected to OpsWatch/);
	});

	it("uninstalls: the workspace is unknown afterwards, and the removal is audited", async () => {
		expect((await as(a, "DELETE", "/api/v1/slack/installation")).status).toBe(204);
		expect((await as(a, "DELETE", "/api/v1/slack/installation")).status).toBe(404);
		const answer = await sender.post(
			"/api/v1/slack/commands",
			sender.command({ team: "T0AAA", user: "U0ANN", text: "alerts" }),
			{
				secret: APP_SECRET,
			},
		);
		expect(answer.body.text).toMatch(/not connected to OpsWatch/);
		const audit = await app.running.container.tenants.listAudit(a.slug);
		expect(audit.find((e) => e.action === "slack.uninstall")).toMatchObject({ targetId: "T0AAA" });
	});
});
