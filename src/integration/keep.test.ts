import { describe, expect, it } from "vitest";
import { MAX_LABEL_BYTES } from "../alert/index.ts";
import { fromKeep, keepAlert, keepPayload } from "./keep.ts";
import { asArray } from "./one-or-many.ts";

const parse = (body: unknown) => fromKeep(keepPayload.parse(asArray(body)));

/** The issues of one DTO, checked against the item schema (the payload union is covered in generic.test.ts). */
const issues = (body: unknown) => {
	const result = keepAlert.safeParse(body);
	expect(result.success).toBe(false);
	return result.error?.issues ?? [];
};

/** An AlertDto as Keep serialises it: optional fields present as null, Keep's own extras included. */
const dto = {
	id: "1234",
	name: "HighCPU",
	status: "firing",
	severity: "high",
	lastReceived: "2026-11-26T13:20:17.000Z",
	firingStartTime: "2026-11-26T13:15:00.000Z",
	environment: "production",
	service: "checkout",
	source: ["prometheus", "grafana"],
	message: "CPU above 90% for 5m",
	description: "CPU on checkout-7f9c is at 97%",
	url: "https://grafana.example.com/d/cpu",
	labels: { pod: "checkout-7f9c", replicas: 3, canary: false, ratio: 0.5, owner: null },
	fingerprint: "9f0c1b4e",
	pushed: true,
	event_id: "b6d1",
	note: null,
	assignee: null,
	isFullDuplicate: false,
	duplicateReason: null,
	dismissed: false,
	providerType: "prometheus",
	enriched_fields: [],
};

const minimal = { name: "Something broke", status: "firing" };

describe("fromKeep", () => {
	it("maps every field of a full DTO", () => {
		expect(parse(dto)).toEqual([
			{
				source: "keep",
				fingerprint: "9f0c1b4e",
				status: "firing",
				severity: "major",
				title: "HighCPU",
				description: "CPU on checkout-7f9c is at 97%",
				labels: {
					pod: "checkout-7f9c",
					replicas: "3",
					canary: "false",
					ratio: "0.5",
					environment: "production",
					service: "checkout",
					keep_source: "prometheus,grafana",
				},
				annotations: {},
				startsAt: "2026-11-26T13:20:17.000Z",
				endsAt: undefined,
				generatorUrl: "https://grafana.example.com/d/cpu",
				raw: dto,
			},
		]);
	});

	it("maps a minimal DTO", () => {
		expect(parse(minimal)).toEqual([
			{
				source: "keep",
				fingerprint: undefined,
				status: "firing",
				severity: undefined,
				title: "Something broke",
				description: "",
				labels: {},
				annotations: {},
				startsAt: undefined,
				endsAt: undefined,
				generatorUrl: undefined,
				raw: minimal,
			},
		]);
	});

	it("treats null optional fields as absent", () => {
		const body = {
			...minimal,
			id: null,
			severity: null,
			lastReceived: null,
			environment: null,
			service: null,
			source: null,
			message: null,
			description: null,
			url: null,
			labels: null,
			fingerprint: null,
			pushed: null,
			event_id: null,
		};
		const [alert] = parse(body);
		expect(alert).toMatchObject({ fingerprint: undefined, severity: undefined, description: "", labels: {} });
		expect(alert?.startsAt).toBeUndefined();
		expect(alert?.generatorUrl).toBeUndefined();
	});

	it.each([
		["firing", "firing"],
		["pending", "firing"],
		["suppressed", "firing"],
		["acknowledged", "acknowledged"],
		["resolved", "resolved"],
	])("maps status %s to %s", (status, expected) => {
		expect(parse({ ...minimal, status })[0]?.status).toBe(expected);
	});

	it.each([
		["critical", "critical"],
		["high", "major"],
		["warning", "warning"],
		["info", "info"],
		["low", "minor"],
	])("maps severity %s to %s", (severity, expected) => {
		expect(parse({ ...minimal, severity })[0]?.severity).toBe(expected);
	});

	it.each([
		["description and message", { description: "d", message: "m" }, "d"],
		["message only", { message: "m" }, "m"],
		["null description", { description: null, message: "m" }, "m"],
		["neither", {}, ""],
	])("takes the description from %s", (_name, fields, expected) => {
		expect(parse({ ...minimal, ...fields })[0]?.description).toBe(expected);
	});

	it("ends a resolved alert at lastReceived", () => {
		const [alert] = parse({ ...minimal, status: "resolved", lastReceived: "2026-11-26T14:00:00.123Z" });
		expect(alert?.endsAt).toBe("2026-11-26T14:00:00.123Z");
	});

	it("accepts the +00:00 offset Keep uses when it stamps lastReceived itself", () => {
		const [alert] = parse({ ...minimal, lastReceived: "2026-11-26T13:20:17.791381+00:00" });
		// As Keep wrote it: PostgreSQL reads the offset and the microseconds (webhooks.test.ts).
		expect(alert?.startsAt).toBe("2026-11-26T13:20:17.791381+00:00");
	});

	it("lets the DTO's environment, service and source win over same-named labels", () => {
		const [alert] = parse({
			...minimal,
			environment: "prod",
			service: "api",
			source: ["datadog"],
			labels: { environment: "staging", service: "web", keep_source: "x", team: "a" },
		});
		expect(alert?.labels).toEqual({ environment: "prod", service: "api", keep_source: "datadog", team: "a" });
	});

	it('skips Keep\'s placeholder environment "undefined", empty values and an empty source list', () => {
		const [alert] = parse({ ...minimal, environment: "undefined", service: "", source: [] });
		expect(alert?.labels).toEqual({});
	});

	it("maps an array of DTOs in order", () => {
		const alerts = parse([
			{ ...minimal, name: "one" },
			{ ...minimal, name: "two", status: "resolved" },
		]);
		expect(alerts.map((alert) => [alert.title, alert.status])).toEqual([
			["one", "firing"],
			["two", "resolved"],
		]);
	});

	it("keeps unknown fields in raw", () => {
		const [alert] = parse({ ...minimal, ticket_url: "https://jira.example.com/OPS-1", custom: { deep: [1] } });
		expect(alert?.raw).toMatchObject({ ticket_url: "https://jira.example.com/OPS-1", custom: { deep: [1] } });
	});
});

describe("keepAlert rejects", () => {
	it.each([
		["a missing name", { status: "firing" }, ["name"]],
		["an empty name", { name: "", status: "firing" }, ["name"]],
		["a name with a NUL byte", { name: "a\u0000", status: "firing" }, ["name"]],
		["a missing status", { name: "n" }, ["status"]],
		["status maybe", { ...minimal, status: "maybe" }, ["status"]],
		["an OpsWatch severity Keep does not have", { ...minimal, severity: "major" }, ["severity"]],
		["a numeric severity", { ...minimal, severity: 4 }, ["severity"]],
		["labels as an array", { ...minimal, labels: ["a"] }, ["labels"]],
		["a nested label object", { ...minimal, labels: { a: { b: "c" } } }, ["labels", "a"]],
		["a nested label array", { ...minimal, labels: { a: ["b"] } }, ["labels", "a"]],
		["a label value with a NUL byte", { ...minimal, labels: { a: "x\u0000y" } }, ["labels", "a"]],
		["a label key with a NUL byte", { ...minimal, labels: { "a\u0000": "x" } }, ["labels", "a\u0000"]],
		["a label value over 8 KiB", { ...minimal, labels: { a: "x".repeat(MAX_LABEL_BYTES + 1) } }, ["labels", "a"]],
		["an environment over 8 KiB", { ...minimal, environment: "e".repeat(MAX_LABEL_BYTES + 1) }, ["environment"]],
		["source as a string", { ...minimal, source: "prometheus" }, ["source"]],
		["sources joined over 8 KiB", { ...minimal, source: ["s".repeat(5000), "t".repeat(5000)] }, ["source"]],
		["lastReceived with a space", { ...minimal, lastReceived: "2026-11-26 13:00" }, ["lastReceived"]],
		["lastReceived yesterday", { ...minimal, lastReceived: "yesterday" }, ["lastReceived"]],
		["lastReceived without an offset", { ...minimal, lastReceived: "2026-11-26T13:00:00" }, ["lastReceived"]],
		["an empty fingerprint", { ...minimal, fingerprint: "" }, ["fingerprint"]],
		["a non-boolean pushed", { ...minimal, pushed: "yes" }, ["pushed"]],
	])("%s", (_name, body, path) => {
		expect(issues(body).map((issue) => issue.path)).toEqual([path]);
	});

	it("a nested label with a message saying what labels may hold", () => {
		expect(issues({ ...minimal, labels: { a: { b: "c" } } })[0]?.message).toBe(
			"label values must be strings, numbers, booleans or null, not nested objects or arrays",
		);
	});

	it("a bad DTO inside an array, at its index", () => {
		const result = keepPayload.safeParse([minimal, { ...minimal, name: "" }]);
		expect(result.error?.issues.map((issue) => issue.path)).toEqual([[1, "name"]]);
	});

	it("a DTO with an unknown status, naming the field in the path", () => {
		const result = keepPayload.safeParse(asArray({ ...minimal, status: "maybe" }));
		expect(result.error?.issues[0]?.path).toEqual([0, "status"]);
	});
});
