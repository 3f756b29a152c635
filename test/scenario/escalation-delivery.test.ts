// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are read freely
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { twilioSignature } from "../../src/escalation/twilio.ts";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";
import { createTestClock } from "../harness/clock.ts";
import { type FakeSlack, startFakeSlack } from "../harness/fake-slack.ts";
import { type FakeTwilio, startFakeTwilio } from "../harness/fake-twilio.ts";

/**
 * How pages get delivered when providers misbehave, and how people answer them by SMS and phone:
 * retries, fall-through to the next contact method, a timed-out send that did arrive, reply codes.
 */

const SLACK_TOKEN = "xoxb-test-delivery";
const TWILIO = { accountSid: `AC${"b2".repeat(16)}`, authToken: "twilio-delivery-auth-token-012345" };
const FROM = "+4930555111";
const ada = { slack: "U0ADA", phone: "+4915200000001" };
const bob = { phone: "+4915200000002" };

const clock = createTestClock(new Date("2026-11-26T10:00:00Z"));
let slack: FakeSlack;
let twilio: FakeTwilio;
let app: TestApp;
let tenant: TestTenant;
let other: TestTenant;
const ids: Record<string, string> = {};
let alertCounter = 0;

const call = (method: string, path: string, json?: unknown, key = tenant.adminKey) =>
	app.request(method, path, { key, ...(json !== undefined && { json }) });
const settled = () => app.running.container.escalations.settled();

/** Routes every alert of this tenant to a one-tier policy paging as given. */
async function pageWith(name: string, targets: unknown[]): Promise<void> {
	const policy = await call("POST", "/api/v1/escalation-policies", {
		name,
		tiers: [{ timeoutSeconds: 600, targets }],
	});
	expect(policy.status, policy.text).toBe(201);
	const routes = await call("PUT", "/api/v1/escalation-routes", { routes: [], defaultPolicyId: policy.body.policy.id });
	expect(routes.status, routes.text).toBe(200);
}

async function fire(title: string, key = tenant.adminKey): Promise<string> {
	const response = await app.request("POST", "/api/v1/webhooks/generic", {
		key,
		json: { title, severity: "critical", labels: { n: String(alertCounter++) } },
	});
	expect(response.status, response.text).toBe(200);
	await settled();
	return response.body.alerts[0].alertId;
}

const notificationsOf = async (alertId: string) =>
	(await call("GET", `/api/v1/alerts/${alertId}/escalation`)).body.notifications as any[];
const statusOf = async (alertId: string) => (await call("GET", `/api/v1/alerts/${alertId}`)).body.alert.status;

beforeAll(async () => {
	slack = await startFakeSlack({ token: SLACK_TOKEN });
	twilio = await startFakeTwilio({ ...TWILIO, now: () => clock.now() });
	app = await startTestApp({
		clock,
		reachable: true,
		env: {
			OPSWATCH_SLACK_BOT_TOKEN: SLACK_TOKEN,
			OPSWATCH_SLACK_API_URL: slack.url,
			OPSWATCH_TWILIO_ACCOUNT_SID: TWILIO.accountSid,
			OPSWATCH_TWILIO_AUTH_TOKEN: TWILIO.authToken,
			OPSWATCH_TWILIO_FROM_NUMBER: FROM,
			OPSWATCH_TWILIO_API_URL: twilio.url,
			OPSWATCH_PROVIDER_TIMEOUT_MS: "300",
		},
	});
	tenant = await app.newTenant("deliver");
	other = await app.newTenant("deliverother");
	const members = {
		ada: [
			{ type: "slack", value: ada.slack },
			{ type: "phone", value: ada.phone },
		],
		bob: [{ type: "sms", value: bob.phone }],
	};
	for (const [name, contactMethods] of Object.entries(members)) {
		const created = await call("POST", "/api/v1/members", {
			name,
			email: `${name}@example.com`,
			timeZone: "UTC",
			contactMethods,
		});
		expect(created.status, created.text).toBe(201);
		ids[name] = created.body.member.id;
	}
});
afterAll(async () => {
	await app?.close();
	await slack?.close();
	await twilio?.close();
});

describe(`delivering pages (${backendName})`, () => {
	it("retries a provider failure after a back-off, and pages once", async () => {
		await pageWith("Ada by Slack", [{ type: "member", memberId: ids.ada, channels: ["slack_dm"] }]);
		slack.failNext(1, { status: 500 });
		const alertId = await fire("Replica lag on db-2");
		expect(slack.dmsTo(ada.slack)).toHaveLength(0);
		expect(await notificationsOf(alertId)).toMatchObject([{ channel: "slack_dm", status: "sending", tries: 1 }]);
		expect((await notificationsOf(alertId))[0].lastError).toMatch(/500/);

		clock.advance("1s");
		await settled();
		expect(slack.dmsTo(ada.slack).map((m) => m.text)).toEqual([expect.stringContaining("Replica lag on db-2")]);
		expect(await notificationsOf(alertId)).toMatchObject([{ status: "sent", tries: 2, lastError: null }]);
	});

	it("falls through to the member's next contact method when a channel fails for good", async () => {
		await pageWith("Ada by Slack, again", [{ type: "member", memberId: ids.ada, channels: ["slack_dm"] }]);
		const before = slack.messages.length;
		slack.failNext(1, { error: "user_not_found" });
		const alertId = await fire("Certificate expires in 2 days");
		await twilio.device(ada.phone).expectCall();
		expect(slack.messages).toHaveLength(before);
		const pages = await notificationsOf(alertId);
		expect(pages.map((n) => [n.requestedChannel, n.channel, n.status]).sort()).toEqual([
			["slack_dm", "phone", "sent"],
			["slack_dm", "slack_dm", "failed"],
		]);
		expect(pages.find((n) => n.status === "failed").lastError).toMatch(/user_not_found/);
	});

	it("recognises a send that timed out but arrived, instead of posting it twice", async () => {
		await pageWith("Ops channel", [{ type: "slack_channel", channel: "C0OPS01" }]);
		slack.failNext(1, { delayMs: 700 });
		const alertId = await fire("Queue backlog growing");
		expect(await notificationsOf(alertId)).toMatchObject([{ status: "sending", tries: 1 }]);
		// The late answer arrives at the fake after the client gave up; the message is there.
		await slack.expectMessage({ to: "C0OPS01", text: /Queue backlog growing/ });

		clock.advance("1s");
		await settled();
		expect(slack.postsIn("C0OPS01")).toHaveLength(1);
		expect(await notificationsOf(alertId)).toMatchObject([{ status: "sent", tries: 2 }]);
	});
});

const smsWebhook = () => `${app.url}/api/v1/telephony/twilio/sms`;
const reply = (from: string, body: string) => twilio.replySMS({ from, to: FROM, body, webhookUrl: smsWebhook() });

describe(`a call in doubt (${backendName})`, () => {
	it("is placed again when the only call the provider shows to that number was another page's", async () => {
		const dee = "+4915200000004";
		const member = await call("POST", "/api/v1/members", {
			name: "dee",
			email: "dee@example.com",
			timeZone: "UTC",
			contactMethods: [{ type: "phone", value: dee }],
		});
		await pageWith("Dee by phone", [{ type: "member", memberId: member.body.member.id, channels: ["phone"] }]);
		const first = await fire("Primary database down");
		expect(twilio.device(dee).calls()).toHaveLength(1);

		// The second page's call hangs past the timeout and creates nothing: it is in doubt, and the
		// provider's list shows one call to Dee in the window — the first page's.
		twilio.stallNext(1, 700);
		const second = await fire("Replica database down");
		expect(await notificationsOf(second)).toMatchObject([{ status: "sending", tries: 1 }]);
		await new Promise((resolve) => setTimeout(resolve, 800));
		clock.advance("1s");
		await settled();

		expect(
			twilio
				.device(dee)
				.calls()
				.map((c) => /Primary|Replica/.exec(c.twiml)?.[0]),
		).toEqual(["Primary", "Replica"]);
		const [a] = await notificationsOf(first);
		const [b] = await notificationsOf(second);
		expect(b).toMatchObject({ status: "sent", tries: 2 });
		expect(a.status).toBe("sent");
	});
});

describe(`answering pages by SMS and phone (${backendName})`, () => {
	it("acknowledges on `ACK <code>` from the paged phone, and refuses wrong codes, other phones and forged requests", async () => {
		await pageWith("Bob by SMS", [{ type: "member", memberId: ids.bob, channels: ["sms"] }]);
		const alertId = await fire("Disk full on db-3");
		const sms = await twilio.device(bob.phone).expectSMS(/Disk full on db-3/);
		const code = /ACK (\d{6})/.exec(sms.body)?.[1];
		expect(code).toBeDefined();

		const wrong = await reply(bob.phone, `ACK ${code === "111111" ? "222222" : "111111"}`);
		expect(wrong.status).toBe(200);
		expect(wrong.body).toMatch(/unknown or has expired/);
		const otherPhone = await reply("+4915200000099", `ACK ${code}`);
		expect(otherPhone.body).toMatch(/unknown or has expired/);
		const gibberish = await reply(bob.phone, "yes I'm on it");
		expect(gibberish.body).toMatch(/reply ACK followed by the code/);
		const forged = await twilio.signedPost(
			smsWebhook(),
			{ From: bob.phone, To: FROM, Body: `ACK ${code}` },
			{ signature: twilioSignature("not-the-auth-token", smsWebhook(), { Body: `ACK ${code}` }) },
		);
		expect(forged.status).toBe(403);
		expect(forged.body).toMatch(/X-Twilio-Signature/);
		expect(await statusOf(alertId)).toBe("firing");

		const right = await reply(bob.phone, `ack ${code}`);
		expect(right.body).toMatch(/Acknowledged: Disk full on db-3/);
		const alert = (await call("GET", `/api/v1/alerts/${alertId}`)).body;
		expect(alert.alert).toMatchObject({ status: "acknowledged", acknowledgedBy: `member:${ids.bob}` });
		expect(alert.timeline.find((e: any) => e.type === "acknowledged").details).toEqual({ via: "sms" });
	});

	it("refuses a code after it expired (24 hours)", async () => {
		await pageWith("Bob by SMS, later", [{ type: "member", memberId: ids.bob, channels: ["sms"] }]);
		const alertId = await fire("Backup job failed");
		const sms = await twilio.device(bob.phone).expectSMS(/Backup job failed/);
		const code = /ACK (\d{6})/.exec(sms.body)?.[1];
		clock.advance("25h");
		await settled();
		expect((await reply(bob.phone, `ACK ${code}`)).body).toMatch(/unknown or has expired/);
		expect(await statusOf(alertId)).toBe("firing");
	});

	it("a keypress names its tenant and page: another tenant's id, a forged signature or another key change nothing", async () => {
		await pageWith("Ada by phone", [{ type: "member", memberId: ids.ada, channels: ["phone"] }]);
		const alertId = await fire("Payment API 5xx rate high");
		const ring = await twilio.device(ada.phone).expectCall();
		expect(ring.twiml).toMatch(/Payment API 5xx rate high/);
		const gather = /action="([^"]+)"/.exec(ring.twiml)![1]!.replaceAll("&amp;", "&");
		const notification = new URL(gather).searchParams.get("notification")!;
		const params = { CallSid: ring.sid, AccountSid: TWILIO.accountSid, From: FROM, To: ada.phone, Digits: "1" };

		const elsewhere = `${app.url}/api/v1/telephony/twilio/gather?tenant=${other.id}&notification=${notification}`;
		const wrongTenant = await twilio.signedPost(elsewhere, params);
		expect(wrongTenant.status).toBe(200);
		expect(wrongTenant.body).toMatch(/not known to OpsWatch/);
		const forged = await twilio.signedPost(gather, params, { signature: "bm90IGEgc2lnbmF0dXJl" });
		expect(forged.status).toBe(403);
		const two = await twilio.pressKey(ring.sid, "2");
		expect(two.body).toMatch(/Press 1 to acknowledge/);
		expect(await statusOf(alertId)).toBe("firing");

		expect((await twilio.pressKey(ring.sid, "1")).body).toMatch(/Acknowledged/);
		expect(await statusOf(alertId)).toBe("acknowledged");
	});
});

describe(`starting and stopping escalations (${backendName})`, () => {
	it("records on the timeline that nobody was paged when no policy routes the alert", async () => {
		const routes = await call("PUT", "/api/v1/escalation-routes", { routes: [], defaultPolicyId: null });
		expect(routes.status).toBe(200);
		const alertId = await fire("Nobody listens");
		const alert = (await call("GET", `/api/v1/alerts/${alertId}`)).body;
		expect(alert.timeline.find((e: any) => e.type === "escalated").details).toEqual({
			started: false,
			reason: "no escalation policy routes this alert: nobody was paged",
		});
		expect((await call("GET", `/api/v1/alerts/${alertId}/escalation`)).status).toBe(404);
	});

	it("stops when the source resolves the alert: later tiers never fire", async () => {
		const policy = await call("POST", "/api/v1/escalation-policies", {
			name: "Two tiers",
			tiers: [
				{ timeoutSeconds: 300, targets: [{ type: "member", memberId: ids.ada, channels: ["inbox"] }] },
				{ timeoutSeconds: 300, targets: [{ type: "member", memberId: ids.ada, channels: ["slack_dm"] }] },
			],
		});
		await call("PUT", "/api/v1/escalation-routes", {
			routes: [{ matchers: [{ label: "service", op: "=", value: "search" }], policyId: policy.body.policy.id }],
			defaultPolicyId: null,
		});
		const before = slack.messages.length;
		const alert = { title: "Search latency high", severity: "critical", labels: { service: "search" } };
		const fired = await call("POST", "/api/v1/webhooks/generic", alert);
		const alertId = fired.body.alerts[0].alertId;
		await settled();
		expect(await notificationsOf(alertId)).toMatchObject([{ channel: "inbox", status: "sent", tier: 1 }]);
		// An inbox page is delivered by being written, and says so on the timeline and in the metrics.
		const { timeline } = (await call("GET", `/api/v1/alerts/${alertId}`)).body;
		expect(timeline.filter((e: any) => e.type === "notified").map((e: any) => e.details)).toEqual([
			{ channel: "inbox", memberId: ids.ada, pass: 1, tier: 1 },
		]);
		const metrics = (await app.request("GET", "/metrics")).text;
		expect(metrics).toContain(`opswatch_notifications_total{tenant="${tenant.slug}",channel="inbox",outcome="sent"} 1`);
		expect((await call("POST", "/api/v1/webhooks/generic", { ...alert, status: "resolved" })).status).toBe(200);
		clock.advance("10m");
		await settled();
		const escalation = (await call("GET", `/api/v1/alerts/${alertId}/escalation`)).body;
		expect(escalation.escalation.status).toBe("resolved");
		expect(escalation.notifications).toHaveLength(1);
		expect(slack.messages).toHaveLength(before);
	});
});

describe(`throttling a phone in an alert storm (${backendName})`, () => {
	it("sends a number 3 SMS per 10 minutes, then the held pages as one, acknowledged together by its code", async () => {
		const cara = "+4915200000003";
		const member = await call("POST", "/api/v1/members", {
			name: "cara",
			email: "cara@example.com",
			timeZone: "UTC",
			contactMethods: [{ type: "sms", value: cara }],
		});
		await pageWith("Cara by SMS", [{ type: "member", memberId: member.body.member.id, channels: ["sms"] }]);
		const alertIds: string[] = [];
		for (let i = 1; i <= 6; i++) alertIds.push(await fire(`Storm alert ${i}`));
		const phone = twilio.device(cara);
		expect(phone.sms().map((m) => m.body.match(/Storm alert \d/)?.[0])).toEqual([
			"Storm alert 1",
			"Storm alert 2",
			"Storm alert 3",
		]);

		clock.advance("10m");
		await settled();
		expect(phone.sms()).toHaveLength(4);
		const bundle = phone.sms()[3]!;
		// The held pages, in one message (they were raised in the same instant: their order is not defined).
		expect(bundle.body).toMatch(/^\[OpsWatch CRITICAL\] 3 alerts: /);
		expect(bundle.body.match(/Storm alert \d/g)?.sort()).toEqual(["Storm alert 4", "Storm alert 5", "Storm alert 6"]);
		const code = /ACK (\d{6})/.exec(bundle.body)![1];
		const answer = await reply(cara, `ACK ${code}`);
		expect(answer.body).toMatch(/Acknowledged: 3 alerts/);
		expect(await Promise.all(alertIds.map(statusOf))).toEqual([
			"firing",
			"firing",
			"firing",
			"acknowledged",
			"acknowledged",
			"acknowledged",
		]);
	});
});

describe(`the auditor (${backendName})`, () => {
	it("starts the escalation of a paging alert whose start was lost, once", async () => {
		// An app whose ingest pipeline never starts escalations stands for a crash between an alert's
		// commit and its escalation's start; its worker's auditor must page anyway.
		const lossy = await startTestApp({ clock, escalation: { start: async () => {}, stop: async () => {} } });
		try {
			const t = await lossy.newTenant("lossy");
			const request = (method: string, path: string, json?: unknown) =>
				lossy.request(method, path, { key: t.adminKey, ...(json !== undefined && { json }) });
			const member = await request("POST", "/api/v1/members", { name: "Ada", email: "a@example.com", timeZone: "UTC" });
			const policy = await request("POST", "/api/v1/escalation-policies", {
				name: "inbox",
				tiers: [
					{ timeoutSeconds: 300, targets: [{ type: "member", memberId: member.body.member.id, channels: ["inbox"] }] },
				],
			});
			await request("PUT", "/api/v1/escalation-routes", { routes: [], defaultPolicyId: policy.body.policy.id });
			const fired = await request("POST", "/api/v1/webhooks/generic", { title: "Lost start", severity: "critical" });
			const alertId = fired.body.alerts[0].alertId;
			const escalations = lossy.running.container.escalations;
			await escalations.audit();
			// Too fresh: the ingest path may still be starting it.
			expect((await request("GET", `/api/v1/alerts/${alertId}/escalation`)).status).toBe(404);

			clock.advance("11s");
			await escalations.audit();
			await escalations.audit();
			await escalations.settled();
			const escalation = (await request("GET", `/api/v1/alerts/${alertId}/escalation`)).body;
			expect(escalation.escalation.status).toBe("active");
			expect(escalation.notifications).toMatchObject([{ channel: "inbox", status: "sent", tier: 1 }]);
		} finally {
			await lossy.close();
		}
	});
});
