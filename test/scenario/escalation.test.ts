// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are read freely
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { threadsToTell } from "../../src/escalation/outbox-store.ts";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";
import { createTestClock } from "../harness/clock.ts";
import { type FakeSlack, startFakeSlack } from "../harness/fake-slack.ts";
import { type FakeTwilio, startFakeTwilio } from "../harness/fake-twilio.ts";

/**
 * Spec §4.2 end to end, on the real server with a hand-moved clock and local fakes of Slack and
 * Twilio: tier 1 Slack DM → 5 minutes → tier 2 Slack DM + phone call → keypress 1 acknowledges →
 * nobody else is paged; and the dry run predicted exactly that.
 */

const SLACK_TOKEN = "xoxb-test-escalation";
const TWILIO = { accountSid: `AC${"a1".repeat(16)}`, authToken: "twilio-test-auth-token-0123456789" };
const FROM = "+4930555000";
const people = {
	ada: { slack: "U0ADA", phone: "+4915100000001" },
	bob: { slack: "U0BOB", phone: "+4915100000002" },
	cleo: { slack: "U0CLEO", phone: "+4915100000003" },
};

const clock = createTestClock(new Date("2026-11-26T10:00:00Z"));
let slack: FakeSlack;
let twilio: FakeTwilio;
let app: TestApp;
let tenant: TestTenant;
const ids: Record<string, string> = {};

const call = (method: string, path: string, json?: unknown, key = tenant.adminKey) =>
	app.request(method, path, { key, ...(json !== undefined && { json }) });
const settled = () => app.running.container.escalations.settled();

beforeAll(async () => {
	slack = await startFakeSlack({ token: SLACK_TOKEN });
	twilio = await startFakeTwilio({ ...TWILIO, now: () => clock.now() });
	app = await startTestApp({
		clock,
		reachable: true,
		captureLogs: true,
		env: {
			OPSWATCH_SLACK_BOT_TOKEN: SLACK_TOKEN,
			OPSWATCH_SLACK_API_URL: slack.url,
			OPSWATCH_TWILIO_ACCOUNT_SID: TWILIO.accountSid,
			OPSWATCH_TWILIO_AUTH_TOKEN: TWILIO.authToken,
			OPSWATCH_TWILIO_FROM_NUMBER: FROM,
			OPSWATCH_TWILIO_API_URL: twilio.url,
		},
	});
	tenant = await app.newTenant("page");
	// Ada wants an SMS 2 minutes into any page of hers, Bob one after 3 minutes.
	const rules = { ada: [{ channel: "sms", afterMinutes: 2 }], bob: [{ channel: "sms", afterMinutes: 3 }], cleo: [] };
	for (const [name, contact] of Object.entries(people)) {
		const created = await call("POST", "/api/v1/members", {
			name,
			email: `${name}@example.com`,
			timeZone: "Europe/Berlin",
			contactMethods: [
				{ type: "slack", value: contact.slack },
				{ type: "phone", value: contact.phone },
			],
			notificationRules: rules[name as keyof typeof rules],
		});
		expect(created.status, created.text).toBe(201);
		ids[name] = created.body.member.id;
	}
	const roster = await call("POST", "/api/v1/rosters", {
		name: "Primary",
		timeZone: "Europe/Berlin",
		layers: [
			{
				name: "Weekly",
				participants: [ids.ada, ids.bob],
				shiftLength: { unit: "weeks", count: 1 },
				handoffTime: "09:00",
				start: "2026-11-23T09:00:00+01:00",
			},
		],
	});
	expect(roster.status, roster.text).toBe(201);
	const policy = await call("POST", "/api/v1/escalation-policies/from-template", {
		template: "default",
		rosterId: roster.body.roster.id,
		leadMemberId: ids.cleo,
		teamChannel: "C0TEAM01",
		emergencyChannel: "C0EMERG1",
	});
	expect(policy.status, policy.text).toBe(201);
	ids.policy = policy.body.policy.id;
	const routes = await call("PUT", "/api/v1/escalation-routes", { routes: [], defaultPolicyId: ids.policy });
	expect(routes.status, routes.text).toBe(200);
});
afterAll(async () => {
	await app?.close();
	await slack?.close();
	await twilio?.close();
});

describe(`escalation of a critical alert, spec §4.2 (${backendName})`, () => {
	it("pages tier 1 by Slack DM, tier 2 by Slack DM and phone after 5 minutes, and stops at keypress 1", async () => {
		const start = clock.now();
		const dryRun = await call("GET", `/api/v1/escalation-policies/${ids.policy}/test?start=${start.toISOString()}`);
		expect(dryRun.status).toBe(200);

		const ingest = await call("POST", "/api/v1/webhooks/generic", {
			title: "Disk full on db-1",
			severity: "critical",
			labels: { service: "postgres", host: "db-1" },
		});
		expect(ingest.status, ingest.text).toBe(200);
		const alertId = ingest.body.alerts[0].alertId;
		await settled();

		// Tier 1: Ada, on call, by Slack DM with the alert and its buttons. Push is not configured
		// here, so it lands in her inbox, and says so. Nobody else hears anything yet.
		const dm = await slack.expectMessage({ to: people.ada.slack, text: /Disk full on db-1/ });
		expect(JSON.stringify(dm.blocks)).toContain("alert_acknowledge");
		expect(slack.messages).toHaveLength(1);
		expect(twilio.calls).toHaveLength(0);
		const adaInbox = await call("GET", `/api/v1/members/${ids.ada}/notifications?channel=inbox`);
		expect(adaInbox.body.notifications).toMatchObject([
			{ alertId, requestedChannel: "push", channel: "inbox", status: "sent", tier: 1 },
		]);

		// Two minutes on, Ada's own rule texts her; four minutes on, still nothing else.
		clock.advance("2m");
		await settled();
		const text = await twilio.device(people.ada.phone).expectSMS(/Disk full on db-1/);
		expect(text.body).toMatch(/Reply ACK \d{6} to acknowledge/);
		clock.advance("2m");
		await settled();
		expect(slack.messages).toHaveLength(1);
		expect(twilio.calls).toHaveLength(0);

		// At five minutes, tier 2: Bob, the backup, by Slack DM and a phone call.
		clock.advance("1m");
		await settled();
		await slack.expectMessage({ to: people.bob.slack, text: /Disk full on db-1/ });
		const ring = await twilio.device(people.bob.phone).expectCall();
		expect(ring.from).toBe(FROM);
		expect(ring.twiml).toMatch(/Disk full on db-1/);
		expect(ring.twiml).toMatch(/Press 1 to acknowledge/);

		// Both Slack pages are threads that would hear where the escalation goes next.
		const threads = () => threadsToTell(app.database.db, `tenant_${tenant.slug}`, [alertId]);
		expect((await threads()).map((t) => t.providerRef.split(":")[0])).toEqual([
			slack.dmChannelOf(people.ada.slack),
			slack.dmChannelOf(people.bob.slack),
		]);

		// Bob presses 1: the alert is acknowledged, by him, by phone.
		const pressed = await twilio.pressKey(ring.sid, "1");
		expect(pressed.status).toBe(200);
		expect(pressed.body).toMatch(/Acknowledged/);
		const alert = await call("GET", `/api/v1/alerts/${alertId}`);
		expect(alert.body.alert.status).toBe("acknowledged");
		expect(alert.body.alert.acknowledgedBy).toBe(`member:${ids.bob}`);
		expect(alert.body.timeline.find((e: any) => e.type === "acknowledged").details).toEqual({ via: "phone" });
		// News of where it went next would now be stale: no thread is left to tell.
		expect(await threads()).toEqual([]);

		// Every Slack page of the alert now says who took it, and offers no Acknowledge button.
		await settled();
		for (const user of ["U0ADA", "U0BOB"]) {
			const [page] = slack.dmsTo(user);
			expect(JSON.stringify(page?.blocks)).toContain("Acknowledged by bob");
			expect(JSON.stringify(page?.blocks)).not.toContain("alert_acknowledge");
			// An edit notifies nobody: a reply in the page's thread does.
			expect(slack.messages.filter((m) => m.threadTs === page?.ts).map((m) => m.text)).toEqual([
				// Ada's page heard where the alert went when she didn't answer.
				...(user === "U0ADA" ? [":arrow_up: Not acknowledged yet: escalated to *bob* (tier 2)."] : []),
				"Acknowledged by bob.",
			]);
		}
		expect(alert.body.timeline.map((e: any) => e.type)).toEqual(
			expect.arrayContaining(["created", "escalated", "notified", "acknowledged"]),
		);

		// Tier 3 would have called Cleo at 15 minutes; nothing more goes out, ever.
		clock.advance("30m");
		await settled();
		const pagesSent = slack.messages.filter((m) => !m.threadTs);
		expect(pagesSent.map((m) => m.channel)).toEqual([slack.dmChannelOf("U0ADA"), slack.dmChannelOf("U0BOB")]);
		expect(twilio.calls.map((c) => c.to)).toEqual([people.bob.phone]);
		// Bob's own follow-up SMS (due at 8 minutes) was cancelled by his acknowledgement.
		expect(twilio.messages.map((m) => m.to)).toEqual([people.ada.phone]);
		const escalation = await call("GET", `/api/v1/alerts/${alertId}/escalation`);
		expect(escalation.body.escalation).toMatchObject({ status: "acknowledged", nextActionAt: null });

		// The dry run predicted exactly these pages: who, how, and when.
		const acknowledgedAt = new Date(start.getTime() + 5 * 60_000);
		const predicted = dryRun.body.steps
			.filter((s: any) => s.kind === "notify" && new Date(s.at) <= acknowledgedAt)
			.map((s: any) => [s.at, s.tier + 1, s.memberId, s.channel])
			.sort();
		const pages = escalation.body.notifications;
		const done = pages
			.filter((n: any) => n.status === "sent")
			.map((n: any) => [n.scheduledAt, n.tier, n.memberId, n.requestedChannel])
			.sort();
		expect(done).toEqual(predicted);
		expect(pages.filter((n: any) => n.status !== "sent").map((n: any) => [n.status, n.memberId, n.channel])).toEqual([
			["cancelled", ids.bob, "sms"],
		]);

		// What Prometheus sees: two tiers fired, two Slack DMs, a response after tier 2, nothing overdue.
		const metrics = (await app.request("GET", "/metrics")).text;
		const slug = tenant.slug;
		expect(metrics).toContain(`opswatch_alerts_escalated_total{tenant="${slug}",tier="1"} 1`);
		expect(metrics).toContain(`opswatch_alerts_escalated_total{tenant="${slug}",tier="2"} 1`);
		expect(metrics).toContain(`opswatch_slack_notifications_total{tenant="${slug}",type="dm"} 2`);
		expect(metrics).toContain(`opswatch_escalation_response_time_seconds_count{tenant="${slug}",tier="2"} 1`);
		expect(metrics).toMatch(/^opswatch_escalation_overdue_timers 0$/m);

		// The operator's log says who was paged how, and never a phone number, Slack id or credential.
		const fired = app.logs.filter((line) => line.includes("escalation tier fired")).map((line) => JSON.parse(line));
		expect(fired.map((entry) => [entry.tier, entry.pages.map((p: any) => `${p.member}:${p.channel}`)])).toEqual([
			[1, ["ada:slack_dm", "ada:push", "ada:sms"]],
			[2, ["bob:slack_dm", "bob:phone", "bob:sms"]],
		]);
		const everything = app.logs.join("\n");
		for (const secret of [...Object.values(people).flatMap((p) => [p.phone, p.slack]), SLACK_TOKEN, TWILIO.authToken]) {
			expect(everything).not.toContain(secret);
		}
	});
});
