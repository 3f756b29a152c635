import { createDecipheriv, createECDH, createHmac, createPublicKey, createVerify, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { outgoingNotification } from "../../test/harness/notification.ts";
import { ChannelError, type OutgoingNotification } from "./channels.ts";
import { createWebPushChannel, generateVapidKeys, PushChannelError, type WebPushChannel } from "./webpush.ts";

const vapid = generateVapidKeys();
const SUBJECT = "mailto:oncall@opswatch.example.com";

/** The browser's side of a subscription: its P-256 key pair and auth secret. */
const browser = createECDH("prime256v1");
browser.generateKeys();
const auth = randomBytes(16);

interface Received {
	path: string;
	headers: http.IncomingHttpHeaders;
	body: Buffer;
}

/** A push service on a local port: the path says how it answers (`/ok/…` 201, `/gone/…` 410, `/status/503/…`). */
async function startPushService() {
	const received: Received[] = [];
	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on("data", (c: Buffer) => chunks.push(c));
		req.on("end", () => {
			const path = req.url ?? "/";
			received.push({ path, headers: req.headers, body: Buffer.concat(chunks) });
			if (path.startsWith("/slow/")) return; // never answers
			const status = path.startsWith("/ok/")
				? 201
				: path.startsWith("/gone/")
					? 410
					: path.startsWith("/missing/")
						? 404
						: Number(path.split("/")[2] ?? 500);
			if (status === 201) res.setHeader("location", `http://push.invalid/m/${received.length}`);
			res.writeHead(status).end();
		});
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		received,
		async close() {
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}

/** Decrypts an aes128gcm push message body (RFC 8291 §3.4, RFC 8188 §2) with the browser's keys. */
function decrypt(body: Buffer): unknown {
	const salt = body.subarray(0, 16);
	const idlen = body.readUInt8(20);
	const serverPublic = body.subarray(21, 21 + idlen);
	const record = body.subarray(21 + idlen);
	const hmac = (key: Buffer, ...data: Buffer[]) => createHmac("sha256", key).update(Buffer.concat(data)).digest();
	const ecdhSecret = browser.computeSecret(serverPublic);
	const prkKey = hmac(auth, ecdhSecret);
	const keyInfo = Buffer.concat([Buffer.from("WebPush: info\0"), browser.getPublicKey(), serverPublic]);
	const ikm = hmac(prkKey, keyInfo, Buffer.from([1]));
	const prk = hmac(salt, ikm);
	const cek = hmac(prk, Buffer.from("Content-Encoding: aes128gcm\0"), Buffer.from([1])).subarray(0, 16);
	const nonce = hmac(prk, Buffer.from("Content-Encoding: nonce\0"), Buffer.from([1])).subarray(0, 12);
	const decipher = createDecipheriv("aes-128-gcm", cek, nonce);
	decipher.setAuthTag(record.subarray(record.length - 16));
	const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
	let end = padded.length - 1;
	while (end > 0 && padded[end] === 0) end--;
	expect(padded[end]).toBe(2); // the last record's delimiter
	return JSON.parse(padded.subarray(0, end).toString("utf8"));
}

function notification(endpoints: string[], overrides: Partial<OutgoingNotification> = {}): OutgoingNotification {
	const subscriptions = endpoints.map((endpoint) => ({
		endpoint,
		expirationTime: null,
		keys: { p256dh: browser.getPublicKey().toString("base64url"), auth: auth.toString("base64url") },
	}));
	return outgoingNotification({
		key: "esc-1:0:1:mem-1:push",
		destination: JSON.stringify(subscriptions),
		...overrides,
	});
}

async function rejection(promise: Promise<unknown>): Promise<PushChannelError> {
	const error = await promise.then(
		() => undefined,
		(e: unknown) => e,
	);
	expect(error).toBeInstanceOf(ChannelError);
	expect(error).toBeInstanceOf(PushChannelError);
	return error as PushChannelError;
}

describe("Web Push channel", () => {
	let service: Awaited<ReturnType<typeof startPushService>>;
	let channel: WebPushChannel;

	beforeAll(async () => {
		service = await startPushService();
		({ channel } = createWebPushChannel({
			publicKey: vapid.publicKey,
			privateKey: vapid.privateKey,
			subject: SUBJECT,
			timeoutMs: 500,
			allowInsecureEndpoints: true,
		}));
	});
	afterAll(() => service.close());
	beforeEach(() => {
		service.received.length = 0;
	});

	it("pushes with VAPID, aes128gcm, a TTL and high urgency, and returns the message location", async () => {
		const delivery = await channel.send(notification([`${service.url}/ok/a`]));
		expect(delivery).toEqual({ providerRef: "http://push.invalid/m/1" });
		const [request] = service.received;
		const headers = request?.headers ?? {};
		expect(headers["content-encoding"]).toBe("aes128gcm");
		expect(headers.ttl).toBe("300");
		expect(headers.urgency).toBe("high");
		expect(headers.topic).toMatch(/^[\w-]{1,32}$/);

		const match = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+), k=([\w-]+)$/.exec(headers.authorization ?? "");
		expect(match).not.toBeNull();
		const [, jwt = "", k] = match ?? [];
		expect(k).toBe(vapid.publicKey);
		const [h = "", c = "", s = ""] = jwt.split(".");
		const decode = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
		expect(decode(h)).toEqual({ typ: "JWT", alg: "ES256" });
		expect(decode(c)).toMatchObject({ aud: service.url, sub: SUBJECT, exp: expect.any(Number) });
		const raw = Buffer.from(vapid.publicKey, "base64url");
		const key = createPublicKey({
			key: {
				kty: "EC",
				crv: "P-256",
				x: raw.subarray(1, 33).toString("base64url"),
				y: raw.subarray(33).toString("base64url"),
			},
			format: "jwk",
		});
		const signed = createVerify("SHA256")
			.update(`${h}.${c}`)
			.verify({ key, dsaEncoding: "ieee-p1363" }, Buffer.from(s, "base64url"));
		expect(signed).toBe(true);

		expect(decrypt(request?.body ?? Buffer.alloc(0))).toEqual({
			title: "[CRITICAL] Disk full on db-1",
			body: "Rotate the WAL archive with pg_archivecleanup.",
			url: "https://opswatch.example.com/alerts/alt-1",
			tag: "alt-1",
			ackCode: "K7Q2",
		});
	});

	it("summarises the labels when the alert has no known fix", async () => {
		const base = notification([`${service.url}/ok/a`]);
		await channel.send({ ...base, alert: { ...base.alert, solution: null } });
		expect(decrypt(service.received[0]?.body ?? Buffer.alloc(0))).toMatchObject({
			body: "host=db-1, service=postgres",
		});
	});

	it("uses the same topic for a resend of the same notification", async () => {
		await channel.send(notification([`${service.url}/ok/a`]));
		await channel.send(notification([`${service.url}/ok/a`]));
		await channel.send(notification([`${service.url}/ok/a`], { key: "esc-1:0:2:mem-1:push" }));
		const [first, second, other] = service.received.map((r) => r.headers.topic);
		expect(first).toBe(second);
		expect(other).not.toBe(first);
	});

	it("sends to every subscription once, and reports 410 and 404 ones as expired", async () => {
		const ok = `${service.url}/ok/a`;
		const gone = `${service.url}/gone/b`;
		const missing = `${service.url}/missing/c`;
		const delivery = await channel.send(notification([ok, gone, ok, missing]));
		expect(service.received.map((r) => r.path).sort()).toEqual(["/gone/b", "/missing/c", "/ok/a"]);
		expect(delivery.providerRef).toMatch(/^http:\/\/push\.invalid\/m\/\d$/);
		expect(delivery.expired?.sort()).toEqual([gone, missing].sort());
	});

	it("is a retryable failure when every push service fails with 5xx", async () => {
		const error = await rejection(
			channel.send(notification([`${service.url}/status/500/a`, `${service.url}/status/503/b`])),
		);
		expect(error.retryable).toBe(true);
		expect(error.expired).toEqual([]);
		expect(error.message).toBe("No push subscription accepted the page (2 tried: HTTP 500, HTTP 503)");
	});

	it("is retryable when the push service times out or is unreachable", async () => {
		const error = await rejection(channel.send(notification([`${service.url}/slow/a`, "http://127.0.0.1:9/x"])));
		expect(error.retryable).toBe(true);
		expect(error.message).toMatch(/no answer within 500 ms/);
		expect(error.message).toMatch(/unreachable/);
	});

	it("still reports expired subscriptions when the others fail", async () => {
		const gone = `${service.url}/gone/b`;
		const error = await rejection(channel.send(notification([gone, `${service.url}/status/502/a`])));
		expect(error.retryable).toBe(true);
		expect(error.expired).toEqual([gone]);
	});

	it("is not retryable when every subscription is expired or refused", async () => {
		const gone = `${service.url}/gone/b`;
		const expired = await rejection(channel.send(notification([gone])));
		expect(expired.retryable).toBe(false);
		expect(expired.expired).toEqual([gone]);
		const forbidden = await rejection(channel.send(notification([`${service.url}/status/403/a`])));
		expect(forbidden.retryable).toBe(false);
	});

	it("keeps endpoints, which are capabilities, out of error messages", async () => {
		const error = await rejection(channel.send(notification([`${service.url}/gone/secret-token`])));
		expect(error.message).not.toContain("secret-token");
	});

	it.each([
		["not JSON", "{"],
		["not an array", JSON.stringify({ endpoint: "https://push.example/a" })],
		["empty", "[]"],
		["without keys", JSON.stringify([{ endpoint: "https://push.example/a" }])],
		["with a non-URL endpoint", JSON.stringify([{ endpoint: "nope", keys: { p256dh: "a", auth: "b" } }])],
	])("refuses a destination that is %s, without retrying", async (_, destination) => {
		const error = await rejection(channel.send({ ...notification([]), destination }));
		expect(error.retryable).toBe(false);
		expect(service.received).toEqual([]);
	});

	it("refuses subscription keys that are not keys, without retrying", async () => {
		const destination = JSON.stringify([{ endpoint: `${service.url}/ok/a`, keys: { p256dh: "short", auth: "x" } }]);
		const error = await rejection(channel.send({ ...notification([]), destination }));
		expect(error.retryable).toBe(false);
		expect(service.received).toEqual([]);
	});

	it("refuses http endpoints unless told to allow them", async () => {
		const { channel: strict } = createWebPushChannel({
			publicKey: vapid.publicKey,
			privateKey: vapid.privateKey,
			subject: SUBJECT,
		});
		const error = await rejection(strict.send(notification([`${service.url}/ok/a`])));
		expect(error.retryable).toBe(false);
		expect(service.received).toEqual([]);
	});

	it("has no receipts to find an earlier delivery by", async () => {
		expect(await channel.findDelivered(notification([`${service.url}/ok/a`]))).toBeUndefined();
	});
});

describe("VAPID configuration", () => {
	it("generates a P-256 key pair in base64url", () => {
		const keys = generateVapidKeys();
		expect(Buffer.from(keys.publicKey, "base64url")).toHaveLength(65);
		expect(Buffer.from(keys.privateKey, "base64url")).toHaveLength(32);
	});

	it.each([
		["a subject that is neither mailto: nor https:", { subject: "http://opswatch.example.com" }],
		["a public key that is not one", { publicKey: "abc" }],
		["a private key that is not one", { privateKey: "abc" }],
	])("refuses %s at construction", (_, override) => {
		expect(() =>
			createWebPushChannel({ publicKey: vapid.publicKey, privateKey: vapid.privateKey, subject: SUBJECT, ...override }),
		).toThrow(/^Invalid Web Push VAPID configuration/);
	});
});
