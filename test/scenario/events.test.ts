import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";
import { createTestClock } from "../harness/clock.ts";

const clock = createTestClock(new Date());
let app: TestApp;
let a: TestTenant;
let b: TestTenant;
beforeAll(async () => {
	app = await startTestApp({ clock });
	a = await app.newTenant("a");
	b = await app.newTenant("b");
});
afterAll(() => app?.close());

/** Opens the tenant's event stream and collects its text until `until` matches or time runs out. */
async function stream(key: string) {
	const controller = new AbortController();
	const response = await fetch(`${app.url}/api/v1/events`, {
		headers: { "x-api-key": key },
		signal: controller.signal,
	});
	let text = "";
	const reader = response.body!.getReader();
	const decoder = new TextDecoder();
	const pump = (async () => {
		try {
			for (;;) {
				const { value, done } = await reader.read();
				if (done) return;
				text += decoder.decode(value);
			}
		} catch {}
	})();
	return {
		response,
		text: () => text,
		async close() {
			controller.abort();
			await pump;
		},
	};
}

describe(`alert event stream (${backendName})`, () => {
	it("delivers a tenant's alert events as Server-Sent Events, and only that tenant's", async () => {
		const mine = await stream(a.adminKey);
		const theirs = await stream(b.adminKey);
		try {
			expect(mine.response.status).toBe(200);
			expect(mine.response.headers.get("content-type")).toMatch(/^text\/event-stream/);
			await expect.poll(() => mine.text()).toContain(": connected");

			const created = await app.request("POST", "/api/v1/webhooks/generic", {
				key: a.adminKey,
				json: { title: "Queue backlog", severity: "major", labels: { queue: "orders" } },
			});
			const alertId = created.body.alerts[0].alertId as string;
			await expect.poll(() => mine.text()).toContain("event: alert.created");
			expect(mine.text()).toContain(`"alertId":"${alertId}"`);

			await app.request("PATCH", `/api/v1/alerts/${alertId}/resolve`, { key: a.adminKey });
			await expect.poll(() => mine.text()).toContain("event: alert.resolved");
			expect(theirs.text()).not.toContain("alert.");
		} finally {
			await mine.close();
			await theirs.close();
		}
	});

	it("announces repeats as alert.updated, at most once a second per alert", async () => {
		const mine = await stream(a.adminKey);
		const updates = () => mine.text().split("event: alert.updated").length - 1;
		try {
			await expect.poll(() => mine.text()).toContain(": connected");
			const send = () =>
				app.request("POST", "/api/v1/webhooks/generic", {
					key: a.adminKey,
					json: { title: "Disk filling", severity: "minor", labels: { host: "db-7" } },
				});
			const { alertId, fingerprint } = (await send()).body.alerts[0];
			for (let i = 0; i < 4; i++) expect((await send()).body.alerts[0].outcome).toBe("deduplicated");
			await expect.poll(updates).toBe(1);
			expect(mine.text()).toContain(
				`data: {"type":"alert.updated","alertId":"${alertId}","fingerprint":"${fingerprint}","change":"repeated"}`,
			);

			clock.advance("1s");
			await send();
			// Events arrive in the order they were published: had any repeat between been announced, it would be here.
			await expect.poll(updates).toBe(2);
		} finally {
			await mine.close();
		}
	});

	it("refuses a stream without a key", async () => {
		const response = await app.request("GET", "/api/v1/events");
		expect(response.status).toBe(401);
	});
});
