import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";

const budget = 64 * 1024;
let app: TestApp;
let tenant: TestTenant;
beforeAll(async () => {
	app = await startTestApp({ env: { OPSWATCH_MAX_INFLIGHT_BODY_BYTES: String(budget) } });
	tenant = await app.newTenant();
});
afterAll(() => app?.close());

/** Starts a request that declares a large body and sends only part of it, pinning its share of the budget. */
async function slowUpload(bytes: number): Promise<net.Socket> {
	const { hostname, port } = new URL(app.url);
	const socket = net.connect(Number(port), hostname);
	await new Promise<void>((resolve) => socket.once("connect", resolve));
	socket.write(
		`POST /api/v1/webhooks/generic HTTP/1.1\r\nHost: ${hostname}\r\nX-API-Key: ${tenant.adminKey}\r\n` +
			`Content-Type: application/json\r\nContent-Length: ${bytes}\r\n\r\n[`,
	);
	// Let the server take the request in before the next one arrives.
	await new Promise((resolve) => setTimeout(resolve, 100));
	return socket;
}

const alert = { title: "Disk almost full", labels: { host: "db-1", alertname: "DiskFull" }, source: "probe" };
const padded = (bytes: number) => ({ ...alert, description: "x".repeat(bytes) });

describe(`in-flight body budget (${backendName})`, () => {
	it("answers 503 with Retry-After while other bodies hold the budget, stores nothing, and admits again once they are done", async () => {
		const holder = await slowUpload(budget - 1024);
		const refused = await app.request("POST", "/api/v1/webhooks/generic", { key: tenant.adminKey, json: padded(8192) });
		expect(refused.status).toBe(503);
		expect(refused.headers.get("retry-after")).toBe("1");
		expect(refused.body.error).toMatchObject({ code: "server.busy" });
		expect(refused.body.error.message).toMatch(/capacity/);
		const listed = await app.request("GET", "/api/v1/alerts", { key: tenant.adminKey });
		expect(listed.body.alerts).toHaveLength(0);

		// A small request without a body still passes: only bodies are charged.
		expect((await app.request("GET", "/api/v1/alerts", { key: tenant.adminKey })).status).toBe(200);

		holder.destroy();
		await new Promise((resolve) => setTimeout(resolve, 100));
		const admitted = await app.request("POST", "/api/v1/webhooks/generic", {
			key: tenant.adminKey,
			json: padded(8192),
		});
		expect(admitted.status).toBe(200);
		expect(admitted.body.alerts[0].outcome).toBe("created");
	});

	it("admits a body larger than the whole budget when nothing else is in flight", async () => {
		const response = await app.request("POST", "/api/v1/webhooks/generic", {
			key: tenant.adminKey,
			json: Array.from({ length: 20 }, (_, i) => ({ ...padded(4000), labels: { host: `db-${i + 2}` } })),
		});
		expect(response.status).toBe(200);
		expect(response.body.alerts).toHaveLength(20);
	});
});
