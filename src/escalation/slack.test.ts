import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeSlack, startFakeSlack } from "../../test/harness/fake-slack.ts";
import { ChannelError, type OutgoingNotification } from "./channels.ts";
import { createSlackChannels } from "./slack.ts";

const token = "xoxb-test-0123456789-secret";
let slack: FakeSlack;
let keySeq = 0;

beforeAll(async () => {
	slack = await startFakeSlack({ token });
});
afterAll(async () => {
	await slack?.close();
});

const notification = (overrides: Partial<OutgoingNotification> = {}): OutgoingNotification => ({
	id: "ob_1",
	key: `esc_1:0:1:ann:slack:${++keySeq}`,
	tenant: { id: "t_1", slug: "acme", schema: "tenant_acme" },
	alert: {
		id: "al_42",
		title: "Disk full on db-1",
		severity: "critical",
		labels: { host: "db-1" },
		solution: null,
		runbookUrl: null,
		url: "https://opswatch.example.com/alerts/al_42",
	},
	destination: "U0ANN",
	ackCode: "K7Q",
	claimedAt: new Date(),
	...overrides,
});

const channels = (options: { token?: string; timeoutMs?: number } = {}) =>
	createSlackChannels({
		tokenFor: async () => options.token ?? token,
		apiUrl: slack.url,
		timeoutMs: options.timeoutMs,
	});

/** The ChannelError a promise rejects with (fails the test when it resolves). */
async function channelError(promise: Promise<unknown>): Promise<ChannelError> {
	const error = await promise.then(
		() => undefined,
		(e: unknown) => e,
	);
	expect(error).toBeInstanceOf(ChannelError);
	return error as ChannelError;
}

describe("Slack DM channel", () => {
	it("opens the DM and posts the page with the key as metadata and an Acknowledge button", async () => {
		const n = notification({ destination: "U0DMSEND" });
		const delivery = await channels().dm.send(n);

		const message = await slack.expectMessage({ to: "U0DMSEND", text: /Disk full on db-1/ });
		expect(delivery.providerRef).toBe(`${slack.dmChannelOf("U0DMSEND")}:${message.ts}`);
		expect(message.text).toBe("[CRITICAL] Disk full on db-1");
		expect(message.metadata).toEqual({ event_type: "opswatch_notification", event_payload: { key: n.key } });
		expect(JSON.stringify(message.blocks)).toContain('"action_id":"alert_acknowledge"');
		expect(message.blocks).toContainEqual(
			expect.objectContaining({
				type: "actions",
				elements: expect.arrayContaining([
					// The button names the tenant and the alert, so a click needs no lookup across tenants.
					expect.objectContaining({ action_id: "alert_acknowledge", value: "t_1:al_42", style: "primary" }),
				]),
			}),
		);
		expect(slack.requests.filter((r) => r.method === "conversations.open").at(-1)?.params).toMatchObject({
			users: "U0DMSEND",
		});
	});

	it("finds the earlier delivery by key after a crash, and nothing for another key", async () => {
		const dm = channels().dm;
		const n = notification({ destination: "U0FINDME" });
		const sent = await dm.send(n);
		await dm.send(notification({ destination: "U0FINDME" }));

		expect(await dm.findDelivered(n)).toEqual(sent);
		expect(await dm.findDelivered(notification({ destination: "U0FINDME" }))).toBeUndefined();
	});

	it("asks for history since a minute before the claim, with metadata", async () => {
		const claimedAt = new Date("2026-03-01T10:00:00.250Z");
		await channels().dm.findDelivered(notification({ destination: "U0HIST", claimedAt }));
		expect(slack.requests.at(-1)).toMatchObject({
			method: "conversations.history",
			params: { channel: slack.dmChannelOf("U0HIST"), oldest: "1772359140.250000", include_all_metadata: true },
		});
	});
});

describe("Slack channel post", () => {
	it("posts to the channel id directly and finds it again", async () => {
		const n = notification({ destination: "C0TEAM01" });
		const { channel } = channels();
		const delivery = await channel.send(n);

		const [post] = slack.postsIn("C0TEAM01");
		expect(delivery.providerRef).toBe(`C0TEAM01:${post?.ts}`);
		expect(slack.requests.filter((r) => r.method === "conversations.open" && r.params.users === "C0TEAM01")).toEqual(
			[],
		);
		expect(await channel.findDelivered(n)).toEqual(delivery);
		expect(await channel.findDelivered(notification({ destination: "C0TEAM01" }))).toBeUndefined();
	});

	it("pages through a busy channel's history to find an older delivery", async () => {
		const { channel } = channels();
		const n = notification({ destination: "C0BUSY01" });
		const sent = await channel.send(n);
		for (let i = 0; i < 150; i++) await channel.send(notification({ destination: "C0BUSY01" }));
		expect(await channel.findDelivered(n)).toEqual(sent);
	});
});

describe("Slack errors", () => {
	it.each([
		["HTTP 500", { status: 500 }, /HTTP 500/],
		["HTTP 503", { status: 503 }, /HTTP 503/],
		["429 with Retry-After", { status: 429, retryAfter: 30 }, /rate limited \(retry after 30 s\)/],
		["ratelimited", { error: "ratelimited" }, /ratelimited/],
		["internal_error", { error: "internal_error" }, /internal_error/],
	])("%s is retryable", async (_name, failure, message) => {
		slack.failNext(1, failure);
		const error = await channelError(channels().channel.send(notification({ destination: "C0ERR001" })));
		expect(error.retryable).toBe(true);
		expect(error.message).toMatch(message);
	});

	it.each(["channel_not_found", "user_not_found", "not_in_channel", "account_inactive", "is_archived"])(
		"%s is not retryable and named in the message",
		async (code) => {
			slack.failNext(1, { error: code });
			const error = await channelError(channels().dm.send(notification()));
			expect(error.retryable).toBe(false);
			expect(error.message).toBe(`Slack conversations.open failed: ${code}`);
		},
	);

	it("a channel id Slack does not know is not retryable", async () => {
		const error = await channelError(channels().channel.send(notification({ destination: "bogus" })));
		expect(error).toMatchObject({ retryable: false, message: "Slack chat.postMessage failed: channel_not_found" });
	});

	it("a timeout or a closed port is retryable", async () => {
		slack.failNext(1, { delayMs: 1000 });
		const slow = await channelError(channels({ timeoutMs: 100 }).channel.send(notification({ destination: "C0SLOW" })));
		expect(slow).toMatchObject({ retryable: true, message: "Slack chat.postMessage request failed: timed out" });

		const gone = await startFakeSlack({ token });
		const url = gone.url;
		await gone.close();
		const refused = await channelError(
			createSlackChannels({ tokenFor: async () => token, apiUrl: url }).channel.send(
				notification({ destination: "C0GONE" }),
			),
		);
		expect(refused).toMatchObject({ retryable: true, message: "Slack chat.postMessage request failed: ECONNREFUSED" });
	});

	it("a tenant without a Slack token is told apart from a passing failure, and nothing is sent", async () => {
		const before = slack.requests.length;
		const unsent = await channelError(
			createSlackChannels({ tokenFor: async () => undefined, apiUrl: slack.url }).dm.send(notification()),
		);
		expect(unsent).toMatchObject({ retryable: false, message: "Slack is not installed for tenant acme" });
		expect(slack.requests.length).toBe(before);
	});

	it("never puts the token in an error message", async () => {
		const wrong = "xoxb-wrong-token-9876543210";
		const auth = await channelError(channels({ token: wrong }).dm.send(notification()));
		expect(auth).toMatchObject({ retryable: false, message: "Slack conversations.open failed: invalid_auth" });

		// Even when Slack (or a proxy) echoes the token back in an error code.
		slack.failNext(1, { error: `bad_${token}` });
		const echoed = await channelError(channels().channel.send(notification({ destination: "C0ECHO01" })));

		slack.failNext(1, { status: 502 });
		const http = await channelError(channels().channel.send(notification({ destination: "C0ECHO01" })));

		for (const [error, secret] of [
			[auth, wrong],
			[echoed, token],
			[http, token],
		] as const) {
			expect(error.message).not.toContain(secret);
			expect(String(error)).not.toContain(secret);
			expect(error.stack ?? "").not.toContain(secret);
		}
	});
});
