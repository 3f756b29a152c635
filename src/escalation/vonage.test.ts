import { createHash, createHmac, createVerify, generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeVonage, signVonageSms, signVonageWebhook, startFakeVonage } from "../../test/harness/fake-vonage.ts";
import { outgoingNotification } from "../../test/harness/notification.ts";
import { ChannelError, type OutgoingNotification, type Telephony } from "./channels.ts";
import {
	createVonage,
	inputResponseNcco,
	verifyVonageSignedJwt,
	verifyVonageSmsSignature,
	vonageClientRef,
} from "./vonage.ts";

const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const privatePem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const now = new Date("2026-11-26T03:00:00Z");
const clock = { now: () => now };
const API_KEY = "key-7f3a9c";
const API_SECRET = "secret-Zq81xk2P";
const APPLICATION_ID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab";
const PHONE = "+447700900123";

const notification = (overrides: Partial<OutgoingNotification> = {}): OutgoingNotification =>
	outgoingNotification({ destination: PHONE, claimedAt: now, ...overrides });

const decodePart = (part: string | undefined) => JSON.parse(Buffer.from(part ?? "", "base64url").toString("utf8"));

async function rejection(promise: Promise<unknown>): Promise<ChannelError> {
	const error = await promise.then(
		() => undefined,
		(e: unknown) => e,
	);
	expect(error).toBeInstanceOf(ChannelError);
	return error as ChannelError;
}

describe("Vonage telephony", () => {
	let fake: FakeVonage;
	let vonage: Telephony;

	beforeAll(async () => {
		fake = await startFakeVonage({ publicKey, apiKey: API_KEY, apiSecret: API_SECRET });
		fake.setClock(() => now);
		vonage = createVonage({
			apiUrl: fake.url,
			smsUrl: fake.url,
			applicationId: APPLICATION_ID,
			privateKey: privatePem,
			apiKey: API_KEY,
			apiSecret: API_SECRET,
			from: "+447700900000",
			publicUrl: "https://opswatch.example.com/",
			timeoutMs: 2000,
			clock,
		});
	});
	afterAll(() => fake.close());
	beforeEach(() => {
		fake.requests.length = 0;
		fake.calls.length = 0;
		fake.sms.length = 0;
	});

	it("is the vonage provider", () => {
		expect(vonage.provider).toBe("vonage");
	});

	it("refuses a private key that is not one, without echoing it", () => {
		expect(() =>
			createVonage({
				apiUrl: fake.url,
				smsUrl: fake.url,
				applicationId: APPLICATION_ID,
				privateKey: "not-a-key-s3cr3t",
				apiKey: API_KEY,
				apiSecret: API_SECRET,
				from: "447700900000",
				publicUrl: "https://opswatch.example.com",
			}),
		).toThrow(/^The Vonage private key is not a valid PEM private key\.$/);
	});

	describe("call", () => {
		it("authenticates with an RS256 application JWT carrying application_id, iat, jti and exp", async () => {
			await vonage.call.send(notification());
			const authorization = fake.requests[0]?.headers.authorization ?? "";
			expect(authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
			const [header, claims, signature] = authorization.slice("Bearer ".length).split(".");
			expect(decodePart(header)).toEqual({ alg: "RS256", typ: "JWT" });
			const body = decodePart(claims);
			expect(body).toEqual({
				application_id: APPLICATION_ID,
				iat: now.getTime() / 1000,
				jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
				exp: expect.any(Number),
			});
			expect(body.exp).toBeGreaterThan(body.iat);
			expect(body.exp - body.iat).toBeLessThanOrEqual(900);
			const valid = createVerify("RSA-SHA256")
				.update(`${header}.${claims}`)
				.verify(publicKey, Buffer.from(signature ?? "", "base64url"));
			expect(valid).toBe(true);
		});

		it("makes a fresh jti for every request", async () => {
			await vonage.call.send(notification());
			await vonage.call.send(notification());
			const jtis = fake.requests.map((r) => decodePart(r.headers.authorization?.split(".")[1]).jti);
			expect(new Set(jtis).size).toBe(2);
		});

		it("places a call that reads the alert and waits for keypress 1, and returns its uuid", async () => {
			const delivery = await vonage.call.send(notification());
			expect(delivery).toEqual({ providerRef: fake.calls[0]?.uuid });
			const request = fake.requests[0];
			expect(request?.method).toBe("POST");
			expect(request?.path).toBe("/v1/calls");
			const body = request?.json as Record<string, unknown>;
			expect(body.to).toEqual([{ type: "phone", number: "447700900123" }]);
			expect(body.from).toEqual({ type: "phone", number: "447700900000" });
			expect(body.event_url).toEqual([
				"https://opswatch.example.com/api/v1/telephony/vonage/event?tenant=ten-1&notification=ntf-1",
			]);
			const [talk, input, ...rest] = body.ncco as Record<string, unknown>[];
			expect(rest).toEqual([]);
			expect(talk).toMatchObject({ action: "talk", bargeIn: true });
			expect(talk?.text).toBe(
				"OpsWatch alert. Severity critical. Disk full on db-1. Known fix: Rotate the WAL archive with pg_archivecleanup. Press 1 to acknowledge.",
			);
			expect(input).toEqual({
				action: "input",
				type: ["dtmf"],
				dtmf: { maxDigits: 1, timeOut: 10 },
				eventUrl: ["https://opswatch.example.com/api/v1/telephony/vonage/input?tenant=ten-1&notification=ntf-1"],
				eventMethod: "POST",
			});
		});

		it("leaves the known fix out when the alert has none", async () => {
			await vonage.call.send(notification({ alert: { ...notification().alert, solution: null } }));
			const [talk] = (fake.requests[0]?.json as { ncco: { text: string }[] } | undefined)?.ncco ?? [];
			expect(talk?.text).toBe("OpsWatch alert. Severity critical. Disk full on db-1. Press 1 to acknowledge.");
		});

		it("finds the call an earlier attempt placed to the same number since the claim", async () => {
			const sent = await vonage.call.send(notification());
			await vonage.call.send(notification({ destination: "+447700900999" }));
			fake.requests.length = 0;

			expect(await vonage.call.findDelivered(notification())).toEqual(sent);
			const search = fake.requests[0];
			expect(search?.method).toBe("GET");
			expect(search?.path).toBe("/v1/calls");
			expect(search?.query.get("date_start")).toBe("2026-11-26T02:59:00Z");
			expect(decodePart(search?.headers.authorization?.split(".")[1]).application_id).toBe(APPLICATION_ID);

			expect(await vonage.call.findDelivered(notification({ destination: "+447700900555" }))).toBeUndefined();
		});

		it("does not take a call from before the claim for this one", async () => {
			fake.setClock(() => new Date(now.getTime() - 10 * 60_000));
			await vonage.call.send(notification());
			fake.setClock(() => now);
			expect(await vonage.call.findDelivered(notification())).toBeUndefined();
		});
	});

	describe("sms", () => {
		it("sends the alert with the ACK code and the idempotency key as client-ref", async () => {
			const delivery = await vonage.sms.send(notification());
			expect(delivery).toEqual({ providerRef: fake.sms[0]?.messageId });
			const form = fake.requests[0]?.form;
			expect(fake.requests[0]?.path).toBe("/sms/json");
			expect(Object.fromEntries(form ?? [])).toEqual({
				api_key: API_KEY,
				api_secret: API_SECRET,
				from: "447700900000",
				to: "447700900123",
				"client-ref": "esc-1:0:1:mem-1:sms",
				text: "[OpsWatch CRITICAL] Disk full on db-1 - Rotate the WAL archive with pg_archivecleanup. https://opswatch.example.com/alerts/alt-1 Reply ACK K7Q2 to acknowledge.",
			});
		});

		it("keeps the text within 320 characters without ever cutting the ACK instruction", async () => {
			const long = notification({
				alert: { ...notification().alert, title: "Replication lag ".repeat(40), solution: "Failover. ".repeat(60) },
			});
			await vonage.sms.send(long);
			const text = fake.sms[0]?.text ?? "";
			expect(text.length).toBeLessThanOrEqual(320);
			expect(text).toMatch(/^\[OpsWatch CRITICAL\] Replication lag/);
			expect(text.endsWith(" Reply ACK K7Q2 to acknowledge.")).toBe(true);
			expect(fake.sms[0]?.type).toBeUndefined();
		});

		it("sends characters outside GSM-7 as unicode", async () => {
			await vonage.sms.send(notification({ alert: { ...notification().alert, title: "Диск заполнен 🔥" } }));
			expect(fake.sms[0]?.type).toBe("unicode");
		});

		it("compacts a key longer than Vonage keeps into a distinct 100-character client-ref", async () => {
			const a = `${"x".repeat(120)}:a`;
			const b = `${"x".repeat(120)}:b`;
			expect(vonageClientRef(a)).toHaveLength(100);
			expect(vonageClientRef(a)).not.toBe(vonageClientRef(b));
			expect(vonageClientRef("short")).toBe("short");
			await vonage.sms.send(notification({ key: a }));
			expect(fake.sms[0]?.clientRef).toBe(vonageClientRef(a));
		});

		it("cannot look a message up by client-ref, so finds nothing", async () => {
			await vonage.sms.send(notification());
			expect(await vonage.sms.findDelivered(notification())).toBeUndefined();
		});
	});

	describe("errors", () => {
		it.each([
			["/v1/calls", 500, true],
			["/v1/calls", 503, true],
			["/v1/calls", 429, true],
			["/v1/calls", 400, false],
			["/v1/calls", 401, false],
			["/v1/calls", 403, false],
			["/sms/json", 500, true],
			["/sms/json", 429, true],
			["/sms/json", 401, false],
		])("%s answering HTTP %i is retryable: %s", async (path, status, retryable) => {
			fake.failNext(path, status);
			const send = path === "/sms/json" ? vonage.sms.send(notification()) : vonage.call.send(notification());
			const error = await rejection(send);
			expect(error.retryable).toBe(retryable);
			expect(error.message).toContain(String(status));
		});

		it.each([
			["1", "Throttled", true],
			["5", "Internal Error", true],
			["2", "Missing to param", false],
			["4", "Bad Credentials", false],
			["29", "Non White-listed Destination", false],
		])("SMS status %s (%s) is retryable: %s", async (status, text, retryable) => {
			fake.nextSmsStatus(status, text);
			const error = await rejection(vonage.sms.send(notification()));
			expect(error.retryable).toBe(retryable);
			expect(error.message).toBe(`Vonage SMS rejected with status ${status}: ${text}`);
		});

		it("keeps phone numbers, keys and secrets out of error messages", async () => {
			const echo = { title: `Invalid to 447700900123 (${PHONE}) for ${API_KEY}/${API_SECRET}` };
			fake.failNext("/v1/calls", 400, echo);
			const call = await rejection(vonage.call.send(notification()));
			fake.nextSmsStatus("3", `Invalid to ${PHONE} with api_secret=${API_SECRET}`);
			const sms = await rejection(vonage.sms.send(notification()));
			for (const error of [call, sms]) {
				for (const secret of ["447700900123", "7700900123", API_KEY, API_SECRET, privatePem.slice(40, 80)]) {
					expect(error.message).not.toContain(secret);
				}
			}
		});

		it("treats an unreachable Vonage as retryable", async () => {
			const down = createVonage({
				apiUrl: "http://127.0.0.1:9",
				smsUrl: "http://127.0.0.1:9",
				applicationId: APPLICATION_ID,
				privateKey: privatePem,
				apiKey: API_KEY,
				apiSecret: API_SECRET,
				from: "447700900000",
				publicUrl: "https://opswatch.example.com",
				timeoutMs: 2000,
			});
			for (const send of [down.call.send(notification()), down.sms.send(notification())]) {
				const error = await rejection(send);
				expect(error.retryable).toBe(true);
				expect(error.message).not.toContain("447700900123");
			}
		});

		it("treats a failed call search as a failure, not as 'not delivered'", async () => {
			fake.failNext("/v1/calls", 503);
			expect((await rejection(vonage.call.findDelivered(notification()))).retryable).toBe(true);
		});
	});
});

describe("inputResponseNcco", () => {
	it("speaks the message once when acknowledged, twice when not", () => {
		expect(inputResponseNcco(true, "Acknowledged. Thank you.")).toEqual([
			{ action: "talk", text: "Acknowledged. Thank you." },
		]);
		expect(inputResponseNcco(false, "Not acknowledged. Escalating.")).toEqual([
			{ action: "talk", text: "Not acknowledged. Escalating.", loop: 2 },
		]);
	});
});

describe("verifyVonageSignedJwt", () => {
	const secret = "sig-secret-0123456789abcdef0123456789";
	const body = JSON.stringify({ dtmf: { digits: "1", timed_out: false }, uuid: "63f61863" });

	it("accepts a token signed with the signature secret for this body", () => {
		const token = signVonageWebhook(secret, body);
		expect(verifyVonageSignedJwt(token, secret, body)).toBe(true);
		expect(verifyVonageSignedJwt(`Bearer ${token}`, secret, body)).toBe(true);
		expect(verifyVonageSignedJwt(token, secret)).toBe(true);
	});

	it("rejects a missing token or secret", () => {
		expect(verifyVonageSignedJwt(undefined, secret, body)).toBe(false);
		expect(verifyVonageSignedJwt("", secret, body)).toBe(false);
		expect(verifyVonageSignedJwt(signVonageWebhook(secret, body), "", body)).toBe(false);
		expect(verifyVonageSignedJwt("not.a.jwt", secret, body)).toBe(false);
	});

	it("rejects a token signed with another secret", () => {
		expect(verifyVonageSignedJwt(signVonageWebhook("another-secret", body), secret, body)).toBe(false);
	});

	it("rejects alg none and any algorithm but HS256", () => {
		const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
		const claims = enc({
			iat: Math.floor(Date.now() / 1000),
			payload_hash: createHash("sha256").update(body).digest("hex"),
		});
		expect(verifyVonageSignedJwt(`${enc({ alg: "none", typ: "JWT" })}.${claims}.`, secret, body)).toBe(false);
		const hs512 = `${enc({ alg: "HS512", typ: "JWT" })}.${claims}`;
		const hs512Sig = createHmac("sha512", secret).update(hs512).digest("base64url");
		expect(verifyVonageSignedJwt(`${hs512}.${hs512Sig}`, secret, body)).toBe(false);
		// HS256 signature under a header that claims something else.
		const lying = `${enc({ alg: "RS256", typ: "JWT" })}.${claims}`;
		const lyingSig = createHmac("sha256", secret).update(lying).digest("base64url");
		expect(verifyVonageSignedJwt(`${lying}.${lyingSig}`, secret, body)).toBe(false);
	});

	it("rejects a token issued more than 5 minutes ago, or from the future", () => {
		const at = new Date("2026-11-26T03:00:00Z");
		const iat = at.getTime() / 1000;
		expect(verifyVonageSignedJwt(signVonageWebhook(secret, body, { iat: iat - 299 }), secret, body, at)).toBe(true);
		expect(verifyVonageSignedJwt(signVonageWebhook(secret, body, { iat: iat - 301 }), secret, body, at)).toBe(false);
		expect(verifyVonageSignedJwt(signVonageWebhook(secret, body, { iat: iat + 600 }), secret, body, at)).toBe(false);
		expect(verifyVonageSignedJwt(signVonageWebhook(secret, body, { iat: undefined }), secret, body, at)).toBe(false);
	});

	it("rejects a body that is not the one signed", () => {
		const token = signVonageWebhook(secret, body);
		expect(verifyVonageSignedJwt(token, secret, body.replace('"1"', '"2"'))).toBe(false);
		expect(verifyVonageSignedJwt(signVonageWebhook(secret, body, { payload_hash: undefined }), secret, body)).toBe(
			false,
		);
	});

	it("rejects a tampered claim", () => {
		const [h, c, s] = signVonageWebhook(secret, body).split(".");
		const claims = { ...decodePart(c), application_id: "someone-else" };
		const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${s}`;
		expect(verifyVonageSignedJwt(forged, secret, body)).toBe(false);
	});
});

describe("verifyVonageSmsSignature", () => {
	const secret = "sms-signature-secret";
	const at = new Date("2026-11-26T03:01:05Z");
	const inbound = {
		msisdn: "447700900123",
		to: "447700900000",
		messageId: "0A0000000123ABCD1",
		text: "ACK K7Q2 a=b&c",
		type: "text",
		keyword: "ACK",
		"message-timestamp": "2026-11-26 03:01:05",
		timestamp: String(at.getTime() / 1000),
		nonce: "8d2c7a1e-5b8f-4a0e-9d5e-0f1e2d3c4b5a",
	};

	it("matches Vonage's published md5hash example", () => {
		// The test vector in Vonage's Python SDK (tests/test_signature.py).
		const params = { a: "1", b: "2", timestamp: "1461605396", sig: "6af838ef94998832dbfc29020b564830" };
		expect(verifyVonageSmsSignature(params, "secret", "md5hash", new Date(1461605396 * 1000))).toBe(true);
	});

	it.each(["md5hash", "sha256"] as const)("accepts a good %s signature, values with & and = included", (method) => {
		expect(verifyVonageSmsSignature(signVonageSms(inbound, secret, method), secret, method, at)).toBe(true);
	});

	it.each(["md5hash", "sha256"] as const)("rejects a bad %s signature", (method) => {
		const signed = signVonageSms(inbound, secret, method);
		expect(verifyVonageSmsSignature(signed, "other-secret", method, at)).toBe(false);
		expect(verifyVonageSmsSignature({ ...signed, text: "ACK XXXX" }, secret, method, at)).toBe(false);
		expect(verifyVonageSmsSignature({ ...signed, sig: "" }, secret, method, at)).toBe(false);
		const { sig: _sig, ...unsigned } = signed;
		expect(verifyVonageSmsSignature(unsigned, secret, method, at)).toBe(false);
		expect(verifyVonageSmsSignature(signed, secret, method === "md5hash" ? "sha256" : "md5hash", at)).toBe(false);
	});

	it("rejects a signature whose timestamp is more than 5 minutes off, or missing", () => {
		const signed = signVonageSms(inbound, secret, "sha256");
		expect(verifyVonageSmsSignature(signed, secret, "sha256", new Date(at.getTime() + 299_000))).toBe(true);
		expect(verifyVonageSmsSignature(signed, secret, "sha256", new Date(at.getTime() + 301_000))).toBe(false);
		expect(verifyVonageSmsSignature(signed, secret, "sha256", new Date(at.getTime() - 301_000))).toBe(false);
		const { timestamp: _t, ...rest } = inbound;
		expect(verifyVonageSmsSignature(signVonageSms(rest, secret, "sha256"), secret, "sha256", at)).toBe(false);
	});
});
