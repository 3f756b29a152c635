// biome-ignore-all lint/suspicious/noExplicitAny: response bodies and Slack payloads are read freely
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";
import { createTestClock } from "../harness/clock.ts";
import { type FakeSlack, startFakeSlack } from "../harness/fake-slack.ts";
import { createSlackSender } from "../harness/slack-requests.ts";

/**
 * The Slack bot's whole loop, against a fake Slack Web API and requests signed as Slack signs
 * them: a critical alert pages with buttons → Acknowledge stops the escalation and redraws the
 * message → resolving posts the summary and, for a fix nobody wrote down, the knowledge-base
 * prompt → its modal creates the entry. Then every `/opswatch` subcommand, mentions of the bot,
 * and what a stranger can't do.
 */

const BOT_TOKEN = "xoxb-acme-workspace-token";
const SIGNING_SECRET = "opswatch-app-signing-secret-0123";
const TEAM = "T0ACME";
const clock = createTestClock(new Date("2026-11-26T10:00:00Z"));
let slack: FakeSlack;
let app: TestApp;
let tenant: TestTenant;
const ids: Record<string, string> = {};
const sender = createSlackSender(
	() => app,
	() => clock.now(),
);

const call = (method: string, path: string, json?: unknown) =>
	app.request(method, path, { key: tenant.adminKey, ...(json !== undefined && { json }) });
const settled = () => app.running.container.escalations.settled();
const signed = (path: string, body: string, options: { contentType?: string; headers?: Record<string, string> } = {}) =>
	sender.post(path, body, { secret: SIGNING_SECRET, ...options });

/** Runs `/opswatch <text>` as a Slack user and returns the HTTP answer's body. */
async function command(text: string, user = "U0ADA", options: { team?: string; triggerId?: string } = {}) {
	const response = await signed(
		"/api/v1/slack/commands",
		sender.command({
			team: options.team ?? TEAM,
			user,
			text,
			responseUrl: slack.responseUrl(randomUUID()),
			triggerId: options.triggerId,
		}),
	);
	expect(response.status, response.text).toBe(200);
	return response.body as { response_type: string; text: string; blocks: any[] } | undefined;
}

const blockText = (message: { blocks?: unknown[] | undefined }) => JSON.stringify(message.blocks ?? []);

function clickPayload(user: string, action: { id: string; value: string }, message: { channel: string; ts: string }) {
	return sender.interaction({
		type: "block_actions",
		team: { id: TEAM, domain: "acme" },
		user: { id: user, username: user.toLowerCase(), team_id: TEAM },
		api_app_id: "A0OPSWATCH",
		trigger_id: `${randomUUID()}.trigger`,
		container: { type: "message", channel_id: message.channel, message_ts: message.ts },
		response_url: slack.responseUrl(randomUUID()),
		actions: [{ action_id: action.id, value: action.value, type: "button", action_ts: String(Math.random()) }],
	});
}

beforeAll(async () => {
	slack = await startFakeSlack({ token: BOT_TOKEN });
	app = await startTestApp({
		clock,
		env: { OPSWATCH_SLACK_API_URL: slack.url, OPSWATCH_SLACK_SIGNING_SECRET: SIGNING_SECRET },
	});
	tenant = await app.newTenant("slackbot");
	const installed = await call("PUT", "/api/v1/slack/installation", {
		teamId: TEAM,
		teamName: "Acme",
		botToken: BOT_TOKEN,
		alertChannel: "C0ALERTS",
	});
	expect(installed.status, installed.text).toBe(200);
	// Ada lists her Slack user id; Bob is known to Slack by the same e-mail address only.
	for (const [name, contactMethods] of [
		["Ada", [{ type: "slack", value: "U0ADA" }]],
		["Bob", []],
	] as const) {
		const member = await call("POST", "/api/v1/members", {
			name,
			email: `${name.toLowerCase()}@example.com`,
			timeZone: "Europe/Berlin",
			contactMethods,
		});
		ids[name] = member.body.member.id;
	}
	slack.setUserEmail("U0BOB", "BOB@example.com");
	const roster = await call("POST", "/api/v1/rosters", {
		name: "Primary",
		timeZone: "Europe/Berlin",
		layers: [
			{
				name: "Weekly",
				participants: [ids.Ada, ids.Bob],
				shiftLength: { unit: "weeks", count: 1 },
				handoffTime: "09:00",
				start: "2026-11-23T09:00:00+01:00",
			},
		],
	});
	expect(roster.status, roster.text).toBe(201);
	const policy = await call("POST", "/api/v1/escalation-policies", {
		name: "Ada, then the channel",
		tiers: [
			{ timeoutSeconds: 300, targets: [{ type: "member", memberId: ids.Ada, channels: ["slack_dm"] }] },
			{ timeoutSeconds: 300, targets: [{ type: "slack_channel", channel: "C0OPS" }] },
		],
	});
	expect(policy.status, policy.text).toBe(201);
	await call("PUT", "/api/v1/escalation-routes", { routes: [], defaultPolicyId: policy.body.policy.id });
});
afterAll(async () => {
	await app?.close();
	await slack?.close();
});

describe(`the Slack bot (${backendName})`, () => {
	it("plays the loop: page → acknowledge → resolve with the summary → knowledge-base prompt → modal → entry", async () => {
		const fired = await call("POST", "/api/v1/webhooks/generic", {
			title: "Disk full on db-1",
			severity: "critical",
			labels: { host: "db-1", alertname: "DiskFull" },
		});
		const alertId = fired.body.alerts[0].alertId;
		await settled();
		const page = await slack.expectMessage({ to: "U0ADA", text: /Disk full on db-1/ });
		const where = { channel: page.channel, ts: page.ts };
		const value = `${tenant.id}:${alertId}`;
		expect(blockText(page)).toContain("alert_acknowledge");

		// Acknowledge: the alert, the escalation (the channel tier never fires), the message, its thread.
		const ack = await signed(
			"/api/v1/slack/interactions",
			clickPayload("U0ADA", { id: "alert_acknowledge", value }, where),
		);
		expect(ack.status).toBe(200);
		const acknowledged = await call("GET", `/api/v1/alerts/${alertId}`);
		expect(acknowledged.body.alert).toMatchObject({ status: "acknowledged", acknowledgedBy: `member:${ids.Ada}` });
		expect((await call("GET", `/api/v1/alerts/${alertId}/escalation`)).body.escalation.status).toBe("acknowledged");
		await settled();
		expect(blockText(slack.messages.find((m) => m.ts === page.ts)!)).toContain("Acknowledged by Ada");
		expect(slack.messages.find((m) => m.threadTs === page.ts)?.text).toBe("Acknowledged by Ada.");
		clock.advance("6m");
		await settled();
		expect(slack.postsIn("C0OPS")).toHaveLength(0);

		// Resolve with what fixed it (the slash command, seen by the channel).
		const resolved = await command(`resolve ${alertId} Rotated the logs and freed 20 GB`);
		expect(resolved).toMatchObject({ response_type: "in_channel" });
		expect(resolved!.text).toMatch(/Ada :white_check_mark: resolved \*Disk full on db-1\*: Rotated the logs/);
		await settled();
		const summary = slack.messages.find((m) => m.threadTs === page.ts && /Resolved by Ada/.test(m.text ?? ""));
		expect(summary, "the resolution summary in the page's thread").toBeDefined();
		expect(blockText(summary!)).toContain("Rotated the logs and freed 20 GB");
		expect(blockText(summary!)).toContain("New issue resolved. Add to knowledge base?");
		const prompts = await call("GET", "/api/v1/incidents/prompts");
		const prompt = prompts.body.prompts.find((p: any) => p.alertId === alertId);
		const addButton = summary!
			.blocks!.flatMap((b: any) => b.elements ?? [])
			.find((e: any) => e.action_id === "kb_prompt_add");
		expect(addButton.value).toBe(`${tenant.id}:${prompt.id}`);

		// The button opens the modal, prefilled from the alert and the resolution.
		const thread = { channel: summary!.channel, ts: summary!.ts };
		const open = await signed(
			"/api/v1/slack/interactions",
			clickPayload("U0ADA", { id: "kb_prompt_add", value: addButton.value }, thread),
		);
		expect(open.status).toBe(200);
		const modal = slack.views.at(-1)!.view;
		expect(modal.callback_id).toBe("kb_add");
		const initial = (block: string) => modal.blocks.find((b: any) => b.block_id === block).element.initial_value;
		expect(initial("title")).toBe("Disk full on db-1");
		expect(initial("solution")).toBe("Rotated the logs and freed 20 GB");

		const submit = (values: Record<string, string>) =>
			signed(
				"/api/v1/slack/interactions",
				sender.interaction({
					type: "view_submission",
					team: { id: TEAM, domain: "acme" },
					user: { id: "U0ADA", username: "ada", team_id: TEAM },
					view: {
						id: "V1",
						type: "modal",
						callback_id: modal.callback_id,
						private_metadata: modal.private_metadata,
						state: {
							values: Object.fromEntries(
								Object.entries(values).map(([k, v]) => [k, { value: { type: "plain_text_input", value: v } }]),
							),
						},
					},
				}),
			);
		// An empty solution is named on its input, and nothing is created.
		const incomplete = await submit({ title: "Disk full on a database host", solution: "  " });
		expect(incomplete.status).toBe(200);
		expect(incomplete.body).toEqual({ response_action: "errors", errors: { solution: "Required." } });

		const saved = await submit({
			title: "Disk full on a database host",
			symptoms: "DiskFull fires for /var",
			root_cause: "Log rotation stopped",
			solution: "Rotate the logs: `logrotate -f /etc/logrotate.conf`",
			tags: "Disk, postgres, disk",
		});
		expect(saved.status).toBe(200);
		expect(saved.text).toBe("");
		const entry = (await call("GET", `/api/v1/incidents/fingerprint/${acknowledged.body.alert.fingerprint}`)).body
			.incident;
		expect(entry).toMatchObject({
			title: "Disk full on a database host",
			rootCause: "Log rotation stopped",
			tags: ["disk", "postgres"],
			createdBy: `member:${ids.Ada}`,
		});
		expect(
			(await call("GET", "/api/v1/incidents/prompts?status=accepted")).body.prompts.map((p: any) => p.id),
		).toContain(prompt.id);
		expect(slack.messages.find((m) => m.threadTs === thread.ts && /added/.test(m.text ?? ""))?.text).toMatch(
			/Ada added "Disk full on a database host" to the knowledge base/,
		);

		// The prompt is answered: submitting again, or clicking again, changes nothing.
		const again = await submit({ title: "Twice", solution: "Again" });
		expect(again.body).toMatchObject({
			response_action: "errors",
			errors: { title: expect.stringMatching(/already accepted/) },
		});
		await signed(
			"/api/v1/slack/interactions",
			clickPayload("U0ADA", { id: "kb_prompt_add", value: addButton.value }, thread),
		);
		expect(slack.responses.at(-1)?.body.text).toMatch(/already accepted/);

		// The next time it fires, the page carries the fix.
		await call("POST", "/api/v1/webhooks/generic", {
			title: "Disk full on db-1",
			severity: "critical",
			labels: { host: "db-1", alertname: "DiskFull" },
		});
		await settled();
		const next = await slack.expectMessage((m) => m.ts !== page.ts && m.channel === page.channel && !m.threadTs);
		expect(blockText(next)).toContain("logrotate -f /etc/logrotate.conf");
	});

	it("tells the threads of earlier pages where an unacknowledged alert went", async () => {
		const fired = await call("POST", "/api/v1/webhooks/generic", {
			title: "Replica lag on db-2",
			severity: "critical",
		});
		const alertId = fired.body.alerts[0].alertId;
		await settled();
		const dm = await slack.expectMessage({ to: "U0ADA", text: /Replica lag on db-2/ });
		clock.advance("5m");
		await settled();
		const posted = await slack.expectMessage({ to: "C0OPS", text: /Replica lag on db-2/ });
		const threadOf = (ts: string) => slack.messages.filter((m) => m.threadTs === ts).map((m) => m.text);
		expect(threadOf(dm.ts)).toEqual([":arrow_up: Not acknowledged yet: escalated to <#C0OPS> (tier 2)."]);
		clock.advance("5m");
		await settled();
		for (const page of [dm, posted]) {
			expect(threadOf(page.ts)).toContain(":rotating_light: Nobody acknowledged: escalation exhausted.");
		}
		await call("PATCH", `/api/v1/alerts/${alertId}/resolve`, {});
		await settled();
	});

	it("answers every /opswatch subcommand", async () => {
		const help = await command("help");
		expect(help!.response_type).toBe("ephemeral");
		for (const sub of ["oncall", "alerts", "ack", "resolve", "search", "kb add", "help"]) {
			expect(help!.text).toContain(`/opswatch ${sub}`);
		}
		expect((await command(""))!.text).toContain("*OpsWatch commands*");
		expect((await command("dance"))!.text).toMatch(/^Unknown command "dance"\./);

		// oncall: Ada's week (from Monday 09:00 Berlin), Bob next; in the asker's zone.
		const oncall = await command("oncall");
		expect(oncall!.text).toBe("*Primary*: *Ada* until Mon 30 Nov 09:00 GMT+1 · next: Bob from Mon 30 Nov 09:00 GMT+1");
		expect((await command("oncall primary"))!.text).toMatch(/^\*Primary\*: \*Ada\*/);
		expect((await command("oncall Secondary"))!.text).toBe('No roster is named "Secondary". Rosters: Primary.');

		// alerts: the open ones, newest first.
		const a = await call("POST", "/api/v1/webhooks/generic", {
			title: "CPU hot on web-1",
			severity: "warning",
			labels: { host: "web-1" },
		});
		clock.advance("1s");
		const b = await call("POST", "/api/v1/webhooks/generic", {
			title: "Queue backlog",
			severity: "major",
			labels: { queue: "mail" },
		});
		const [cpu, queue] = [a.body.alerts[0].alertId, b.body.alerts[0].alertId];
		const listed = await command("alerts");
		expect(listed!.response_type).toBe("ephemeral");
		const listedText = blockText(listed!);
		expect(listedText).toContain("CPU hot on web-1");
		expect(listedText).toContain(cpu);
		expect(listedText.indexOf(queue)).toBeLessThan(listedText.indexOf(cpu));

		// ack: by id, seen by the channel; a bad or unknown id changes nothing.
		expect(await command(`ack ${cpu}`, "U0BOB")).toMatchObject({
			response_type: "in_channel",
			text: "Bob :eyes: acknowledged *CPU hot on web-1*.",
		});
		expect((await call("GET", `/api/v1/alerts/${cpu}`)).body.alert.acknowledgedBy).toBe(`member:${ids.Bob}`);
		expect((await command(`ack ${cpu}`))!.text).toBe("*CPU hot on web-1* was already acknowledged by Bob.");
		expect((await command("ack"))!.text).toMatch(/needs an alert id/);
		expect((await command("ack 42"))!.text).toBe('"42" is not an alert id (`/opswatch alerts` lists them).');
		expect((await command(`ack ${randomUUID()}`))!.text).toMatch(/^Not done: Alert .* does not exist\.$/);

		// resolve: with notes on the timeline.
		expect((await command(`resolve ${queue} Scaled the workers`))!.response_type).toBe("in_channel");
		const resolvedQueue = await call("GET", `/api/v1/alerts/${queue}`);
		expect(resolvedQueue.body.alert).toMatchObject({ status: "resolved", resolutionNotes: "Scaled the workers" });
		expect(resolvedQueue.body.timeline.find((e: any) => e.type === "resolved").details).toEqual({
			notes: "Scaled the workers",
			via: "slack",
		});

		// search: the knowledge base (the entry the loop created, or one made here).
		await call("POST", "/api/v1/incidents", {
			title: "Mail queue backlog",
			symptoms: "queue grows",
			rootCause: "too few workers",
			solution: "Scale the **mail workers** to 4",
			fingerprints: [],
			matchers: [],
			runbookIds: [],
			tags: [],
		});
		const found = await command("search mail workers");
		expect(blockText(found!)).toContain("Mail queue backlog");
		expect(blockText(found!)).toContain("Scale the *mail workers* to 4");
		expect((await command("search zebra unicorn"))!.text).toBe(
			'Nothing in the knowledge base matches "zebra unicorn".',
		);
		expect((await command("search"))!.text).toMatch(/needs words to look for/);

		// kb add: opens the modal, nothing to say.
		const opened = slack.views.length;
		expect(await command("kb add", "U0ADA", { triggerId: "12345.98765.abcd" })).toBeUndefined();
		expect(slack.views).toHaveLength(opened + 1);
		expect(slack.views.at(-1)).toMatchObject({ triggerId: "12345.98765.abcd", view: { callback_id: "kb_add" } });
		expect((await command("kb remove"))!.text).toMatch(/did you mean `\/opswatch kb add`/);
	});

	it("answers a command that takes longer than Slack waits through its response URL", async () => {
		await call("POST", "/api/v1/members", {
			name: "Carol",
			email: "carol@example.com",
			timeZone: "UTC",
			contactMethods: [],
		});
		slack.setUserEmail("U0CAROL", "carol@example.com");
		// Slack's users.info (who is U0CAROL?) answers only after 3 s: past the 3-second budget.
		slack.failNext(1, { delayMs: 3000 });
		const responseUrl = slack.responseUrl("slow-one");
		const response = await signed(
			"/api/v1/slack/commands",
			sender.command({ team: TEAM, user: "U0CAROL", text: "oncall", responseUrl }),
		);
		expect(response.body).toMatchObject({ response_type: "ephemeral", text: "Working on it…" });
		await expect
			.poll(() => slack.responses.find((r) => r.path === "/response/slow-one")?.body, { timeout: 5000 })
			.toMatchObject({ response_type: "ephemeral", text: expect.stringMatching(/^\*Primary\*: \*Ada\*/) });
	});

	it("refuses strangers, other workspaces, forgeries and replays, changing nothing", async () => {
		const fired = await call("POST", "/api/v1/webhooks/generic", { title: "Stranger danger", severity: "warning" });
		const alertId = fired.body.alerts[0].alertId;

		// A Slack user OpsWatch can't map (no contact, no matching e-mail).
		const stranger = await command(`ack ${alertId}`, "U0EVE");
		expect(stranger!.text).toContain(`not linked to an OpsWatch member of "${tenant.slug}"`);
		expect((await command("alerts", "U0EVE"))!.text).toMatch(/not linked/);
		// A workspace nobody installed.
		expect((await command(`ack ${alertId}`, "U0ADA", { team: "T0OTHER" }))!.text).toMatch(/not connected to OpsWatch/);
		await signed(
			"/api/v1/slack/interactions",
			sender.interaction({
				type: "block_actions",
				team: { id: "T0OTHER" },
				user: { id: "U0ADA" },
				response_url: slack.responseUrl("other-team"),
				actions: [{ action_id: "alert_acknowledge", value: `${tenant.id}:${alertId}`, action_ts: "9.9" }],
			}),
		);
		expect(slack.responses.at(-1)).toMatchObject({
			path: "/response/other-team",
			body: { text: expect.stringMatching(/not connected/) },
		});

		// Forged, stale, altered and malformed commands: 401/400.
		const body = sender.command({ team: TEAM, user: "U0ADA", text: `ack ${alertId}` });
		expect(
			(await sender.post("/api/v1/slack/commands", body, { secret: SIGNING_SECRET, signature: null })).status,
		).toBe(401);
		expect((await sender.post("/api/v1/slack/commands", body, { secret: "someone-elses-secret-123" })).status).toBe(
			401,
		);
		const stale = await sender.post("/api/v1/slack/commands", body, {
			secret: SIGNING_SECRET,
			timestamp: Math.floor(clock.now().getTime() / 1000) - 6 * 60,
		});
		expect(stale.status).toBe(401);
		const ts = Math.floor(clock.now().getTime() / 1000);
		const altered = await sender.post("/api/v1/slack/commands", body.replace("U0ADA", "U0BOB"), {
			secret: SIGNING_SECRET,
			timestamp: ts,
			signature: (await import("../../src/slack/index.ts")).slackSignature(SIGNING_SECRET, String(ts), body),
		});
		expect(altered.status).toBe(401);
		const noTeam = await signed("/api/v1/slack/commands", "user_id=U0ADA&command=%2Fopswatch&text=help");
		expect(noTeam.status).toBe(400);
		expect(noTeam.body.error.fields[0].path).toBe("body.team_id");
		expect((await signed("/api/v1/slack/interactions", "payload=%7Bnope")).status).toBe(400);
		const notModal = await signed(
			"/api/v1/slack/interactions",
			sender.interaction({ type: "view_submission", team: { id: TEAM } }),
		);
		expect(notModal.status).toBe(400);
		expect(notModal.body.error.fields.map((f: any) => f.path)).toContain("body.payload.view");
		expect((await call("GET", `/api/v1/alerts/${alertId}`)).body.alert.status).toBe("firing");

		// A modal submission for another tenant's prompt (metadata naming another tenant).
		const other = await app.newTenant("slackother");
		const forgedModal = await signed(
			"/api/v1/slack/interactions",
			sender.interaction({
				type: "view_submission",
				team: { id: TEAM },
				user: { id: "U0ADA" },
				view: {
					callback_id: "kb_add",
					private_metadata: JSON.stringify({ tenantId: other.id }),
					state: { values: { title: { value: { value: "x" } }, solution: { value: { value: "y" } } } },
				},
			}),
		);
		// Another tenant's alert, named from this workspace: unknown here, and untouched there.
		const otherKey = await other.keyFor("admin");
		const theirs = await app.request("POST", "/api/v1/webhooks/generic", {
			key: otherKey,
			json: { title: "Not yours", severity: "critical" },
		});
		const theirId = theirs.body.alerts[0].alertId;
		expect((await command(`ack ${theirId}`))!.text).toBe(`Not done: Alert ${theirId} does not exist.`);
		expect((await app.request("GET", `/api/v1/alerts/${theirId}`, { key: otherKey })).body.alert.status).toBe("firing");
		expect(forgedModal.body).toMatchObject({
			response_action: "errors",
			errors: { title: expect.stringMatching(/not connected/) },
		});
		expect(
			(await other.keyFor("admin").then((key) => app.request("GET", "/api/v1/incidents", { key }))).body.incidents,
		).toEqual([]);
	});

	it("answers mentions and DMs through the worker, once per event however often Slack retries", async () => {
		const events = app.running.container.slackBot.events;
		const event = (eventId: string, inner: Record<string, unknown>) =>
			JSON.stringify({
				token: "deprecated",
				team_id: TEAM,
				api_app_id: "A0OPSWATCH",
				type: "event_callback",
				event_id: eventId,
				event_time: Math.floor(clock.now().getTime() / 1000),
				event: inner,
			});
		const mention = event("Ev0MENTION1", {
			type: "app_mention",
			user: "U0ADA",
			text: "<@U0OPSWATCH> oncall",
			channel: "C0OPS",
			ts: "1764151200.000100",
		});
		const first = await signed("/api/v1/slack/events", mention, { contentType: "application/json" });
		expect(first.status).toBe(200);
		const retried = await signed("/api/v1/slack/events", mention, {
			contentType: "application/json",
			headers: { "x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout" },
		});
		expect(retried.status).toBe(200);
		await events.settled();
		const replies = slack.messages.filter((m) => m.threadTs === "1764151200.000100");
		expect(replies).toHaveLength(1);
		expect(replies[0]).toMatchObject({ channel: "C0OPS", text: expect.stringMatching(/^\*Primary\*: \*Ada\*/) });

		// A DM to the bot, from Bob (known by e-mail); the bot's own messages are not answered.
		await signed(
			"/api/v1/slack/events",
			event("Ev0DM1", {
				type: "message",
				channel_type: "im",
				user: "U0BOB",
				text: "help",
				channel: "D0BOB",
				ts: "1764151300.000100",
			}),
			{ contentType: "application/json" },
		);
		await signed(
			"/api/v1/slack/events",
			event("Ev0DM2", {
				type: "message",
				channel_type: "im",
				bot_id: "B0OPSWATCH",
				text: "help",
				channel: "D0BOB",
				ts: "1764151301.000100",
			}),
			{ contentType: "application/json" },
		);
		await events.settled();
		const dms = slack.postsIn("D0BOB");
		expect(dms).toHaveLength(1);
		expect(dms[0]!.text).toContain("*OpsWatch commands*");
		expect(dms[0]!.threadTs).toBeUndefined();

		// Unsigned events are refused; url_verification answers only when signed.
		expect(
			(
				await sender.post("/api/v1/slack/events", mention, {
					secret: SIGNING_SECRET,
					signature: "v0=00",
					contentType: "application/json",
				})
			).status,
		).toBe(401);
		const challenge = JSON.stringify({ type: "url_verification", challenge: "c-123", token: "x" });
		expect((await signed("/api/v1/slack/events", challenge, { contentType: "application/json" })).body).toEqual({
			challenge: "c-123",
		});
	});
});
