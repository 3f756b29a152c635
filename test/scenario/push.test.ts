// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are read freely
import { createECDH, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateVapidKeys } from "../../src/escalation/webpush.ts";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";

/**
 * Web Push pages to a member's subscribed browsers, through a local push service that records what
 * it receives (encrypted, VAPID-signed) and answers 410 for a subscription it dropped.
 */

interface Received {
	path: string;
	headers: http.IncomingHttpHeaders;
	bytes: number;
}

let app: TestApp;
let tenant: TestTenant;
let other: TestTenant;
let pushService: http.Server;
let pushUrl: string;
const received: Received[] = [];
const ids: Record<string, string> = {};

const call = (method: string, path: string, json?: unknown, key = tenant.adminKey) =>
	app.request(method, path, { key, ...(json !== undefined && { json }) });

/** A subscription as a browser's PushSubscription.toJSON() gives it. */
function browserSubscription(path: string) {
	const ecdh = createECDH("prime256v1");
	ecdh.generateKeys();
	return {
		endpoint: `${pushUrl}${path}`,
		expirationTime: null,
		keys: { p256dh: ecdh.getPublicKey().toString("base64url"), auth: randomBytes(16).toString("base64url") },
	};
}

beforeAll(async () => {
	pushService = http.createServer((req, res) => {
		let bytes = 0;
		req.on("data", (chunk: Buffer) => {
			bytes += chunk.length;
		});
		req.on("end", () => {
			received.push({ path: req.url ?? "", headers: req.headers, bytes });
			res.writeHead(req.url?.startsWith("/gone") ? 410 : 201).end();
		});
	});
	await new Promise<void>((resolve) => pushService.listen(0, "127.0.0.1", resolve));
	pushUrl = `http://127.0.0.1:${(pushService.address() as AddressInfo).port}`;
	const vapid = generateVapidKeys();
	app = await startTestApp({
		env: {
			OPSWATCH_VAPID_PUBLIC_KEY: vapid.publicKey,
			OPSWATCH_VAPID_PRIVATE_KEY: vapid.privateKey,
			OPSWATCH_VAPID_SUBJECT: "mailto:oncall@example.com",
			OPSWATCH_WEBPUSH_ALLOW_HTTP: "true",
		},
	});
	ids.vapidPublicKey = vapid.publicKey;
	tenant = await app.newTenant("push");
	other = await app.newTenant("pushother");
	const ada = await call("POST", "/api/v1/members", { name: "Ada", email: "ada@example.com", timeZone: "UTC" });
	ids.ada = ada.body.member.id;
	const policy = await call("POST", "/api/v1/escalation-policies", {
		name: "Ada by push",
		tiers: [{ timeoutSeconds: 300, targets: [{ type: "member", memberId: ids.ada, channels: ["push"] }] }],
	});
	await call("PUT", "/api/v1/escalation-routes", { routes: [], defaultPolicyId: policy.body.policy.id });
});
afterAll(async () => {
	await app?.close();
	await new Promise((resolve) => pushService?.close(resolve));
});

describe(`Web Push pages (${backendName})`, () => {
	it("gives browsers the VAPID key, pushes a page to every subscription, and forgets dropped ones", async () => {
		const key = await app.request("GET", "/api/v1/push/vapid-public-key");
		expect(key.body).toEqual({ publicKey: ids.vapidPublicKey });
		for (const path of ["/laptop", "/gone-phone"]) {
			const added = await call("POST", `/api/v1/members/${ids.ada}/push-subscriptions`, browserSubscription(path));
			expect(added.status, added.text).toBe(201);
		}

		const fired = await call("POST", "/api/v1/webhooks/generic", { title: "Disk full", severity: "critical" });
		const alertId = fired.body.alerts[0].alertId;
		await app.running.container.escalations.settled();

		expect(received.map((r) => r.path).sort()).toEqual(["/gone-phone", "/laptop"]);
		const laptop = received.find((r) => r.path === "/laptop")!;
		expect(laptop.headers["content-encoding"]).toBe("aes128gcm");
		expect(laptop.headers.authorization).toMatch(
			new RegExp(`^vapid t=[\\w-]+\\.[\\w-]+\\.[\\w-]+, k=${ids.vapidPublicKey}$`),
		);
		expect(laptop.headers.urgency).toBe("high");
		expect(laptop.bytes).toBeGreaterThan(100);
		const pages = (await call("GET", `/api/v1/alerts/${alertId}/escalation`)).body.notifications;
		expect(pages).toMatchObject([{ channel: "push", status: "sent" }]);

		// The push service said the phone's subscription is gone: it is no longer listed.
		const left = (await call("GET", `/api/v1/members/${ids.ada}/push-subscriptions`)).body.subscriptions;
		expect(left.map((s: any) => new URL(s.endpoint).pathname)).toEqual(["/laptop"]);
	});

	it("refuses bad subscriptions naming the field, and keeps tenants apart", async () => {
		const good = browserSubscription("/tablet");
		const cases: [unknown, string][] = [
			[{ ...good, endpoint: "ftp://push.example.com/x" }, "body.endpoint"],
			[{ ...good, endpoint: "not a url" }, "body.endpoint"],
			[{ ...good, keys: { ...good.keys, p256dh: "short" } }, "body.keys.p256dh"],
			[{ ...good, keys: { p256dh: good.keys.p256dh } }, "body.keys.auth"],
		];
		for (const [body, field] of cases) {
			const response = await call("POST", `/api/v1/members/${ids.ada}/push-subscriptions`, body);
			expect(response.status, JSON.stringify(body)).toBe(400);
			expect(response.body.error.fields.map((f: any) => f.path)).toContain(field);
		}
		const theirs = await call("POST", `/api/v1/members/${ids.ada}/push-subscriptions`, good, other.adminKey);
		expect(theirs.status).toBe(404);
		expect((await call("GET", `/api/v1/members/${ids.ada}/push-subscriptions`, undefined, other.adminKey)).status).toBe(
			404,
		);
		const engineer = await tenant.keyFor("engineer");
		expect((await call("POST", `/api/v1/members/${ids.ada}/push-subscriptions`, good, engineer)).status).toBe(403);
		const [laptop] = (await call("GET", `/api/v1/members/${ids.ada}/push-subscriptions`)).body.subscriptions;
		const removeTheirs = await call(
			"DELETE",
			`/api/v1/members/${ids.ada}/push-subscriptions/${laptop.id}`,
			undefined,
			other.adminKey,
		);
		expect(removeTheirs.status).toBe(404);
		expect((await call("DELETE", `/api/v1/members/${ids.ada}/push-subscriptions/${laptop.id}`)).status).toBe(204);
		expect((await call("GET", `/api/v1/members/${ids.ada}/push-subscriptions`)).body.subscriptions).toEqual([]);
	});
});
