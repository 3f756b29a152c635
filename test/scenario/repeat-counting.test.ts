import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";
import { createTestClock } from "../harness/clock.ts";

const clock = createTestClock(new Date("2026-11-20T08:00:00Z"));
let app: TestApp;
let key: string;
let tenantId: string;

beforeAll(async () => {
	app = await startTestApp({ clock });
	const tenant = await app.newTenant("repeats");
	tenantId = tenant.id;
	key = await tenant.keyFor("engineer");
});
afterAll(() => app?.close());

const fire = async (labels: Record<string, string> = { host: "db-1", check: "disk" }) => {
	const response = await app.request("POST", "/api/v1/webhooks/generic", {
		key,
		json: { title: "Disk 91% full", severity: "warning", labels },
	});
	expect(response.status).toBe(200);
	return response.body.alerts[0] as { alertId: string; fingerprint: string; outcome: string };
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

	it("the dedup window learns an alert when it first repeats, not when it opens (ADR 0008)", async () => {
		const windowOf = async (fingerprint: string) =>
			(await app.running.container.cache.getMany([`dedup:${tenantId}:${fingerprint}`]))[0];
		const labels = { host: "db-2", check: "memory" };
		const opened = await fire(labels);
		expect(opened.outcome).toBe("created");
		expect(await windowOf(opened.fingerprint)).toBeUndefined();

		clock.advance("2s");
		// The first repeat is counted by the upsert, which then tells the window.
		expect(await fire(labels)).toEqual({ ...opened, outcome: "deduplicated" });
		expect(await windowOf(opened.fingerprint)).toBe(opened.alertId);
		clock.advance("2s");
		expect(await fire(labels)).toEqual({ ...opened, outcome: "deduplicated" });
		expect(await stored(opened.alertId)).toMatchObject({ occurrences: 3, lastSeenAt: "2026-11-20T08:01:35.900Z" });
	});
});
