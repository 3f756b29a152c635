import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";
import { createTestClock } from "../harness/clock.ts";

const clock = createTestClock(new Date("2026-11-20T08:00:00Z"));
let app: TestApp;
let key: string;

beforeAll(async () => {
	app = await startTestApp({ clock });
	key = await (await app.newTenant("repeats")).keyFor("engineer");
});
afterAll(() => app?.close());

const fire = async () => {
	const response = await app.request("POST", "/api/v1/webhooks/generic", {
		key,
		json: { title: "Disk 91% full", severity: "warning", labels: { host: "db-1", check: "disk" } },
	});
	expect(response.status).toBe(200);
	return response.body.alerts[0] as { alertId: string; outcome: string };
};
const stored = async (id: string) =>
	(await app.request("GET", `/api/v1/alerts/${id}`, { key })).body.alert as {
		occurrences: number;
		firstSeenAt: string;
		lastSeenAt: string;
	};

describe(`counting repeats (${backendName})`, () => {
	it("counts every repeat and keeps last_seen_at exact to the second", async () => {
		const opened = await fire();
		expect(opened.outcome).toBe("created");

		clock.advance("400ms");
		expect(await fire()).toEqual({ ...opened, outcome: "deduplicated" });
		// Under a second later: counted, but the alert was seen then as far as the list's order goes.
		expect(await stored(opened.alertId)).toMatchObject({
			occurrences: 2,
			lastSeenAt: "2026-11-20T08:00:00.000Z",
		});

		clock.advance("1500ms");
		await fire();
		clock.advance("90s");
		await fire();
		expect(await stored(opened.alertId)).toMatchObject({
			occurrences: 4,
			firstSeenAt: "2026-11-20T08:00:00.000Z",
			lastSeenAt: "2026-11-20T08:01:31.900Z",
		});
	});

	it("never moves last_seen_at back for a repeat stamped earlier (a replica's clock behind)", async () => {
		const opened = await fire();
		const before = await stored(opened.alertId);
		clock.advance(-30_000);
		await fire();
		clock.advance("30s");
		expect(await stored(opened.alertId)).toMatchObject({
			occurrences: before.occurrences + 1,
			lastSeenAt: before.lastSeenAt,
		});
	});
});
