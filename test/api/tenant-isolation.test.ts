// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are read freely
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";

/**
 * Tenant isolation, swept over the whole API: tenant B owns one of everything (alert, member,
 * roster, policy, knowledge-base entry, runbook, rule, key); every GET route a tenant may call,
 * called with tenant A's key and each of B's ids, answers 400, 403 or 404 and never shows B's data.
 */

const MARK = "zz-tenant-b-only";
let app: TestApp;
let a: TestTenant;
let b: TestTenant;
const theirs: Record<string, string> = {};

beforeAll(async () => {
	app = await startTestApp();
	a = await app.newTenant("isola");
	b = await app.newTenant("isolb");
	const as = async (method: string, path: string, json: unknown, expected = 201) => {
		const response = await app.request(method, path, { key: b.adminKey, json });
		expect(response.status, `${path}: ${response.text}`).toBe(expected);
		return response.body;
	};
	const member = await as("POST", "/api/v1/members", {
		name: `${MARK} member`,
		email: "b@example.com",
		timeZone: "UTC",
	});
	theirs.member = member.member.id;
	const alert = await as(
		"POST",
		"/api/v1/webhooks/generic",
		{ title: `${MARK} alert`, severity: "critical", fingerprint: "fp-of-tenant-b" },
		200,
	);
	theirs.alert = alert.alerts[0].alertId;
	// A value, not data: an error may echo it back to whoever sent it.
	theirs.fingerprint = "fp-of-tenant-b";
	theirs.roster = (
		await as("POST", "/api/v1/rosters", {
			name: `${MARK} roster`,
			timeZone: "UTC",
			layers: [
				{
					name: "L",
					participants: [theirs.member],
					shiftLength: { unit: "days", count: 1 },
					handoffTime: "09:00",
					start: "2026-11-01T09:00:00Z",
				},
			],
		})
	).roster.id;
	theirs.policy = (
		await as("POST", "/api/v1/escalation-policies", {
			name: `${MARK} policy`,
			tiers: [{ timeoutSeconds: 60, targets: [{ type: "member", memberId: theirs.member, channels: ["inbox"] }] }],
		})
	).policy.id;
	theirs.incident = (
		await as("POST", "/api/v1/incidents", {
			title: `${MARK} incident`,
			symptoms: "",
			rootCause: "",
			solution: `${MARK} fix`,
			fingerprints: [],
			matchers: [],
			runbookIds: [],
			tags: [],
		})
	).incident.id;
	theirs.runbook = (
		await as("POST", "/api/v1/runbooks", { title: `${MARK} runbook`, body: "# steps", tags: [] })
	).runbook.id;
	theirs.rule = (
		await as("POST", "/api/v1/alert-rules", {
			name: `${MARK} rule`,
			position: 1,
			matchers: [{ label: "x", op: "=", value: "y" }],
			severity: "minor",
		})
	).rule.id;
	theirs.key = (await as("POST", "/api/v1/api-keys", { role: "readonly", description: `${MARK} key` })).apiKey.id;
});
afterAll(() => app?.close());

describe(`tenant isolation over every GET route (${backendName})`, () => {
	it("answers tenant A's key for each of tenant B's ids with 400, 403 or 404, never B's data", async () => {
		// The event stream stays open by design; its tenant scoping has its own test (alerts API).
		const routes = app.running.app.routeCatalog.filter(
			(r) => r.method === "GET" && typeof r.auth === "object" && r.url !== "/api/v1/events",
		);
		expect(routes.length).toBeGreaterThan(25);
		const values = Object.values(theirs);
		let calls = 0;
		for (const route of routes) {
			const params = route.url.match(/:[A-Za-z]+/g) ?? [];
			const urls =
				params.length === 0
					? [route.url]
					: values.map((value) => route.url.replace(/:[A-Za-z]+/g, encodeURIComponent(value)));
			for (const url of urls) {
				const response = await app.request("GET", url, { key: a.adminKey });
				calls++;
				if (params.length > 0) expect([400, 403, 404], `${url}: ${response.status}`).toContain(response.status);
				expect(response.text.includes(MARK), `${url} shows tenant B's data`).toBe(false);
				for (const id of values) {
					if (!url.includes(id)) expect(response.text.includes(id), `${url} shows tenant B's id ${id}`).toBe(false);
				}
			}
		}
		expect(calls).toBeGreaterThan(150);
		// And B sees its own (the sweep would pass vacuously if B's data were missing).
		expect((await app.request("GET", `/api/v1/alerts/${theirs.alert}`, { key: b.adminKey })).text).toContain(MARK);
	});
});
