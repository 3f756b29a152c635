import { describe, expect, it } from "vitest";
import { MAX_LABEL_BYTES, severities } from "../alert/index.ts";
import { fromGeneric, genericAlert, genericPayload } from "./generic.ts";
import { asArray } from "./one-or-many.ts";

/** As the route does it: a single object is wrapped, then the array is validated. */
const parse = (body: unknown) => fromGeneric(genericPayload.parse(asArray(body)));

/** The paths of every issue a rejected body produces (a single object's without the wrapping index). */
const issuePaths = (body: unknown) => {
	const result = genericPayload.safeParse(asArray(body));
	expect(result.success).toBe(false);
	const paths = (result.error?.issues ?? []).map((issue) => issue.path);
	return Array.isArray(body) ? paths : paths.map((path) => path.slice(1));
};

/** Issues of one alert object, checked against the item schema directly. */
const itemIssues = (body: unknown) => {
	const result = genericAlert.safeParse(body);
	expect(result.success).toBe(false);
	return result.error?.issues ?? [];
};

const full = {
	title: "Disk almost full on db-1",
	description: "/var/lib/postgresql is 93% full",
	severity: "major",
	status: "firing",
	labels: { host: "db-1", mount: "/var/lib/postgresql" },
	annotations: { runbook: "https://wiki.example.com/runbooks/disk" },
	fingerprint: "db-1:disk-full",
	source: "cron disk check",
	starts_at: "2026-11-26T13:20:17Z",
	ends_at: "2026-11-26T15:00:00.5+01:00",
	url: "https://grafana.example.com/d/disk?var-host=db-1",
};

describe("fromGeneric", () => {
	it("maps every field of a full alert", () => {
		expect(parse(full)).toEqual([
			{
				source: "generic",
				fingerprint: "db-1:disk-full",
				status: "firing",
				severity: "major",
				title: "Disk almost full on db-1",
				description: "/var/lib/postgresql is 93% full",
				labels: { host: "db-1", mount: "/var/lib/postgresql", source: "cron disk check" },
				annotations: { runbook: "https://wiki.example.com/runbooks/disk" },
				startsAt: "2026-11-26T13:20:17Z",
				endsAt: undefined,
				generatorUrl: "https://grafana.example.com/d/disk?var-host=db-1",
				raw: full,
			},
		]);
	});

	it("fills defaults for a minimal alert", () => {
		expect(parse({ title: "Something broke" })).toEqual([
			{
				source: "generic",
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
				raw: { title: "Something broke", status: "firing", labels: {}, annotations: {} },
			},
		]);
	});

	it("sets endsAt from ends_at when resolved", () => {
		const [alert] = parse({ ...full, status: "resolved" });
		expect(alert?.status).toBe("resolved");
		expect(alert?.endsAt).toBe("2026-11-26T15:00:00.5+01:00");
	});

	it.each(severities)("passes severity %s through", (severity) => {
		expect(parse({ title: "t", severity })[0]?.severity).toBe(severity);
	});

	it.each(["firing", "resolved"] as const)("passes status %s through", (status) => {
		expect(parse({ title: "t", status })[0]?.status).toBe(status);
	});

	it("maps an array of alerts in order", () => {
		const alerts = parse([{ title: "one" }, { title: "two", status: "resolved" }, { title: "three" }]);
		expect(alerts.map((alert) => [alert.title, alert.status])).toEqual([
			["one", "firing"],
			["two", "resolved"],
			["three", "firing"],
		]);
	});

	it("refuses an empty array: a request without an alert is a sender's mistake", () => {
		expect(genericPayload.safeParse([]).error?.issues[0]?.message).toBe("must hold at least one alert");
	});

	it("keeps a source label the sender set over the source field", () => {
		const [alert] = parse({ title: "t", source: "nagios", labels: { source: "checkmk" } });
		expect(alert?.labels).toEqual({ source: "checkmk" });
		expect(alert?.source).toBe("generic");
	});

	it("keeps unknown fields in raw", () => {
		const body = { title: "t", team: "storage", nested: { a: [1, 2] } };
		const [alert] = parse(body);
		expect(alert?.raw).toMatchObject({ team: "storage", nested: { a: [1, 2] } });
	});

	it("gives the same labels whatever the key order, in labels or in the JSON object", () => {
		const a = parse(
			JSON.parse('{"title":"t","source":"s","labels":{"a":"1","b":"2","c":"3"},"annotations":{"x":"1","y":"2"}}'),
		);
		const b = parse(
			JSON.parse('{"annotations":{"y":"2","x":"1"},"labels":{"c":"3","a":"1","b":"2"},"source":"s","title":"t"}'),
		);
		expect(a[0]?.labels).toEqual(b[0]?.labels);
		expect(a[0]?.annotations).toEqual(b[0]?.annotations);
		expect(a[0]?.labels).toEqual({ a: "1", b: "2", c: "3", source: "s" });
	});

	it("accepts ends_at equal to starts_at, and sub-second and offset timestamps", () => {
		expect(
			genericAlert.safeParse({
				title: "t",
				starts_at: "2026-11-26T13:20:17.79138166Z",
				ends_at: "2026-11-26T14:20:17.79138166+01:00",
			}).success,
		).toBe(true);
	});
});

describe("genericPayload rejects", () => {
	const tooLong = "x".repeat(MAX_LABEL_BYTES + 1);
	it.each([
		["a missing title", { description: "no title" }, ["title"]],
		["an empty title", { title: "" }, ["title"]],
		["a title over 1024 characters", { title: "x".repeat(1025) }, ["title"]],
		["a title with a NUL byte", { title: "a\u0000b" }, ["title"]],
		["a description over 64 KiB", { title: "t", description: "é".repeat(32 * 1024 + 1) }, ["description"]],
		["a non-string title", { title: 42 }, ["title"]],
		["labels as an array", { title: "t", labels: ["a", "b"] }, ["labels"]],
		["a numeric label value", { title: "t", labels: { a: 1 } }, ["labels", "a"]],
		["a label value with a NUL byte", { title: "t", labels: { a: "x\u0000" } }, ["labels", "a"]],
		["a label key with a NUL byte", { title: "t", labels: { "a\u0000": "x" } }, ["labels", "a\u0000"]],
		["a label value over 8 KiB", { title: "t", labels: { a: tooLong } }, ["labels", "a"]],
		["an annotation value over 8 KiB", { title: "t", annotations: { a: tooLong } }, ["annotations", "a"]],
		["status maybe", { title: "t", status: "maybe" }, ["status"]],
		["status acknowledged", { title: "t", status: "acknowledged" }, ["status"]],
		["an unknown severity", { title: "t", severity: "high" }, ["severity"]],
		["an empty fingerprint", { title: "t", fingerprint: "" }, ["fingerprint"]],
		["a fingerprint over 256 characters", { title: "t", fingerprint: "f".repeat(257) }, ["fingerprint"]],
		["a source over 200 characters", { title: "t", source: "s".repeat(201) }, ["source"]],
		["a url over 8192 characters", { title: "t", url: "u".repeat(8193) }, ["url"]],
		["starts_at without a T", { title: "t", starts_at: "2026-11-26 13:00" }, ["starts_at"]],
		["starts_at yesterday", { title: "t", starts_at: "yesterday" }, ["starts_at"]],
		["ends_at without an offset", { title: "t", ends_at: "2026-11-26T13:00:00" }, ["ends_at"]],
		["ends_at as a number", { title: "t", ends_at: 1795692017 }, ["ends_at"]],
	])("%s", (_name, body, path) => {
		expect(issuePaths(body)).toEqual([path]);
		expect(issuePaths([{ title: "fine" }, body])).toContainEqual([1, ...path]);
	});

	it("ends_at before starts_at, on ends_at with a clear message", () => {
		const issues = itemIssues({ title: "t", starts_at: "2026-11-26T13:00:00Z", ends_at: "2026-11-26T13:30:00+01:00" });
		expect(issues).toEqual([
			expect.objectContaining({ path: ["ends_at"], message: "ends_at must not be before starts_at" }),
		]);
	});

	it("only the format issue when starts_at is not a timestamp", () => {
		const issues = itemIssues({ title: "t", starts_at: "yesterday", ends_at: "2026-11-26T13:30:00Z" });
		expect(issues.map((issue) => issue.path)).toEqual([["starts_at"]]);
	});

	it.each([
		["a string", "alert"],
		["null", null],
		["a number", 3],
	])("a body that is %s", (_name, body) => {
		expect(genericPayload.safeParse(body).success).toBe(false);
	});
});

describe("error paths", () => {
	it("name the item index and field in an array", () => {
		const result = genericPayload.safeParse([{ title: "ok" }, { title: "t", status: "maybe", labels: [] }]);
		expect(result.error?.issues.map((issue) => issue.path)).toEqual([
			[1, "status"],
			[1, "labels"],
		]);
	});
});
