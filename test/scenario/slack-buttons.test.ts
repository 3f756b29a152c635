// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are read freely
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { slackSignature } from "../../src/slack/index.ts";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";
import { createTestClock } from "../harness/clock.ts";
import { type FakeSlack, startFakeSlack } from "../harness/fake-slack.ts";
import { createSlackSender, type SlackPostOptions } from "../harness/slack-requests.ts";

/**
 * The alert message's buttons: a click signed exactly as Slack signs it acknowledges (or resolves)
 * the alert as the member the Slack user is, stops the escalation and updates the message; forged,
 * stale, malformed, unknown or unmapped clicks change nothing.
 */

const SLACK_TOKEN = "xoxb-test-buttons";
const SIGNING_SECRET = "slack-signing-secret-0123456789abcdef";
const clock = createTestClock(new Date("2026-11-26T10:00:00Z"));
let slack: FakeSlack;
let app: TestApp;
let tenant: TestTenant;
const ids: Record<string, string> = {};

const call = (method: string, path: string, json?: unknown) =>
	app.request(method, path, { key: tenant.adminKey, ...(json !== undefined && { json }) });
const settled = () => app.running.container.escalations.settled();
const statusOf = async (id: string) => (await call("GET", `/api/v1/alerts/${id}`)).body.alert.status;

const sender = createSlackSender(
	() => app,
	() => clock.now(),
);
/** Posts a Slack request signed with the app's secret at the clock's time (or as the options say). */
const slackPost = (path: string, body: string, options: Partial<SlackPostOptions> = {}) =>
	sender.post(path, body, { secret: SIGNING_SECRET, ...options });

const click = (
	user: string,
	actionId: string,
	value: string,
	message: { channel: string; ts: string },
	actionTs = "1.1",
) =>
	`payload=${encodeURIComponent(
		JSON.stringify({
			type: "block_actions",
			team: { id: "T0TEAM" },
			user: { id: user, username: user.toLowerCase() },
			actions: [{ action_id: actionId, value, action_ts: actionTs, type: "button" }],
			container: { type: "message", channel_id: message.channel, message_ts: message.ts },
			response_url: slack.responseUrl(randomUUID()),
			trigger_id: "1.2.3",
		}),
	)}`;

beforeAll(async () => {
	slack = await startFakeSlack({ token: SLACK_TOKEN });
	app = await startTestApp({
		clock,
		env: {
			OPSWATCH_SLACK_BOT_TOKEN: SLACK_TOKEN,
			OPSWATCH_SLACK_API_URL: slack.url,
			OPSWATCH_SLACK_SIGNING_SECRET: SIGNING_SECRET,
		},
	});
	tenant = await app.newTenant("buttons");
	// The deployment's bot token speaks for the workspace; the installation ties the team to the tenant.
	await call("PUT", "/api/v1/slack/installation", { teamId: "T0TEAM", teamName: "Buttons Inc" });
	for (const [name, user] of [
		["ada", "U0ADA"],
		["bob", "U0BOB"],
	]) {
		const member = await call("POST", "/api/v1/members", {
			name,
			email: `${name}@example.com`,
			timeZone: "UTC",
			contactMethods: [{ type: "slack", value: user }],
		});
		ids[name!] = member.body.member.id;
	}
	const policy = await call("POST", "/api/v1/escalation-policies", {
		name: "Ada, then Bob",
		tiers: [
			{ timeoutSeconds: 300, targets: [{ type: "member", memberId: ids.ada, channels: ["slack_dm"] }] },
			{ timeoutSeconds: 300, targets: [{ type: "member", memberId: ids.bob, channels: ["slack_dm"] }] },
		],
	});
	await call("PUT", "/api/v1/escalation-routes", { routes: [], defaultPolicyId: policy.body.policy.id });
});
afterAll(async () => {
	await app?.close();
	await slack?.close();
});

describe(`the alert message's buttons (${backendName})`, () => {
	it("acknowledges as the clicking member, stops the escalation and updates the message; refuses everything else", async () => {
		const fired = await call("POST", "/api/v1/webhooks/generic", { title: "Disk full on db-1", severity: "critical" });
		const alertId = fired.body.alerts[0].alertId;
		await settled();
		const dm = await slack.expectMessage({ to: "U0ADA", text: /Disk full on db-1/ });
		const buttons = (dm.blocks as any[]).find((b) => b.type === "actions").elements;
		const acknowledge = buttons.find((b: any) => b.action_id === "alert_acknowledge");
		expect(acknowledge.value).toBe(`${tenant.id}:${alertId}`);
		const where = { channel: dm.channel, ts: dm.ts };
		const ack = click("U0ADA", "alert_acknowledge", acknowledge.value, where);

		// Forged, stale, altered and malformed requests: 401 or 400, and nothing changes.
		expect((await slackPost("/api/v1/slack/interactions", ack, { signature: null })).status).toBe(401);
		expect((await slackPost("/api/v1/slack/interactions", ack, { secret: "not-the-signing-secret-000" })).status).toBe(
			401,
		);
		const stale = await slackPost("/api/v1/slack/interactions", ack, {
			timestamp: Math.floor(clock.now().getTime() / 1000) - 360,
		});
		expect(stale.status).toBe(401);
		expect(stale.body.error.message).toMatch(/5 minutes/);
		const timestamp = Math.floor(clock.now().getTime() / 1000);
		const altered = await slackPost("/api/v1/slack/interactions", ack.replace("U0ADA", "U0BOB"), {
			timestamp,
			signature: slackSignature(SIGNING_SECRET, String(timestamp), ack),
		});
		expect(altered.status).toBe(401);
		const malformed = await slackPost("/api/v1/slack/interactions", "payload=%7Bnot%20json");
		expect(malformed.status).toBe(400);
		expect(malformed.body.error.fields[0].path).toBe("body.payload");

		// Someone OpsWatch doesn't know, and an alert it doesn't know: told privately, nothing changes.
		expect(
			(await slackPost("/api/v1/slack/interactions", click("U0NOBODY", "alert_acknowledge", acknowledge.value, where)))
				.status,
		).toBe(200);
		expect(slack.responses.at(-1)?.body).toMatchObject({
			response_type: "ephemeral",
			text: expect.stringMatching(/not linked/),
		});
		const unknown = `${randomUUID()}:${alertId}`;
		await slackPost("/api/v1/slack/interactions", click("U0ADA", "alert_acknowledge", unknown, where, "2.2"));
		expect(slack.responses.at(-1)?.body.text).toMatch(/does not know this alert/);
		expect(await statusOf(alertId)).toBe("firing");

		// Ada's click: acknowledged by her, from Slack; the message shows it and loses its Acknowledge button.
		expect((await slackPost("/api/v1/slack/interactions", ack)).status).toBe(200);
		const alert = (await call("GET", `/api/v1/alerts/${alertId}`)).body;
		expect(alert.alert).toMatchObject({ status: "acknowledged", acknowledgedBy: `member:${ids.ada}` });
		expect(alert.timeline.find((e: any) => e.type === "acknowledged").details).toEqual({ via: "slack" });
		const updated = slack.messages.find((m) => m.ts === dm.ts)!;
		expect(JSON.stringify(updated.blocks)).toContain("Acknowledged by ada");
		expect(JSON.stringify(updated.blocks)).not.toContain("alert_acknowledge");
		await settled();
		const updates = () => slack.requests.filter((r) => r.method === "chat.update").length;
		const updatedOnce = updates();
		expect(updatedOnce).toBeGreaterThan(0);

		// Slack retries, people double-click: the same action is acted on once.
		expect((await slackPost("/api/v1/slack/interactions", ack)).status).toBe(200);
		await settled();
		expect(updates()).toBe(updatedOnce);

		// The escalation stopped: Bob is never paged.
		clock.advance("10m");
		await settled();
		expect(slack.dmsTo("U0BOB")).toHaveLength(0);

		// Resolve from the same message.
		const resolve = click("U0ADA", "alert_resolve", acknowledge.value, where, "3.3");
		expect((await slackPost("/api/v1/slack/interactions", resolve)).status).toBe(200);
		expect(await statusOf(alertId)).toBe("resolved");
		expect(JSON.stringify(slack.messages.find((m) => m.ts === dm.ts)!.blocks)).toContain("Resolved by ada");
	});

	it("answers Slack's url_verification only when signed", async () => {
		const body = JSON.stringify({
			type: "url_verification",
			challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
		});
		const signed = await slackPost("/api/v1/slack/events", body, { contentType: "application/json" });
		expect(signed.status).toBe(200);
		expect(signed.body).toEqual({ challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" });
		const forged = await slackPost("/api/v1/slack/events", body, {
			contentType: "application/json",
			signature: "v0=00",
		});
		expect(forged.status).toBe(401);
	});
});
