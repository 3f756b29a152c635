import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";
import { recordingEscalation } from "../harness/escalation.ts";

let app: TestApp;
let tenant: TestTenant;
const escalation = recordingEscalation();

beforeAll(async () => {
	app = await startTestApp({ escalation: escalation.starter });
	tenant = await app.newTenant("storm");
});
afterAll(() => app?.close());

const fire = (labels: Record<string, string>, severity = "critical") =>
	app.request("POST", "/api/v1/webhooks/generic", {
		key: tenant.adminKey,
		json: { title: `Down: ${labels.host}`, severity, labels },
	});

describe(`concurrent ingestion (${backendName})`, () => {
	it("opens one alert for the same alert sent by many requests at once, counts every copy, and pages once", async () => {
		const labels = { alertname: "HostDown", host: "edge-1" };
		const responses = await Promise.all(Array.from({ length: 25 }, () => fire(labels)));
		expect(responses.every((r) => r.status === 200)).toBe(true);
		const outcomes = responses.map((r) => r.body.alerts[0].outcome);
		expect(outcomes.filter((o) => o === "created")).toHaveLength(1);
		expect(outcomes.filter((o) => o === "deduplicated")).toHaveLength(24);
		const ids = new Set(responses.map((r) => r.body.alerts[0].alertId));
		expect(ids.size).toBe(1);
		const [id] = ids;

		const stored = await app.request("GET", `/api/v1/alerts/${id}`, { key: tenant.adminKey });
		expect(stored.body.alert.occurrences).toBe(25);
		expect(stored.body.timeline.filter((e: { type: string }) => e.type === "created")).toHaveLength(1);
		const repeats = stored.body.timeline.filter((e: { type: string }) => e.type === "deduplicated");
		expect(repeats.map((e: { details: unknown }) => e.details)).toEqual([{ repeats: 24 }]);
		// Read from the row each time, the entry keeps its id.
		const again = await app.request("GET", `/api/v1/alerts/${id}`, { key: tenant.adminKey });
		expect(again.body.timeline.find((e: { type: string }) => e.type === "deduplicated").id).toBe(repeats[0].id);
		expect(escalation.started.filter((s) => s.alertId === id)).toHaveLength(1);
	});

	it("keeps distinct alerts of simultaneous requests apart, each with its own outcome", async () => {
		const hosts = Array.from({ length: 30 }, (_, i) => `web-${i}`);
		const responses = await Promise.all(hosts.map((host) => fire({ alertname: "HostDown", host }, "warning")));
		expect(responses.every((r) => r.status === 200 && r.body.alerts[0].outcome === "created")).toBe(true);
		const ids = new Set(responses.map((r) => r.body.alerts[0].alertId));
		expect(ids.size).toBe(30);
		for (const [i, response] of responses.entries()) {
			const stored = await app.request("GET", `/api/v1/alerts/${response.body.alerts[0].alertId}`, {
				key: tenant.adminKey,
			});
			expect(stored.body.alert).toMatchObject({ title: `Down: ${hosts[i]}`, occurrences: 1, status: "firing" });
		}
	});
});
