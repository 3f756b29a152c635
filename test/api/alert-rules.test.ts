import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";

let app: TestApp;
let a: TestTenant;
let b: TestTenant;
let manager: string;
let engineer: string;

beforeAll(async () => {
	app = await startTestApp();
	a = await app.newTenant("rules");
	b = await app.newTenant("other");
	manager = await a.keyFor("manager");
	engineer = await a.keyFor("engineer");
});
afterAll(() => app?.close());

const dbRule = {
	name: "database hosts are critical",
	position: 10,
	matchers: [
		{ label: "team", op: "=", value: "db" },
		{ label: "instance", op: "=~", value: "db-[0-9]+" },
	],
	severity: "critical",
};

const ingest = async (labels: Record<string, string>, extra: object = {}) => {
	const r = await app.request("POST", "/api/v1/webhooks/generic", {
		key: engineer,
		json: { title: `t ${JSON.stringify(labels)}`, labels, ...extra },
	});
	const id = r.body.alerts[0].alertId as string;
	return (await app.request("GET", `/api/v1/alerts/${id}`, { key: engineer })).body.alert;
};

describe(`severity rules (${backendName})`, () => {
	it("classify alerts that state no severity, in position order, and never override a stated one", async () => {
		const created = await app.request("POST", "/api/v1/alert-rules", { key: manager, json: dbRule });
		expect(created.status).toBe(201);
		expect(created.body.rule).toMatchObject({ ...dbRule, enabled: true, version: 1 });
		await app.request("POST", "/api/v1/alert-rules", {
			key: manager,
			json: {
				name: "db team default",
				position: 20,
				matchers: [{ label: "team", op: "=", value: "db" }],
				severity: "minor",
			},
		});

		expect((await ingest({ team: "db", instance: "db-7" })).severity).toBe("critical");
		expect((await ingest({ team: "db", instance: "cache-1" })).severity).toBe("minor");
		expect((await ingest({ team: "web" })).severity).toBe("warning");
		expect((await ingest({ team: "db", instance: "db-8", severity: "info" })).severity).toBe("info");
		expect((await ingest({ team: "db", instance: "db-9" }, { severity: "major" })).severity).toBe("major");

		const audit = await app.running.container.tenants.listAudit(a.slug);
		expect(audit.filter((row) => row.action === "alert_rule.create")).toHaveLength(2);
	});

	it("updates with optimistic concurrency and applies the change at once", async () => {
		const [first] = (await app.request("GET", "/api/v1/alert-rules", { key: engineer })).body.rules;
		const updated = await app.request("PUT", `/api/v1/alert-rules/${first.id}`, {
			key: manager,
			json: { ...dbRule, severity: "major", version: first.version },
		});
		expect(updated.status).toBe(200);
		expect(updated.body.rule).toMatchObject({ severity: "major", version: 2 });
		expect((await ingest({ team: "db", instance: "db-10" })).severity).toBe("major");

		const stale = await app.request("PUT", `/api/v1/alert-rules/${first.id}`, {
			key: manager,
			json: { ...dbRule, severity: "info", version: first.version },
		});
		expect(stale.status).toBe(409);
		expect(stale.body.error.code).toBe("alert_rule.version_conflict");
		expect((await app.request("GET", `/api/v1/alert-rules/${first.id}`, { key: engineer })).body.rule.severity).toBe(
			"major",
		);

		expect((await app.request("DELETE", `/api/v1/alert-rules/${first.id}`, { key: manager })).status).toBe(204);
		expect((await app.request("GET", `/api/v1/alert-rules/${first.id}`, { key: engineer })).status).toBe(404);
		expect((await ingest({ team: "db", instance: "db-11" })).severity).toBe("minor");
	});

	it.each([
		[
			"an invalid regex",
			{ ...dbRule, matchers: [{ label: "instance", op: "=~", value: "db-(" }] },
			"body.matchers.0.value",
		],
		["an unknown operator", { ...dbRule, matchers: [{ label: "x", op: "~=", value: "y" }] }, "body.matchers.0.op"],
		["no matchers", { ...dbRule, matchers: [] }, "body.matchers"],
		["an unknown severity", { ...dbRule, severity: "urgent" }, "body.severity"],
		["a missing name", { ...dbRule, name: undefined }, "body.name"],
		["an unknown field", { ...dbRule, colour: "red" }, "body"],
		[
			"half a surrogate pair (not valid Unicode)",
			{ ...dbRule, matchers: [{ label: "team", op: "=", value: "db-\ud800" }] },
			"body.matchers.0.value",
		],
	])("rejects %s with 400 naming the field, writing nothing", async (_why, json, path) => {
		const before = (await app.request("GET", "/api/v1/alert-rules", { key: engineer })).body.rules.length;
		const response = await app.request("POST", "/api/v1/alert-rules", { key: manager, json });
		expect(response.status).toBe(400);
		expect(response.body.error.fields.map((f: { path: string }) => f.path)).toContain(path);
		expect((await app.request("GET", "/api/v1/alert-rules", { key: engineer })).body.rules).toHaveLength(before);
	});

	it("lets engineers read rules but not change them, and keeps tenants apart", async () => {
		expect((await app.request("POST", "/api/v1/alert-rules", { key: engineer, json: dbRule })).status).toBe(403);
		const [rule] = (await app.request("GET", "/api/v1/alert-rules", { key: engineer })).body.rules;
		expect((await app.request("GET", "/api/v1/alert-rules", { key: b.adminKey })).body.rules).toEqual([]);
		expect((await app.request("GET", `/api/v1/alert-rules/${rule.id}`, { key: b.adminKey })).status).toBe(404);
		expect((await app.request("DELETE", `/api/v1/alert-rules/${rule.id}`, { key: b.adminKey })).status).toBe(404);
		expect((await app.request("GET", `/api/v1/alert-rules/${rule.id}`, { key: engineer })).status).toBe(200);
	});
});
