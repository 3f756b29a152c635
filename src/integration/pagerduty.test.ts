import { describe, expect, it } from "vitest";
import { MAX_LABEL_BYTES } from "../alert/index.ts";
import {
	fingerprintForDedupKey,
	fromPagerDuty,
	type PagerDutyEvent,
	pagerDutyErrorBody,
	pagerDutyEvent,
	pagerDutyResponse,
} from "./pagerduty.ts";

const options = { scope: "key-1", generateDedupKey: () => "generated-key" };

const map = (body: unknown, opts = options) => fromPagerDuty(pagerDutyEvent.parse(body), opts);

const issues = (body: unknown) => {
	const result = pagerDutyEvent.safeParse(body);
	expect(result.success).toBe(false);
	return result.error?.issues ?? [];
};

/** The example trigger from PagerDuty's Events API v2 documentation. */
const trigger = {
	routing_key: "samplekeyhere00000000000000000000",
	event_action: "trigger",
	dedup_key: "samplekeyhere",
	payload: {
		summary: "The server is on fire.",
		timestamp: "2026-11-26T13:20:17.000+00:00",
		source: "server1.example.com",
		severity: "critical",
		component: "mysql",
		group: "prod-datapipe",
		class: "deploy",
		custom_details: {
			"free space": "1%",
			"load avg": 0.75,
			degraded: true,
			ping: { time: "1500ms" },
			hosts: ["a", "b"],
			nothing: null,
		},
	},
	client: "Sample Monitoring Service",
	client_url: "https://monitoring.service.com",
	links: [{ href: "http://pagerduty.example.com", text: "An example link." }],
	images: [{ src: "https://chart.example.com/graph.png", href: "https://example.com/", alt: "An example image." }],
};

const minimalTrigger = {
	routing_key: "k",
	event_action: "trigger",
	payload: { summary: "Disk full", source: "db-1", severity: "error" },
};

const { routing_key: _secret, ...withoutKey } = trigger;

describe("fromPagerDuty", () => {
	it("maps every field of a full trigger", () => {
		expect(map(trigger)).toEqual({
			dedupKey: "samplekeyhere",
			alert: {
				source: "pagerduty",
				fingerprint: fingerprintForDedupKey("key-1", "samplekeyhere"),
				status: "firing",
				severity: "critical",
				title: "The server is on fire.",
				description: JSON.stringify(trigger.payload.custom_details, null, 2),
				labels: { source: "server1.example.com", component: "mysql", group: "prod-datapipe", class: "deploy" },
				annotations: { "free space": "1%", "load avg": "0.75", degraded: "true" },
				startsAt: "2026-11-26T13:20:17.000+00:00",
				generatorUrl: "https://monitoring.service.com",
				raw: withoutKey,
			},
		});
	});

	it("never copies the routing key (an OpsWatch API key) into the alert", () => {
		const { alert } = map(trigger);
		expect(JSON.stringify(alert)).not.toContain(trigger.routing_key);
		expect(alert.raw).not.toHaveProperty("routing_key");
	});

	it("maps a minimal trigger, generating and returning a dedup key", () => {
		const result = map(minimalTrigger);
		expect(result).toEqual({
			dedupKey: "generated-key",
			alert: {
				source: "pagerduty",
				fingerprint: fingerprintForDedupKey("key-1", "generated-key"),
				status: "firing",
				severity: "major",
				title: "Disk full",
				description: "",
				labels: { source: "db-1" },
				annotations: {},
				startsAt: undefined,
				generatorUrl: undefined,
				raw: { event_action: "trigger", payload: minimalTrigger.payload },
			},
		});
	});

	it("calls generateDedupKey only when the trigger has no dedup_key", () => {
		let calls = 0;
		const counting = { scope: "key-1", generateDedupKey: () => `gen-${++calls}` };
		expect(map(trigger, counting).dedupKey).toBe("samplekeyhere");
		expect(calls).toBe(0);
		expect(map(minimalTrigger, counting).dedupKey).toBe("gen-1");
		expect(map(minimalTrigger, counting).dedupKey).toBe("gen-2");
	});

	it.each([
		["critical", "critical"],
		["error", "major"],
		["warning", "warning"],
		["info", "info"],
	])("maps severity %s to %s", (severity, expected) => {
		const body = { ...minimalTrigger, payload: { ...minimalTrigger.payload, severity } };
		expect(map(body).alert.severity).toBe(expected);
	});

	it.each([
		["acknowledge", "acknowledged"],
		["resolve", "resolved"],
	])("maps %s to an %s change of the alert with that dedup key", (event_action, status) => {
		const body = { routing_key: "k", event_action, dedup_key: "srv01/HTTP" };
		expect(map(body)).toEqual({
			dedupKey: "srv01/HTTP",
			alert: {
				source: "pagerduty",
				fingerprint: fingerprintForDedupKey("key-1", "srv01/HTTP"),
				status,
				title: "srv01/HTTP",
				description: "",
				labels: {},
				annotations: {},
				generatorUrl: undefined,
				raw: { event_action, dedup_key: "srv01/HTTP" },
				changeOnly: true,
			},
		});
	});

	it("gives a trigger and its resolve the same fingerprint", () => {
		const fired = map(minimalTrigger);
		const resolved = map({ routing_key: "k", event_action: "resolve", dedup_key: fired.dedupKey });
		expect(resolved.alert.fingerprint).toBe(fired.alert.fingerprint);
	});

	it("ignores a payload sent with acknowledge or resolve, keeping it in raw", () => {
		const body = { routing_key: "k", event_action: "resolve", dedup_key: "d", payload: { summary: "x" } };
		const { alert } = map(body);
		expect(alert.title).toBe("d");
		expect(alert.raw).toMatchObject({ payload: { summary: "x" } });
	});

	it("puts only valid top-level scalar custom details in annotations", () => {
		const body = {
			...minimalTrigger,
			payload: {
				...minimalTrigger.payload,
				custom_details: {
					ok: "yes",
					n: 0,
					big: "x".repeat(MAX_LABEL_BYTES + 1),
					nul: "a\u0000b",
					"k\u0000": "v",
					nested: { a: 1 },
				},
			},
		};
		const { alert } = map(body);
		expect(alert.annotations).toEqual({ ok: "yes", n: "0" });
		expect(alert.raw).toMatchObject({ payload: { custom_details: { nested: { a: 1 } } } });
	});

	it("keeps unknown fields in raw, at the top and in the payload", () => {
		const body = { ...minimalTrigger, extra: 1, payload: { ...minimalTrigger.payload, region: "eu" } };
		expect(map(body).alert.raw).toMatchObject({ extra: 1, payload: { region: "eu" } });
	});
});

describe("fingerprintForDedupKey", () => {
	it("is pd: and 32 hex digits of sha256(scope + newline + dedup key)", () => {
		// printf 'key-1\nsamplekeyhere' | sha256sum → 27a1976c891fcc33736f34f9f6716056 9de0552b…
		expect(fingerprintForDedupKey("key-1", "samplekeyhere")).toBe("pd:27a1976c891fcc33736f34f9f6716056");
	});

	it("is the same for the same dedup key under one scope", () => {
		expect(fingerprintForDedupKey("key-1", "srv01/HTTP")).toBe(fingerprintForDedupKey("key-1", "srv01/HTTP"));
	});

	it("differs for the same dedup key under two scopes", () => {
		expect(fingerprintForDedupKey("key-1", "srv01/HTTP")).not.toBe(fingerprintForDedupKey("key-2", "srv01/HTTP"));
	});

	it("differs for two dedup keys under one scope", () => {
		expect(fingerprintForDedupKey("key-1", "a")).not.toBe(fingerprintForDedupKey("key-1", "b"));
	});

	it("scopes events: the same dedup_key from two API keys makes two alerts", () => {
		const one = map(trigger, { ...options, scope: "key-1" });
		const two = map(trigger, { ...options, scope: "key-2" });
		expect(one.dedupKey).toBe(two.dedupKey);
		expect(one.alert.fingerprint).not.toBe(two.alert.fingerprint);
	});

	it.each([
		["empty", ""],
		["containing a newline", "a\nb"],
	])("refuses a scope that is %s", (_name, scope) => {
		expect(() => fingerprintForDedupKey(scope, "d")).toThrow(/scope/);
	});
});

describe("pagerDutyEvent rejects", () => {
	const change = { routing_key: "k", event_action: "resolve", dedup_key: "d" };
	const withPayload = (payload: Record<string, unknown>) => ({
		...minimalTrigger,
		payload: { ...minimalTrigger.payload, ...payload },
	});
	const without = (key: string) => {
		const payload: Record<string, unknown> = { ...minimalTrigger.payload };
		delete payload[key];
		return { ...minimalTrigger, payload };
	};

	it.each([
		["an unknown event_action", { ...minimalTrigger, event_action: "escalate" }, ["event_action"]],
		["a missing event_action", { routing_key: "k", dedup_key: "d" }, ["event_action"]],
		["a trigger without payload", { routing_key: "k", event_action: "trigger" }, ["payload"]],
		["an acknowledge without dedup_key", { routing_key: "k", event_action: "acknowledge" }, ["dedup_key"]],
		["a resolve without dedup_key", { routing_key: "k", event_action: "resolve" }, ["dedup_key"]],
		["a resolve with an empty dedup_key", { ...change, dedup_key: "" }, ["dedup_key"]],
		["a missing routing_key", { event_action: "resolve", dedup_key: "d" }, ["routing_key"]],
		["an empty routing_key", { ...change, routing_key: "" }, ["routing_key"]],
		["a routing_key over 256 characters", { ...change, routing_key: "k".repeat(257) }, ["routing_key"]],
		["a dedup_key over 255 characters", { ...minimalTrigger, dedup_key: "d".repeat(256) }, ["dedup_key"]],
		["a missing summary", without("summary"), ["payload", "summary"]],
		["a summary over 1024 characters", withPayload({ summary: "s".repeat(1025) }), ["payload", "summary"]],
		["a summary with a NUL byte", withPayload({ summary: "a\u0000" }), ["payload", "summary"]],
		["a missing source", without("source"), ["payload", "source"]],
		["an empty source", withPayload({ source: "" }), ["payload", "source"]],
		["a source with a NUL byte", withPayload({ source: "a\u0000" }), ["payload", "source"]],
		["a component over 8 KiB", withPayload({ component: "c".repeat(MAX_LABEL_BYTES + 1) }), ["payload", "component"]],
		["a missing severity", without("severity"), ["payload", "severity"]],
		["an OpsWatch severity PagerDuty does not have", withPayload({ severity: "major" }), ["payload", "severity"]],
		["a timestamp with a space", withPayload({ timestamp: "2026-11-26 13:00" }), ["payload", "timestamp"]],
		["a timestamp of yesterday", withPayload({ timestamp: "yesterday" }), ["payload", "timestamp"]],
		["custom_details as an array", withPayload({ custom_details: ["a"] }), ["payload", "custom_details"]],
		["links as an object", { ...minimalTrigger, links: { href: "x" } }, ["links"]],
		["a link without href", { ...minimalTrigger, links: [{ text: "x" }] }, ["links", 0, "href"]],
	])("%s", (_name, body, path) => {
		expect(issues(body).map((issue) => issue.path)).toEqual([path]);
	});

	it.each([
		["an unknown event_action", { ...minimalTrigger, event_action: "escalate" }, /event_action/],
		["a trigger without payload", { routing_key: "k", event_action: "trigger" }, /payload is required/],
		["a resolve without dedup_key", { routing_key: "k", event_action: "resolve" }, /dedup_key is required/],
	])("%s with a message saying so", (_name, body, message) => {
		expect(issues(body)[0]?.message).toMatch(message);
	});

	it("a body that is not an object", () => {
		expect(pagerDutyEvent.safeParse("trigger").success).toBe(false);
		expect(pagerDutyEvent.safeParse([minimalTrigger]).success).toBe(false);
	});

	it("nothing wrong with the documented example", () => {
		const parsed: PagerDutyEvent = pagerDutyEvent.parse(trigger);
		expect(parsed).toEqual(trigger);
	});
});

describe("PagerDuty response bodies", () => {
	it("success, as PagerDuty's 202", () => {
		expect(pagerDutyResponse("srv01/HTTP")).toEqual({
			status: "success",
			message: "Event processed",
			dedup_key: "srv01/HTTP",
		});
	});

	it("invalid event, as PagerDuty's 400", () => {
		expect(pagerDutyErrorBody(["'event_action' is missing or blank"])).toEqual({
			status: "invalid event",
			message: "Event object is invalid",
			errors: ["'event_action' is missing or blank"],
		});
	});
});
