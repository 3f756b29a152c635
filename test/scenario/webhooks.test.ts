// biome-ignore-all lint/suspicious/noExplicitAny: test payloads are built and mutated freely
import { readFileSync } from "node:fs";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";
import { recordingEscalation } from "../harness/escalation.ts";

let app: TestApp;
let tenant: TestTenant;
let other: TestTenant;
let key: string;
const escalation = recordingEscalation();

beforeAll(async () => {
	app = await startTestApp({
		env: { OPSWATCH_MAX_ALERTS_PER_REQUEST: "5", OPSWATCH_BODY_LIMIT_BYTES: "65536" },
		escalation: escalation.starter,
	});
	tenant = await app.newTenant("hooks");
	other = await app.newTenant("other");
	key = await tenant.keyFor("engineer");
});
afterAll(() => app?.close());

const post = (path: string, json: unknown, k = key) =>
	app.request("POST", `/api/v1/webhooks/${path}`, { key: k, json });
const alertCount = async (k = key) =>
	(await app.request("GET", "/api/v1/alerts?limit=500", { key: k })).body.alerts.length as number;
const alert = async (id: string) => (await app.request("GET", `/api/v1/alerts/${id}`, { key })).body;

describe(`Keep, generic and PagerDuty webhooks end to end (${backendName})`, () => {
	it("ingests a Keep alert and resolves it", async () => {
		const dto = {
			id: "keep-1",
			name: "CPU high on api-7",
			status: "firing",
			severity: "high",
			lastReceived: "2026-11-26T10:00:00.000Z",
			environment: "production",
			service: "api",
			source: ["prometheus"],
			description: "CPU above 95% for 10 minutes",
			labels: { host: "api-7", cores: 8 },
			fingerprint: "keep-fp-cpu-api-7",
			url: "https://keep.example/alerts/keep-1",
		};
		const created = await post("keep", dto);
		expect(created.status).toBe(200);
		expect(created.body.alerts[0]).toMatchObject({ fingerprint: "keep-fp-cpu-api-7", outcome: "created" });
		const stored = await alert(created.body.alerts[0].alertId);
		expect(stored.alert).toMatchObject({
			source: "keep",
			severity: "major",
			status: "firing",
			title: "CPU high on api-7",
			labels: { host: "api-7", cores: "8", environment: "production", service: "api", keep_source: "prometheus" },
		});
		expect(escalation.started.map((s) => s.alertId)).toContain(stored.alert.id);

		const resolved = await post("keep", [{ ...dto, status: "resolved" }]);
		expect(resolved.body.alerts[0].outcome).toBe("resolved");
		expect((await alert(stored.alert.id)).alert.status).toBe("resolved");
	});

	it("ingests a generic alert and an array, fingerprinting by labels when none is given", async () => {
		const one = await post("generic", {
			title: "Backup job failed",
			severity: "minor",
			labels: { job: "backup", host: "db-1" },
			source: "cron",
		});
		expect(one.status).toBe(200);
		const first = await alert(one.body.alerts[0].alertId);
		expect(first.alert).toMatchObject({
			source: "generic",
			severity: "minor",
			labels: { job: "backup", source: "cron" },
		});

		// Same labels in another order: the same alert.
		const again = await post("generic", [
			{ title: "Backup job failed", labels: { source: "cron", host: "db-1", job: "backup" } },
			{ title: "Certificate expires in 7 days", labels: { cert: "shop.example" }, severity: "warning" },
		]);
		expect(again.body.alerts.map((a: { outcome: string }) => a.outcome)).toEqual(["deduplicated", "created"]);
		expect(again.body.alerts[0].alertId).toBe(first.alert.id);
		expect((await alert(first.alert.id)).alert.occurrences).toBe(2);
	});

	it("reads a sender's instants in any offset and to the nanosecond as the same instants", async () => {
		const opened = await post("generic", {
			title: "Replication lag",
			labels: { cluster: "eu-1", check: "lag" },
			// Alertmanager writes nanoseconds; senders in other zones write their offset.
			starts_at: "2026-11-26T14:20:17.79138166+01:00",
		});
		const stored = await alert(opened.body.alerts[0].alertId);
		expect(stored.alert.startsAt).toBe("2026-11-26T13:20:17.791Z");

		await post("generic", {
			title: "Replication lag",
			labels: { cluster: "eu-1", check: "lag" },
			status: "resolved",
			starts_at: "2026-11-26T14:20:17.79138166+01:00",
			ends_at: "2026-11-26T08:45:00.5-05:00",
		});
		expect((await alert(stored.alert.id)).alert).toMatchObject({
			status: "resolved",
			endsAt: "2026-11-26T13:45:00.500Z",
		});
	});

	it("speaks PagerDuty Events v2: trigger, acknowledge, resolve, re-trigger", async () => {
		const trigger = {
			routing_key: key,
			event_action: "trigger",
			payload: {
				summary: "Disk full on /var at db-2",
				source: "db-2",
				severity: "critical",
				custom_details: { free_bytes: 0, mount: "/var" },
			},
		};
		const triggered = await app.request("POST", "/api/v1/webhooks/pagerduty", { json: trigger });
		expect(triggered.status).toBe(202);
		expect(triggered.body).toMatchObject({ status: "success", message: "Event processed" });
		const dedupKey = triggered.body.dedup_key as string;
		expect(dedupKey).toMatch(/^[0-9a-f-]{36}$/);

		const list = async () =>
			(await app.request("GET", "/api/v1/alerts?source=pagerduty&limit=50", { key })).body.alerts as {
				id: string;
				status: string;
				severity: string;
			}[];
		const [opened] = await list();
		expect(opened).toMatchObject({ status: "firing", severity: "critical" });

		const ack = await app.request("POST", "/api/v1/webhooks/pagerduty", {
			json: { routing_key: key, event_action: "acknowledge", dedup_key: dedupKey },
		});
		expect(ack.status).toBe(202);
		expect((await list())[0]!.status).toBe("acknowledged");
		expect(escalation.stopped).toContainEqual({ tenant: tenant.slug, alertId: opened!.id, reason: "acknowledged" });
		const metrics = (await app.request("GET", "/metrics")).text;
		expect(metrics).toContain(`opswatch_alerts_acknowledged_total{tenant="${tenant.slug}"} 1`);

		await app.request("POST", "/api/v1/webhooks/pagerduty", {
			json: { routing_key: key, event_action: "resolve", dedup_key: dedupKey },
		});
		expect((await list())[0]!.status).toBe("resolved");

		// After resolve, a trigger with the same dedup_key opens a new alert.
		const again = await app.request("POST", "/api/v1/webhooks/pagerduty", {
			json: { ...trigger, dedup_key: dedupKey },
		});
		expect(again.body.dedup_key).toBe(dedupKey);
		expect((await list()).map((a) => a.status).sort()).toEqual(["firing", "resolved"]);

		// acknowledge for a key nobody triggered changes nothing and still answers as PagerDuty does.
		const stray = await app.request("POST", "/api/v1/webhooks/pagerduty", {
			json: { routing_key: key, event_action: "acknowledge", dedup_key: "never-triggered" },
		});
		expect(stray.status).toBe(202);
		expect(await list()).toHaveLength(2);

		// Two alerts were received; the acknowledge and resolve events carried none to count.
		const received = (await app.request("GET", "/metrics")).text
			.split("\n")
			.filter((line) => line.startsWith('opswatch_alerts_received_total{source="pagerduty"'));
		expect(received).toEqual([
			`opswatch_alerts_received_total{source="pagerduty",severity="critical",tenant="${tenant.slug}"} 2`,
		]);
	});
});

const valid: Record<string, unknown> = {
	alertmanager: JSON.parse(
		readFileSync(
			new URL("../fixtures/alertmanager/firing-single-alert-child-route-3-group-labels.json", import.meta.url),
			"utf8",
		),
	),
	generic: { title: "t", labels: { a: "b" } },
	keep: { name: "n", status: "firing", severity: "info", fingerprint: "k-bad-input" },
	pagerduty: { event_action: "trigger", payload: { summary: "s", source: "x", severity: "info" } },
};

/** A copy of a receiver's valid body with `change` applied to its (first) alert. */
function variant(receiver: string, change: (alert: Record<string, any>) => void): unknown {
	const body = structuredClone(valid[receiver]) as Record<string, any>;
	const target = receiver === "alertmanager" ? body.alerts[0] : receiver === "pagerduty" ? body.payload : body;
	change(target);
	return receiver === "pagerduty" ? { ...body, routing_key: key } : body;
}

describe.each(["alertmanager", "generic", "keep", "pagerduty"])(`bad input on /%s (${backendName})`, (receiver) => {
	const labelsField: Record<string, string> = {
		alertmanager: "labels",
		generic: "labels",
		keep: "labels",
		pagerduty: "custom_details",
	};

	async function expectRejected(response: { status: number; body: any }, status: number, pathPart?: string) {
		expect(response.status).toBe(status);
		if (pathPart) expect(JSON.stringify(response.body.error.fields ?? response.body.error.message)).toContain(pathPart);
		expect(await alertCount()).toBe(before);
	}
	let before: number;
	beforeAll(async () => {
		before = await alertCount();
	});

	it("malformed JSON → 400", async () => {
		const r = await app.request("POST", `/api/v1/webhooks/${receiver}`, {
			key,
			body: '{"alerts": [',
			headers: { "content-type": "application/json" },
		});
		await expectRejected(r, 400);
		expect(r.body.error.code).toBe("request.malformed_json");
	});

	it("wrong content type → 415", async () => {
		const r = await app.request("POST", `/api/v1/webhooks/${receiver}`, {
			key,
			body: "alert=1",
			headers: { "content-type": "text/plain" },
		});
		await expectRejected(r, 415);
	});

	it("missing required fields → 400 naming them", async () => {
		const body =
			receiver === "alertmanager"
				? { version: "4" }
				: receiver === "pagerduty"
					? { routing_key: key, event_action: "trigger" }
					: { description: "no title or name" };
		const field = { alertmanager: "alerts", generic: "title", keep: "name", pagerduty: "payload" }[receiver]!;
		await expectRejected(await post(receiver, body), 400, field);
	});

	it("labels as an array → 400 naming the field as the sender wrote the body", async () => {
		const body = variant(receiver, (a) => {
			a[labelsField[receiver]!] = ["a", "b"];
		});
		const response = await post(receiver, body);
		await expectRejected(response, 400);
		const path = {
			alertmanager: "body.alerts.0.labels",
			generic: "body.labels",
			keep: "body.labels",
			pagerduty: "body.payload.custom_details",
		}[receiver];
		expect(response.body.error.fields.map((field: { path: string }) => field.path)).toEqual([path]);
		if (receiver !== "generic" && receiver !== "keep") return;
		// Sent as an array, the same alert is named by its place in it.
		const second = await post(receiver, [valid[receiver], body]);
		await expectRejected(second, 400);
		expect(second.body.error.fields.map((field: { path: string }) => field.path)).toEqual(["body.1.labels"]);
	});

	it('status "maybe" / unknown action → 400 naming the field', async () => {
		const body =
			receiver === "pagerduty"
				? { routing_key: key, event_action: "escalate", dedup_key: "x" }
				: variant(receiver, (a) => {
						a.status = "maybe";
					});
		await expectRejected(await post(receiver, body), 400, receiver === "pagerduty" ? "event_action" : "status");
	});

	it("label values with NUL bytes or over 8 KiB → 400", async () => {
		if (receiver === "pagerduty") {
			// PagerDuty has no labels; its free-form text fields get the same check.
			const nul = variant(receiver, (p) => {
				p.source = "db\u0000-2";
			});
			await expectRejected(await post(receiver, nul), 400, "source");
			return;
		}
		const nul = variant(receiver, (a) => {
			a.labels = { ...a.labels, host: "a\u0000b" };
		});
		await expectRejected(await post(receiver, nul), 400, "labels");
		const huge = variant(receiver, (a) => {
			a.labels = { ...a.labels, host: "x".repeat(9000) };
		});
		await expectRejected(await post(receiver, huge), 400, "labels");
	});

	it("strings that are not valid Unicode (half a surrogate pair) → 400 naming the field", async () => {
		const field = receiver === "pagerduty" ? "payload.source" : `${labelsField[receiver]}.host`;
		const body = variant(receiver, (a) => {
			if (receiver === "pagerduty") a.source = "db-\ud800";
			else a.labels = { ...a.labels, host: "db-\udc00-2" };
		});
		await expectRejected(await post(receiver, body), 400, field);
	});

	it("a fingerprint with a NUL byte → 400 naming the field (PagerDuty hashes its dedup key: any text is one)", async () => {
		if (receiver === "pagerduty") {
			const r = await post(receiver, { routing_key: key, event_action: "acknowledge", dedup_key: "x\u0000" }, "");
			expect(r.status).toBe(202);
			expect(await alertCount()).toBe(before);
			return;
		}
		const body = variant(receiver, (a) => {
			a.fingerprint = "fp\u0000-1";
		});
		await expectRejected(await post(receiver, body), 400, "fingerprint");
	});

	it("timestamps that aren't RFC 3339 → 400", async () => {
		const field = { alertmanager: "startsAt", generic: "starts_at", keep: "lastReceived", pagerduty: "timestamp" }[
			receiver
		]!;
		for (const timestamp of [
			"2026-11-26 13:00",
			// RFC 3339, but before year 1, which PostgreSQL cannot store: directly, or by its offset.
			"0000-06-01T00:00:00Z",
			"0001-01-01T00:30:00+01:00",
		]) {
			const body = variant(receiver, (a) => {
				a[field] = timestamp;
			});
			await expectRejected(await post(receiver, body), 400, field);
		}
	});

	it("more alerts than the configured maximum → 400", async () => {
		if (receiver === "pagerduty") {
			// One event per request by protocol: an array is not an event.
			await expectRejected(await post(receiver, [valid.pagerduty, valid.pagerduty]), 400);
			return;
		}
		const body =
			receiver === "alertmanager"
				? { ...(valid.alertmanager as object), alerts: Array(6).fill((valid.alertmanager as any).alerts[0]) }
				: Array(6).fill(valid[receiver]);
		await expectRejected(await post(receiver, body), 400, "At most 5 alerts");
	});

	it("a body over the limit → 413", async () => {
		const body = variant(receiver, (a) => {
			a.padding = "x".repeat(70_000);
		});
		await expectRejected(await post(receiver, body), 413);
	});

	it("no key, another tenant's key of the wrong role, a readonly key → 401/403, nothing written", async () => {
		const body = receiver === "pagerduty" ? { ...(valid.pagerduty as object) } : valid[receiver];
		await expectRejected(await app.request("POST", `/api/v1/webhooks/${receiver}`, { json: body }), 401);
		const readonly = await tenant.keyFor("readonly");
		const asReadonly =
			receiver === "pagerduty"
				? post(receiver, { ...(body as object), routing_key: readonly }, "")
				: post(receiver, body, readonly);
		await expectRejected(await asReadonly, 403);
		// A valid key of another tenant writes there, never here.
		const otherCount = await alertCount(other.adminKey);
		const elsewhere =
			receiver === "pagerduty"
				? post(receiver, { ...(body as object), routing_key: other.adminKey }, "")
				: post(receiver, body, other.adminKey);
		expect((await elsewhere).status).toBeLessThan(300);
		expect(await alertCount()).toBe(before);
		expect(await alertCount(other.adminKey)).toBe(otherCount + 1);
	});
});

describe(`Each alert keeps the sender's object (${backendName})`, () => {
	const ref = () => ({ id: tenant.id, slug: tenant.slug, schema: `tenant_${tenant.slug}` });
	/** What the API shows as the sender's object for the alert. */
	const raw = async (alertId: string) => (await app.request("GET", `/api/v1/alerts/${alertId}`, { key })).body.raw;
	const payloads = () => sql.table(`${ref().schema}.webhook_payloads`);

	it("a generic array and a single object keep their bodies once, verbatim, and each alert its own object", async () => {
		const array = [
			{ title: "Disk full on db-1", labels: { host: "db-1" }, extra: { a: 1 } },
			{ title: "Disk full on db-2", labels: { host: "db-2" } },
		];
		const text = JSON.stringify(array, null, 2);
		const many = await app.request("POST", "/api/v1/webhooks/generic", {
			key,
			body: text,
			headers: { "content-type": "application/json" },
		});
		expect(await raw(many.body.alerts[0].alertId)).toEqual(array[0]);
		expect(await raw(many.body.alerts[1].alertId)).toEqual(array[1]);
		const single = { title: "Queue backlog", labels: { queue: "mail" }, note: "from cron" };
		const one = await post("generic", single);
		expect(await raw(one.body.alerts[0].alertId)).toEqual(single);
		const { rows } = await sql<{ body: string }>`select body from ${payloads()} where body = ${text}`.execute(
			app.database.db,
		);
		expect(rows).toHaveLength(1);
	});

	it("a Keep alert keeps its AlertDto", async () => {
		const dto = { id: "keep-raw", name: "Raw kept", status: "firing", fingerprint: "keep-raw-1", custom: [1, 2] };
		const created = await post("keep", dto);
		expect(await raw(created.body.alerts[0].alertId)).toEqual(dto);
	});

	it("an alert whose body has a NUL in a field no receiver checks is kept and shown as sent", async () => {
		// Valid JSON that PostgreSQL's jsonb refuses: the body is kept as text and read in Node.
		const dto = { name: "NUL kept", status: "firing", fingerprint: "keep-nul-1", extra: { note: "a\u0000b" } };
		const created = await post("keep", dto);
		expect(created.status).toBe(200);
		expect(await raw(created.body.alerts[0].alertId)).toEqual(dto);
	});

	it("a body with bytes that aren't UTF-8 is kept as the text that was read from it", async () => {
		// Node reads a stray byte as U+FFFD; PostgreSQL would refuse the byte itself in a text column.
		const bytes = Buffer.concat([
			Buffer.from('{"title": "Stray byte", "labels": {"host": "db-'),
			Buffer.from([0xff]),
			Buffer.from('"}, "fingerprint": "stray-byte-1"}'),
		]);
		const created = await app.request("POST", "/api/v1/webhooks/generic", {
			key,
			body: bytes,
			headers: { "content-type": "application/json" },
		});
		expect(created.status).toBe(200);
		const shown = await raw(created.body.alerts[0].alertId);
		expect(shown).toEqual({ title: "Stray byte", labels: { host: "db-\ufffd" }, fingerprint: "stray-byte-1" });
	});

	it("a PagerDuty event keeps its event without the routing key, and its body is not kept", async () => {
		const event = {
			routing_key: key,
			event_action: "trigger",
			dedup_key: "raw-kept",
			payload: { summary: "Raw kept", source: "db-9", severity: "warning" },
		};
		const created = await app.request("POST", "/api/v1/webhooks/pagerduty", { json: event });
		expect(created.status).toBe(202);
		const [listed] = (await app.request("GET", "/api/v1/alerts?limit=500", { key })).body.alerts.filter(
			(a: any) => a.title === "Raw kept" && a.source === "pagerduty",
		);
		const kept = (await raw(listed.id)) as Record<string, unknown>;
		expect(kept).toMatchObject({ event_action: "trigger", dedup_key: "raw-kept" });
		expect(kept).not.toHaveProperty("routing_key");
		const { rows } = await sql`select 1 from ${payloads()} where position(${key} in body) > 0`.execute(app.database.db);
		expect(rows).toEqual([]);
	});
});
