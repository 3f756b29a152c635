// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are read freely
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";
import { type FakeVonage, signVonageSms, signVonageWebhook, startFakeVonage } from "../harness/fake-vonage.ts";

/** Pages by Vonage (the same Telephony interface as Twilio): a call answered with keypress 1, an SMS answered `ACK <code>`. */

const SIGNATURE_SECRET = "vonage-signature-secret-0123456789";
const phone = "+4915300000001";
let vonage: FakeVonage;
let app: TestApp;
let tenant: TestTenant;
let other: TestTenant;

const call = (method: string, path: string, json?: unknown) =>
	app.request(method, path, { key: tenant.adminKey, ...(json !== undefined && { json }) });
const statusOf = async (id: string) => (await call("GET", `/api/v1/alerts/${id}`)).body.alert.status;

async function fire(title: string): Promise<string> {
	const response = await call("POST", "/api/v1/webhooks/generic", { title, severity: "critical", labels: { title } });
	await app.running.container.escalations.settled();
	return response.body.alerts[0].alertId;
}

/** Posts as Vonage does: JSON, with a JWT over the body's hash (or a forged one). */
async function vonagePost(url: string, body: unknown, secret = SIGNATURE_SECRET) {
	const text = JSON.stringify(body);
	const response = await fetch(url, {
		method: "POST",
		headers: { "content-type": "application/json", authorization: `Bearer ${signVonageWebhook(secret, text)}` },
		body: text,
	});
	const answer = await response.text();
	return { status: response.status, body: answer ? JSON.parse(answer) : null };
}

beforeAll(async () => {
	const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
	const keyFile = join(mkdtempSync(join(tmpdir(), "opswatch-vonage-")), "private.key");
	writeFileSync(keyFile, privateKey.export({ type: "pkcs8", format: "pem" }));
	vonage = await startFakeVonage({ publicKey, apiKey: "abcd1234", apiSecret: "vonage-api-secret" });
	app = await startTestApp({
		reachable: true,
		env: {
			OPSWATCH_VONAGE_APPLICATION_ID: "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab",
			OPSWATCH_VONAGE_PRIVATE_KEY_FILE: keyFile,
			OPSWATCH_VONAGE_API_KEY: "abcd1234",
			OPSWATCH_VONAGE_API_SECRET: "vonage-api-secret",
			OPSWATCH_VONAGE_SIGNATURE_SECRET: SIGNATURE_SECRET,
			OPSWATCH_VONAGE_FROM_NUMBER: "+4930555222",
			OPSWATCH_VONAGE_API_URL: vonage.url,
			OPSWATCH_VONAGE_SMS_URL: vonage.url,
		},
	});
	tenant = await app.newTenant("vonage");
	other = await app.newTenant("vonageother");
	const member = await call("POST", "/api/v1/members", {
		name: "Ada",
		email: "ada@example.com",
		timeZone: "UTC",
		contactMethods: [{ type: "phone", value: phone }],
	});
	const policy = await call("POST", "/api/v1/escalation-policies", {
		name: "Ada by phone and SMS",
		tiers: [
			{
				timeoutSeconds: 300,
				targets: [{ type: "member", memberId: member.body.member.id, channels: ["phone", "sms"] }],
			},
		],
	});
	await call("PUT", "/api/v1/escalation-routes", { routes: [], defaultPolicyId: policy.body.policy.id });
});
afterAll(async () => {
	await app?.close();
	await vonage?.close();
});

describe(`paging by Vonage (${backendName})`, () => {
	it("calls with an NCCO that reads the alert and takes keypress 1; only signed callbacks count", async () => {
		const alertId = await fire("Load balancer unhealthy");
		const placed = vonage.calls.find((c) => JSON.stringify(c.ncco).includes("Load balancer unhealthy"))!;
		expect(placed.to.number).toBe(phone.slice(1));
		const input = (placed.ncco as any[]).find((action) => action.action === "input");
		const inputUrl: string = input.eventUrl[0];
		expect(inputUrl.startsWith(`${app.url}/api/v1/telephony/vonage/input?`)).toBe(true);

		const forged = await vonagePost(inputUrl, { dtmf: { digits: "1" } }, "some-other-secret-0123456789");
		expect(forged.status).toBe(403);
		const elsewhere = inputUrl.replace(/tenant=[^&]+/, `tenant=${other.id}`);
		expect((await vonagePost(elsewhere, { dtmf: { digits: "1" } })).body[0].text).toMatch(/not known/);
		expect(await statusOf(alertId)).toBe("firing");

		const pressed = await vonagePost(inputUrl, { dtmf: { digits: "1" }, uuid: "call-uuid" });
		expect(pressed.status).toBe(200);
		expect(pressed.body).toEqual([{ action: "talk", text: "Acknowledged: Load balancer unhealthy. Thank you." }]);
		expect(await statusOf(alertId)).toBe("acknowledged");
	});

	it("acknowledges an inbound SMS `ACK <code>` signed with sig, and refuses an unsigned one", async () => {
		const alertId = await fire("Queue consumer stalled");
		const text = vonage.sms.find((m) => m.text.includes("Queue consumer stalled"));
		expect(text, JSON.stringify((await call("GET", `/api/v1/alerts/${alertId}/escalation`)).body)).toBeDefined();
		const code = /ACK (\d{6})/.exec(text!.text)![1]!;
		const params = {
			msisdn: phone.slice(1),
			to: "4930555222",
			messageId: "0A0000000123ABCD1",
			text: `ACK ${code}`,
			type: "text",
			"message-timestamp": "2026-11-26 10:00:00",
			timestamp: String(Math.floor(Date.now() / 1000)),
			nonce: "a1b2c3",
		};
		const url = `${app.url}/api/v1/telephony/vonage/sms`;
		const unsigned = await fetch(`${url}?${new URLSearchParams(params)}`);
		expect(unsigned.status).toBe(403);
		expect(await statusOf(alertId)).toBe("firing");

		const signed = await fetch(`${url}?${new URLSearchParams(signVonageSms(params, SIGNATURE_SECRET, "md5hash"))}`);
		expect(signed.status).toBe(200);
		expect(await signed.json()).toEqual({ acknowledged: true });
		const alert = (await call("GET", `/api/v1/alerts/${alertId}`)).body;
		expect(alert.alert.status).toBe("acknowledged");
		expect(alert.timeline.find((e: any) => e.type === "acknowledged").details).toEqual({ via: "sms" });
	});
});
