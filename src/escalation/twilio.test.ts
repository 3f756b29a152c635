import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeTwilio, startFakeTwilio } from "../../test/harness/fake-twilio.ts";
import { ChannelError, type OutgoingNotification } from "./channels.ts";
import {
	callTwiml,
	createTwilio,
	gatherResponseTwiml,
	parseAckReply,
	plainText,
	SMS_MAX_LENGTH,
	smsBody,
	smsReplyTwiml,
	twilioSignature,
	verifyTwilioSignature,
} from "./twilio.ts";

const accountSid = `AC${"0123456789abcdef".repeat(2)}`;
const authToken = "test-auth-token-5f3a9c";
const from = "+15005550006";
const publicUrl = "https://opswatch.example.com";

let nextId = 0;
/** A notification as the outbox hands it over; override what a test is about. */
function notification(
	overrides: Partial<Omit<OutgoingNotification, "alert">> & { alert?: Partial<OutgoingNotification["alert"]> } = {},
): OutgoingNotification {
	nextId++;
	const { alert, ...rest } = overrides;
	return {
		id: `n-${nextId}`,
		key: `esc-1:0:1:person-1:sms:${nextId}`,
		tenant: { id: "t-1", slug: "acme", schema: "tenant_acme" },
		destination: "+15558675310",
		ackCode: "482913",
		claimedAt: new Date(),
		...rest,
		alert: {
			id: "a-1",
			title: "Disk full on db-1",
			severity: "critical",
			labels: { host: "db-1" },
			solution: null,
			runbookUrl: null,
			url: "https://opswatch.example.com/alerts/a-1",
			...alert,
		},
	};
}

/** What `ChannelError` a promise rejects with (fails the test if it resolves or throws something else). */
async function channelError(promise: Promise<unknown>): Promise<ChannelError> {
	const error = await promise.then(
		() => undefined,
		(e: unknown) => e,
	);
	expect(error).toBeInstanceOf(ChannelError);
	return error as ChannelError;
}

describe("twilioSignature", () => {
	// https://www.twilio.com/docs/usage/webhooks/webhooks-security (the worked example)
	const url = "https://mycompany.com/myapp.php?foo=1&bar=2";
	const params = {
		CallSid: "CA1234567890ABCDE",
		Caller: "+12349013030",
		Digits: "1234",
		From: "+12349013030",
		To: "+18005551212",
	};

	it("matches Twilio's documented example", () => {
		expect(twilioSignature("12345", url, params)).toBe("0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
	});

	it("does not depend on the order the params arrive in", () => {
		const reversed = Object.fromEntries(Object.entries(params).reverse());
		expect(twilioSignature("12345", url, reversed)).toBe("0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
	});

	it("verifies the right header and rejects altered requests", () => {
		const header = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";
		expect(verifyTwilioSignature("12345", url, params, header)).toBe(true);
		expect(verifyTwilioSignature("12345", url, { ...params, Digits: "1" }, header)).toBe(false);
		expect(verifyTwilioSignature("12345", url, { ...params, Extra: "x" }, header)).toBe(false);
		expect(verifyTwilioSignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=3", params, header)).toBe(false);
		expect(verifyTwilioSignature("54321", url, params, header)).toBe(false);
		expect(verifyTwilioSignature("12345", url, params, undefined)).toBe(false);
		expect(verifyTwilioSignature("12345", url, params, "")).toBe(false);
		expect(verifyTwilioSignature("12345", url, params, header.slice(0, -1))).toBe(false);
		expect(verifyTwilioSignature("12345", url, params, `${header}A`)).toBe(false);
		expect(verifyTwilioSignature("12345", url, params, "é".repeat(14))).toBe(false);
	});
});

describe("callTwiml", () => {
	it("escapes the title and the fix, and points the gather at OpsWatch", () => {
		const twiml = callTwiml(
			notification({
				id: "n-42",
				tenant: { id: "t-9", slug: "acme", schema: "tenant_acme" },
				alert: { title: `Latency > 5s & errors < 1% on "api" <script>`, solution: "Run `kill -HUP` & wait" },
			}),
			`${publicUrl}/`,
		);
		expect(twiml).toContain("<Say>OpsWatch alert. Severity critical. Latency &gt; 5s &amp; errors &lt; 1% on ");
		expect(twiml).toContain("&quot;api&quot; &lt;script&gt;.</Say>");
		expect(twiml).toContain("<Say>Known fix: Run kill -HUP &amp; wait.</Say>");
		expect(twiml).toContain(
			'<Gather numDigits="1" timeout="10" action="https://opswatch.example.com/api/v1/telephony/twilio/gather?tenant=t-9&amp;notification=n-42" method="POST"><Say>Press 1 to acknowledge.</Say></Gather>',
		);
		expect(twiml).not.toMatch(/<script|&(?!amp;|lt;|gt;|quot;|apos;)/);
		expect(twiml.indexOf("</Gather><Say>")).toBeGreaterThan(0);
	});

	it("leaves out the fix when there is none, and keeps a long one short", () => {
		expect(callTwiml(notification(), publicUrl)).not.toContain("Known fix");
		const long = callTwiml(notification({ alert: { solution: "word ".repeat(500) } }), publicUrl);
		const fix = /<Say>Known fix: (.*?)<\/Say>/.exec(long)?.[1] ?? "";
		expect(fix.length).toBeGreaterThan(500);
		expect(fix.length).toBeLessThanOrEqual(610);
	});

	it("stays under Twilio's 4,000 characters when escaping blows up", () => {
		const twiml = callTwiml(
			notification({ alert: { title: "&".repeat(1024), solution: "<".repeat(5000) } }),
			publicUrl,
		);
		expect(twiml.length).toBeLessThanOrEqual(4000);
		expect(twiml).toContain("Press 1 to acknowledge.");
	});
});

describe("smsBody", () => {
	it("reads as the alert, the fix and the ACK instruction", () => {
		expect(smsBody(notification({ alert: { solution: "**Restart** the `postgres` service." } }))).toBe(
			"[OpsWatch CRITICAL] Disk full on db-1 Fix: Restart the postgres service. Reply ACK 482913 to acknowledge.",
		);
		expect(smsBody(notification())).toBe("[OpsWatch CRITICAL] Disk full on db-1 Reply ACK 482913 to acknowledge.");
	});

	it.each([
		["a long title", "T".repeat(1024), null],
		["a long fix", "Disk full on db-1", "fix ".repeat(400)],
		["both long", "title ".repeat(200), "fix ".repeat(400)],
		["emoji at the cut", "🔥".repeat(600), "🧯".repeat(600)],
	])("stays within %s characters with %s, keeping the ACK instruction", (_, title, solution) => {
		const body = smsBody(notification({ alert: { title, solution } }));
		expect(body.length).toBeLessThanOrEqual(SMS_MAX_LENGTH);
		expect(body.endsWith(" Reply ACK 482913 to acknowledge.")).toBe(true);
		expect(body.startsWith("[OpsWatch CRITICAL] ")).toBe(true);
		expect(body).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/); // no half of a surrogate pair
	});

	it("keeps most of the title when the fix is long", () => {
		const title = "Replication lag above 30s on db-2 for the last 10 minutes";
		const body = smsBody(notification({ alert: { title, solution: "step ".repeat(400) } }));
		expect(body).toContain(title);
		expect(body).toMatch(/Fix: step step .*\.\.\. Reply ACK/);
	});
});

describe("plainText", () => {
	it.each([
		["# Restart\n\nRun `systemctl restart nginx`.", "Restart. Run systemctl restart nginx."],
		["See [the runbook](https://wiki/x) and ![graph](g.png)", "See the runbook and graph"],
		["- **one**\n- _two_\n1. three", "one. two. three"],
		["> quoted ~~old~~ text", "quoted old text"],
		["```sh\nsudo rm /tmp/lock\n```", "sudo rm /tmp/lock"],
		["Check pg_stat_activity and *idle* sessions", "Check pg_stat_activity and idle sessions"],
		["a\n\n---\n\nb<br/>", "a. b"],
		["| host | fix |\n|---|:---:|\n| db-1 | restart |", "host fix. db-1 restart"],
	])("%j → %j", (markdown, text) => {
		expect(plainText(markdown)).toBe(text);
	});
});

describe("parseAckReply", () => {
	it.each([
		["ACK 123456", "123456"],
		["ack 123456", "123456"],
		[" Ack   123456 ", "123456"],
		["ACK 1234", "1234"],
		["ACK 12345678", "12345678"],
		["ack:123456", "123456"],
		["ACK123456", "123456"],
		["ACK 123456.", "123456"],
		["123456", undefined],
		["ACK", undefined],
		["ACK 123", undefined],
		["ACK 123456789", undefined],
		["ACK 12a456", undefined],
		["ACK 123456 please", undefined],
		["please ACK 123456", undefined],
		["ACKNOWLEDGE 123456", undefined],
		["", undefined],
	])("%j → %j", (body, code) => {
		expect(parseAckReply(body)).toBe(code);
	});
});

describe("webhook answers", () => {
	it("escape the message", () => {
		expect(smsReplyTwiml("Acknowledged <Disk & co>")).toBe(
			'<?xml version="1.0" encoding="UTF-8"?><Response><Message>Acknowledged &lt;Disk &amp; co&gt;</Message></Response>',
		);
		expect(gatherResponseTwiml(true, "Acknowledged. Thank you.")).toBe(
			'<?xml version="1.0" encoding="UTF-8"?><Response><Say>Acknowledged. Thank you.</Say><Hangup/></Response>',
		);
	});

	it("offer the keypress again when asked to", () => {
		const twiml = gatherResponseTwiml(false, "That was not 1.", { retryUrl: "https://x/gather?a=1&b=2" });
		expect(twiml).toContain('action="https://x/gather?a=1&amp;b=2"');
		expect(twiml).toContain("<Say>That was not 1.</Say>");
		expect(gatherResponseTwiml(false, "Already resolved.")).not.toContain("<Gather");
	});
});

describe("createTwilio against the fake", () => {
	let fake: FakeTwilio;
	const twilio = () => createTwilio({ apiUrl: fake.url, accountSid, authToken, from, publicUrl, timeoutMs: 5000 });

	beforeAll(async () => {
		fake = await startFakeTwilio({ accountSid, authToken });
	});
	afterAll(() => fake.close());

	it("places a call with the TwiML and status callback", async () => {
		const n = notification({ destination: "+15550000001", alert: { title: "Disk & CPU" } });
		const { providerRef } = await twilio().call.send(n);
		expect(providerRef).toMatch(/^CA[0-9a-f]{32}$/);
		const call = await fake.device("+15550000001").expectCall();
		expect(call).toMatchObject({ sid: providerRef, to: "+15550000001", from });
		expect(call.twiml).toContain("Severity critical. Disk &amp; CPU.");
		expect(call.statusCallback).toBe(
			`https://opswatch.example.com/api/v1/telephony/twilio/status?tenant=t-1&notification=${n.id}`,
		);
	});

	it("sends an SMS with the ACK code", async () => {
		const n = notification({ destination: "+15550000002", ackCode: "771122" });
		const { providerRef } = await twilio().sms.send(n);
		expect(providerRef).toMatch(/^SM[0-9a-f]{32}$/);
		const sms = await fake.device("+15550000002").expectSMS(/Reply ACK 771122/);
		expect(sms).toMatchObject({ sid: providerRef, from, body: smsBody(n) });
		expect(sms.statusCallback).toContain(`/api/v1/telephony/twilio/status?tenant=t-1&notification=${n.id}`);
	});

	it("calls 429 and 5xx retryable", async () => {
		fake.failNext(1, 500);
		expect((await channelError(twilio().sms.send(notification()))).retryable).toBe(true);
		fake.failNext(1, 429);
		expect((await channelError(twilio().call.send(notification()))).retryable).toBe(true);
		fake.failNext(1, 503);
		const error = await channelError(twilio().sms.send(notification()));
		expect(error.retryable).toBe(true);
		expect(error.message).toContain("HTTP 503");
	});

	it("calls other 4xx final, with Twilio's code but never the number or a credential", async () => {
		const destination = "+15557654321";
		fake.failNext(1, 400);
		const error = await channelError(twilio().sms.send(notification({ destination })));
		expect(error.retryable).toBe(false);
		expect(error.message).toContain("error 21211");
		expect(error.message).toContain("is not a valid phone number");
		for (const secret of [destination, "5557654321", authToken, accountSid])
			expect(error.message).not.toContain(secret);

		// The fake's own validation, as Twilio's: the message quotes the refused number.
		const invalid = await channelError(twilio().call.send(notification({ destination: "0044 20 7946 0958" })));
		expect(invalid.retryable).toBe(false);
		expect(invalid.message).not.toMatch(/7946|0958/);
	});

	it("calls a wrong auth token final, without quoting it", async () => {
		const wrong = createTwilio({ apiUrl: fake.url, accountSid, authToken: "wrong-token", from, publicUrl });
		const error = await channelError(wrong.sms.send(notification()));
		expect(error.retryable).toBe(false);
		expect(error.message).toContain("error 20003");
		expect(error.message).not.toContain("wrong-token");
		expect(error.message).not.toContain(accountSid);
	});

	it("calls an unreachable or silent Twilio retryable", async () => {
		const gone = await startFakeTwilio({ accountSid, authToken });
		await gone.close();
		const refused = createTwilio({ apiUrl: gone.url, accountSid, authToken, from, publicUrl });
		const error = await channelError(refused.sms.send(notification()));
		expect(error.retryable).toBe(true);
		expect(error.message).not.toContain(accountSid);

		const silent = http.createServer(() => {});
		await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
		try {
			const { port } = silent.address() as AddressInfo;
			const slow = createTwilio({
				apiUrl: `http://127.0.0.1:${port}`,
				accountSid,
				authToken,
				from,
				publicUrl,
				timeoutMs: 100,
			});
			const timeout = await channelError(slow.call.send(notification()));
			expect(timeout.retryable).toBe(true);
			expect(timeout.message).toContain("no answer within 100 ms");
		} finally {
			silent.closeAllConnections();
			await new Promise((resolve) => silent.close(resolve));
		}
	});

	it("finds an SMS sent before a crash by its ACK code, and nothing for another code", async () => {
		const claimedAt = new Date(Date.now() - 1000);
		const n = notification({ destination: "+15550000003", ackCode: "551234", claimedAt });
		const { providerRef } = await twilio().sms.send(n);
		const short = await twilio().sms.send({ ...n, ackCode: "5512" });
		expect(await twilio().sms.findDelivered(n)).toEqual({ providerRef });
		// "ACK 551234" contains "ACK 5512": the code must match whole.
		expect(await twilio().sms.findDelivered({ ...n, ackCode: "5512" })).toEqual(short);
		expect(await twilio().sms.findDelivered({ ...n, ackCode: "999999" })).toBeUndefined();
		expect(await twilio().sms.findDelivered({ ...n, destination: "+15550000099" })).toBeUndefined();
	});

	it("does not take an SMS from before the claim for this one", async () => {
		const n = notification({ destination: "+15550000004", ackCode: "660001" });
		await twilio().sms.send(n);
		const later = { ...n, claimedAt: new Date(Date.now() + 5 * 60_000) };
		expect(await twilio().sms.findDelivered(later)).toBeUndefined();
	});

	it("finds a call by number and time", async () => {
		const n = notification({ destination: "+15550000005", claimedAt: new Date(Date.now() - 1000) });
		const { providerRef } = await twilio().call.send(n);
		expect(await twilio().call.findDelivered(n)).toEqual({ providerRef });
		expect(await twilio().call.findDelivered({ ...n, destination: "+15550000098" })).toBeUndefined();
		expect(await twilio().call.findDelivered({ ...n, claimedAt: new Date(Date.now() + 5 * 60_000) })).toBeUndefined();
	});

	it("looks a day back when the claim is just after midnight", async () => {
		const midnight = new Date("2030-01-02T00:00:30Z");
		const early = await startFakeTwilio({ accountSid, authToken, now: () => new Date("2030-01-01T23:59:50Z") });
		try {
			const client = createTwilio({ apiUrl: early.url, accountSid, authToken, from, publicUrl });
			const n = notification({ destination: "+15550000006", ackCode: "121212", claimedAt: midnight });
			const { providerRef } = await client.sms.send(n);
			expect(await client.sms.findDelivered(n)).toEqual({ providerRef });
		} finally {
			await early.close();
		}
	});
});

describe("fake Twilio webhooks", () => {
	it("presses a key on the call's gather URL, signed as Twilio signs", async () => {
		const received: { url: string; signature: string | undefined; params: Record<string, string> }[] = [];
		const opswatch = http.createServer((req, res) => {
			let body = "";
			req.on("data", (chunk: Buffer) => {
				body += chunk.toString();
			});
			req.on("end", () => {
				const header = req.headers["x-twilio-signature"];
				received.push({
					url: req.url ?? "",
					signature: typeof header === "string" ? header : undefined,
					params: Object.fromEntries(new URLSearchParams(body)),
				});
				res.writeHead(200, { "content-type": "text/xml" }).end(gatherResponseTwiml(true, "Acknowledged."));
			});
		});
		await new Promise<void>((resolve) => opswatch.listen(0, "127.0.0.1", resolve));
		const fake = await startFakeTwilio({ accountSid, authToken });
		try {
			const base = `http://127.0.0.1:${(opswatch.address() as AddressInfo).port}`;
			const client = createTwilio({ apiUrl: fake.url, accountSid, authToken, from, publicUrl: base });
			const n = notification({ id: "n-7", destination: "+15550000007" });
			const { providerRef } = await client.call.send(n);

			const answer = await fake.pressKey(providerRef, "1");
			expect(answer).toEqual({ status: 200, body: gatherResponseTwiml(true, "Acknowledged.") });
			const gatherUrl = `${base}/api/v1/telephony/twilio/gather?tenant=t-1&notification=n-7`;
			expect(received[0]?.url).toBe("/api/v1/telephony/twilio/gather?tenant=t-1&notification=n-7");
			expect(received[0]?.params).toEqual({
				CallSid: providerRef,
				AccountSid: accountSid,
				From: from,
				To: "+15550000007",
				Digits: "1",
				CallStatus: "in-progress",
			});
			expect(verifyTwilioSignature(authToken, gatherUrl, received[0]?.params ?? {}, received[0]?.signature)).toBe(true);

			await fake.replySMS({ from: "+15550000007", to: from, body: "ACK 482913", webhookUrl: `${base}/sms` });
			expect(received[1]?.params).toMatchObject({ From: "+15550000007", To: from, Body: "ACK 482913" });
			expect(verifyTwilioSignature(authToken, `${base}/sms`, received[1]?.params ?? {}, received[1]?.signature)).toBe(
				true,
			);

			await fake.signedPost(`${base}/sms`, { Body: "ACK 1" }, { signature: "forged" });
			expect(received[2]?.signature).toBe("forged");
		} finally {
			await fake.close();
			opswatch.closeAllConnections();
			await new Promise((resolve) => opswatch.close(resolve));
		}
	});

	it("times out with what the device did get", async () => {
		const fake = await startFakeTwilio({ accountSid, authToken });
		try {
			await expect(fake.device("+15550000008").expectSMS(/anything/, 50)).rejects.toThrow(
				/no SMS to \+15550000008 matching \/anything\/ within 50 ms/,
			);
		} finally {
			await fake.close();
		}
	});
});
