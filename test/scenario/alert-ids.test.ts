import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";

let app: TestApp;
let key: string;

beforeAll(async () => {
	app = await startTestApp();
	key = await (await app.newTenant("ids")).keyFor("engineer");
});
afterAll(() => app?.close());

describe(`alert ids (${backendName})`, () => {
	it("are UUIDv7: they carry their creation millisecond and sort in the order alerts opened", async () => {
		const ids: string[] = [];
		const stamps: number[] = [];
		for (const host of ["web-1", "web-2", "web-3"]) {
			const before = Date.now();
			const response = await app.request("POST", "/api/v1/webhooks/generic", {
				key,
				json: { title: `Down: ${host}`, labels: { host } },
			});
			expect(response.body.alerts[0].outcome).toBe("created");
			ids.push(response.body.alerts[0].alertId);
			stamps.push(before);
			await new Promise((resolve) => setTimeout(resolve, 5));
		}
		for (const [i, id] of ids.entries()) {
			expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
			const millis = Number.parseInt(id.replaceAll("-", "").slice(0, 12), 16);
			expect(millis).toBeGreaterThanOrEqual(stamps[i]!);
			expect(millis).toBeLessThanOrEqual(Date.now());
		}
		expect([...ids].sort()).toEqual(ids);
	});
});
