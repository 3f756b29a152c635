import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";
import { recordingEscalation } from "../harness/escalation.ts";

let app: TestApp;
let a: TestTenant;
let b: TestTenant;
let engineer: string;
let readonly: string;
const escalation = recordingEscalation();
const ids: Record<string, string> = {};

beforeAll(async () => {
	app = await startTestApp({ escalation: escalation.starter });
	a = await app.newTenant("a");
	b = await app.newTenant("b");
	engineer = await a.keyFor("engineer");
	readonly = await a.keyFor("readonly");
	const alerts = [
		{ title: "Disk full on db-1", severity: "critical", labels: { host: "db-1", team: "db" } },
		{ title: "Disk 80% on db-2", severity: "warning", labels: { host: "db-2", team: "db" } },
		{ title: "Latency high on api", severity: "major", labels: { host: "api-1", team: "web" } },
		{ title: "Certificate expires soon", severity: "info", labels: { cert: "shop", team: "web" } },
	];
	const response = await app.request("POST", "/api/v1/webhooks/generic", { key: engineer, json: alerts });
	response.body.alerts.forEach((r: { alertId: string }, i: number) => {
		ids[alerts[i]!.labels.host ?? "cert"] = r.alertId;
	});
});
afterAll(() => app?.close());

const list = (query: string, key = readonly) => app.request("GET", `/api/v1/alerts${query}`, { key });

describe(`alert lifecycle API (${backendName})`, () => {
	it("filters by status, severity, source, labels and text", async () => {
		const titles = async (query: string) =>
			(await list(query)).body.alerts.map((x: { title: string }) => x.title).sort() as string[];
		expect(await titles("?severity=critical,major")).toEqual(["Disk full on db-1", "Latency high on api"]);
		expect(await titles("?label=team%3Ddb")).toEqual(["Disk 80% on db-2", "Disk full on db-1"]);
		expect(await titles("?label=team%3Dweb&label=host%3Dapi-1")).toEqual(["Latency high on api"]);
		expect(await titles("?q=disk")).toEqual(["Disk 80% on db-2", "Disk full on db-1"]);
		expect(await titles("?q=100%25")).toEqual([]);
		expect(await titles("?source=keep")).toEqual([]);
		expect((await list("?status=firing")).body.alerts).toHaveLength(4);
		expect(
			(await list(`?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).body.alerts,
		).toEqual([]);
	});

	it("pages with a stable cursor", async () => {
		const first = await list("?limit=3");
		expect(first.body.alerts).toHaveLength(3);
		expect(first.body.nextCursor).toBeTruthy();
		const second = await list(`?limit=3&cursor=${first.body.nextCursor}`);
		expect(second.body.alerts).toHaveLength(1);
		expect(second.body.nextCursor).toBeUndefined();
		const all = [...first.body.alerts, ...second.body.alerts].map((x: { id: string }) => x.id);
		expect(new Set(all).size).toBe(4);
	});

	it("sorts by severity, repeats or age, either way, and pages each sort with its own cursor", async () => {
		const severitiesOf = async (query: string) =>
			(await list(query)).body.alerts.map((x: { severity: string }) => x.severity) as string[];
		expect(await severitiesOf("?sort=severity")).toEqual(["critical", "major", "warning", "info"]);
		expect(await severitiesOf("?sort=severity&order=asc")).toEqual(["info", "warning", "major", "critical"]);

		const latency = { title: "Latency high on api", severity: "major", labels: { host: "api-1", team: "web" } };
		for (let i = 0; i < 2; i++) await app.request("POST", "/api/v1/webhooks/generic", { key: engineer, json: latency });
		const noisiest = (await list("?sort=occurrences")).body.alerts as { id: string; occurrences: number }[];
		expect(noisiest.map((x) => x.occurrences)).toEqual([3, 1, 1, 1]);
		expect(noisiest[0]!.id).toBe(ids["api-1"]);

		// One alert a page, oldest first: every alert once, in the order of the whole list.
		const whole = (await list("?sort=first_seen&order=asc")).body.alerts.map((x: { id: string }) => x.id);
		const walked: string[] = [];
		let cursor: string | undefined;
		do {
			const page = await list(`?sort=first_seen&order=asc&limit=1${cursor ? `&cursor=${cursor}` : ""}`);
			expect(page.status).toBe(200);
			walked.push(...page.body.alerts.map((x: { id: string }) => x.id));
			cursor = page.body.nextCursor;
		} while (cursor);
		expect(walked).toEqual(whole);
		expect(new Set(walked).size).toBe(4);

		// The same walk by severity, two at a time.
		const first = await list("?sort=severity&limit=2");
		const second = await list(`?sort=severity&limit=2&cursor=${first.body.nextCursor}`);
		expect([...first.body.alerts, ...second.body.alerts].map((x: { severity: string }) => x.severity)).toEqual([
			"critical",
			"major",
			"warning",
			"info",
		]);

		// A cursor continues only the sort it was made for.
		const elsewhere = await list(`?sort=occurrences&limit=2&cursor=${first.body.nextCursor}`);
		expect(elsewhere.status).toBe(400);
		expect(elsewhere.body.error.code).toBe("alert.invalid_cursor");
		expect(elsewhere.body.error.fields).toEqual([
			{
				path: "querystring.cursor",
				message: "continues sort=severity&order=desc: ask for the next page with those",
			},
		]);
	});

	it.each([
		["?sort=loudest", "querystring.sort"],
		["?order=up", "querystring.order"],
		[
			`?cursor=${Buffer.from('{"sort":"severity","order":"desc","keys":["x"],"id":"nope"}').toString("base64url")}`,
			"querystring.cursor",
		],
		["?severity=urgent", "querystring.severity"],
		["?status=maybe", "querystring.status"],
		["?limit=0", "querystring.limit"],
		["?label=team", "querystring.label"],
		["?since=yesterday", "querystring.since"],
		["?cursor=bm9wZQ", "querystring.cursor"],
		["?colour=red", "querystring"],
	])("rejects %s with 400 naming the parameter", async (query, path) => {
		const response = await list(query);
		expect(response.status).toBe(400);
		expect(JSON.stringify(response.body.error)).toContain(path);
	});

	it("acknowledges once, idempotently, and stops the escalation", async () => {
		const id = ids["db-1"]!;
		const ack = await app.request("PATCH", `/api/v1/alerts/${id}/acknowledge`, { key: engineer });
		expect(ack.status).toBe(200);
		expect(ack.body.alert).toMatchObject({
			status: "acknowledged",
			acknowledgedBy: expect.stringMatching(/^api_key:/),
		});
		const again = await app.request("PATCH", `/api/v1/alerts/${id}/acknowledge`, { key: engineer });
		expect(again.status).toBe(200);
		expect(again.body.alert.acknowledgedAt).toBe(ack.body.alert.acknowledgedAt);
		expect(escalation.stopped.filter((s) => s.alertId === id)).toEqual([
			{ tenant: a.slug, alertId: id, reason: "acknowledged" },
		]);
		const detail = await app.request("GET", `/api/v1/alerts/${id}`, { key: readonly });
		expect(detail.body.timeline.map((e: { type: string }) => e.type)).toEqual(["created", "acknowledged"]);
		// Who opened it and when, read from the alert row (no event row is written for it).
		expect(detail.body.timeline[0]).toMatchObject({
			type: "created",
			at: detail.body.alert.firstSeenAt,
			actor: expect.stringMatching(/^source:generic:/),
		});
	});

	it("resolves with notes; acknowledging a resolved alert is 409", async () => {
		const id = ids["api-1"]!;
		const resolved = await app.request("PATCH", `/api/v1/alerts/${id}/resolve`, {
			key: engineer,
			json: { notes: "Rolled back release 2026.11.3" },
		});
		expect(resolved.status).toBe(200);
		expect(resolved.body.alert).toMatchObject({ status: "resolved", resolutionNotes: "Rolled back release 2026.11.3" });
		const again = await app.request("PATCH", `/api/v1/alerts/${id}/resolve`, { key: engineer });
		expect(again.status).toBe(200);
		const ack = await app.request("PATCH", `/api/v1/alerts/${id}/acknowledge`, { key: engineer });
		expect(ack.status).toBe(409);
		expect(ack.body.error.code).toBe("alert.invalid_transition");
		const unknownField = await app.request("PATCH", `/api/v1/alerts/${ids["db-2"]}/resolve`, {
			key: engineer,
			json: { note: "typo" },
		});
		expect(unknownField.status).toBe(400);
	});

	it("lets a readonly key read but not respond", async () => {
		const id = ids["db-2"]!;
		expect((await app.request("GET", `/api/v1/alerts/${id}`, { key: readonly })).status).toBe(200);
		const ack = await app.request("PATCH", `/api/v1/alerts/${id}/acknowledge`, { key: readonly });
		expect(ack.status).toBe(403);
		expect((await app.request("GET", `/api/v1/alerts/${id}`, { key: readonly })).body.alert.status).toBe("firing");
	});

	it("keeps tenant A's alerts away from tenant B", async () => {
		const id = ids.cert!;
		expect((await app.request("GET", `/api/v1/alerts/${id}`, { key: b.adminKey })).status).toBe(404);
		expect((await app.request("PATCH", `/api/v1/alerts/${id}/resolve`, { key: b.adminKey })).status).toBe(404);
		expect((await app.request("GET", "/api/v1/alerts", { key: b.adminKey })).body.alerts).toEqual([]);
		expect((await app.request("GET", `/api/v1/alerts/${id}`, { key: readonly })).body.alert.status).toBe("firing");
		expect((await app.request("GET", "/api/v1/alerts/not-a-uuid", { key: readonly })).status).toBe(400);
	});
});
