// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are read freely
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";

let app: TestApp;
let tenant: TestTenant;
let other: TestTenant;
let manager: string;
let engineer: string;
const ids: Record<string, string> = {};

const call = (method: string, path: string, json?: unknown, key = manager) =>
	app.request(method, path, { key, ...(json !== undefined && { json }) });

beforeAll(async () => {
	app = await startTestApp();
	tenant = await app.newTenant("escalate");
	other = await app.newTenant("escalateother");
	manager = await tenant.keyFor("manager");
	engineer = await tenant.keyFor("engineer");
	for (const name of ["alice", "bob", "lead"]) {
		const created = await call("POST", "/api/v1/members", {
			name,
			email: `${name}@example.com`,
			timeZone: "Europe/Berlin",
		});
		ids[name] = created.body.member.id;
	}
	const roster = await call("POST", "/api/v1/rosters", {
		name: "Primary",
		timeZone: "Europe/Berlin",
		layers: [
			{
				name: "Weekly",
				participants: [ids.alice, ids.bob],
				shiftLength: { unit: "weeks", count: 1 },
				handoffTime: "09:00",
				start: "2026-11-02T09:00:00+01:00",
			},
		],
	});
	ids.roster = roster.body.roster.id;
	const later = await call("POST", "/api/v1/rosters", {
		name: "Starts next year",
		timeZone: "UTC",
		layers: [
			{
				name: "Daily",
				participants: [ids.alice],
				shiftLength: { unit: "days", count: 1 },
				handoffTime: "09:00",
				start: "2027-01-01T09:00:00Z",
			},
		],
	});
	ids.later = later.body.roster.id;
});
afterAll(() => app?.close());

const policyCount = async () => (await call("GET", "/api/v1/escalation-policies")).body.policies.length;
const steps = (body: any) =>
	body.steps.map((s: any) => [
		s.at.slice(11, 16),
		s.kind,
		s.tier ?? null,
		s.memberId ?? s.channel ?? null,
		s.kind === "notify" ? s.channel : null,
	]);

describe(`escalation policies (${backendName})`, () => {
	it("creates the spec's default from its template, and its dry run names who, how and when", async () => {
		const created = await call("POST", "/api/v1/escalation-policies/from-template", {
			template: "default",
			rosterId: ids.roster,
			leadMemberId: ids.lead,
			teamChannel: "C0TEAM01",
			emergencyChannel: "C0EMERG1",
		});
		expect(created.status, JSON.stringify(created.body)).toBe(201);
		const policy = created.body.policy;
		expect(policy.tiers.map((t: any) => t.timeoutSeconds)).toEqual([300, 600, 900]);

		// Tuesday 2026-11-03: Alice is on call, Bob is next.
		const dry = await call(
			"GET",
			`/api/v1/escalation-policies/${policy.id}/test?start=2026-11-03T12:00:00Z`,
			undefined,
			engineer,
		);
		expect(dry.status).toBe(200);
		expect(steps(dry.body)).toEqual([
			["12:00", "notify", 0, ids.alice, "slack_dm"],
			["12:00", "notify", 0, ids.alice, "push"],
			["12:05", "notify", 1, ids.bob, "slack_dm"],
			["12:05", "notify", 1, ids.bob, "phone"],
			["12:15", "notify", 2, ids.lead, "phone"],
			["12:15", "post", 2, "C0TEAM01", null],
			["12:30", "emergency", null, "C0EMERG1", null],
		]);
	});

	it("resolves each tier at its own time, repeats passes, and records a tier that reaches nobody", async () => {
		const created = await call("POST", "/api/v1/escalation-policies", {
			name: "Handoff-aware",
			tiers: [
				{ timeoutSeconds: 1800, targets: [{ type: "roster_oncall", rosterId: ids.roster, channels: ["sms"] }] },
				{ timeoutSeconds: 600, targets: [{ type: "roster_oncall", rosterId: ids.later, channels: ["phone"] }] },
			],
			repeat: 1,
		});
		expect(created.status, JSON.stringify(created.body)).toBe(201);
		// Starting 08:20 UTC on the Monday handoff day: Bob until 08:00 UTC... Alice takes over at 08:00 UTC (09:00 Berlin).
		const dry = await call(
			"GET",
			`/api/v1/escalation-policies/${created.body.policy.id}/test?start=2026-11-09T07:50:00Z`,
		);
		expect(steps(dry.body)).toEqual([
			["07:50", "notify", 0, ids.alice, "sms"],
			["08:20", "skip", 1, null, null],
			["08:30", "notify", 0, ids.bob, "sms"],
			["09:00", "skip", 1, null, null],
			["09:10", "exhausted", null, null, null],
		]);
		expect(dry.body.steps[1].reason).toMatch(/nobody/);
	});

	it("refuses bad policies with a 4xx naming the field, and writes nothing", async () => {
		const before = await policyCount();
		const tier = {
			timeoutSeconds: 300,
			targets: [{ type: "roster_oncall", rosterId: ids.roster, channels: ["push"] }],
		};
		const theirRoster = (await call("POST", "/api/v1/rosters", { name: "Theirs", timeZone: "UTC" }, other.adminKey))
			.body.roster.id;
		const cases: [object, number, string][] = [
			[{ name: "a", tiers: [] }, 400, "tiers"],
			[{ name: "b", tiers: [{ ...tier, timeoutSeconds: 0 }] }, 400, "timeoutSeconds"],
			[{ name: "c", tiers: [{ ...tier, timeoutSeconds: -5 }] }, 400, "timeoutSeconds"],
			[{ name: "d", tiers: [tier], repeat: 11 }, 400, "repeat"],
			[{ name: "e", tiers: [{ ...tier, targets: [] }] }, 400, "targets"],
			[
				{ name: "f", tiers: [{ ...tier, targets: [{ type: "member", memberId: ids.alice, channels: ["pager"] }] }] },
				400,
				"channels",
			],
			[
				{
					name: "g",
					tiers: [
						{
							...tier,
							targets: [
								{ type: "roster_oncall", rosterId: "00000000-0000-4000-8000-000000000000", channels: ["push"] },
							],
						},
					],
				},
				422,
				"rosterId",
			],
			[
				{
					name: "h",
					tiers: [{ ...tier, targets: [{ type: "roster_oncall", rosterId: theirRoster, channels: ["push"] }] }],
				},
				422,
				"rosterId",
			],
			[
				{
					name: "i",
					tiers: [
						{
							...tier,
							targets: [{ type: "member", memberId: "00000000-0000-4000-8000-000000000000", channels: ["sms"] }],
						},
					],
				},
				422,
				"memberId",
			],
			[{ name: "j", tiers: [tier], emergencyChannel: "#general" }, 400, "emergencyChannel"],
		];
		for (const [body, status, field] of cases) {
			const response = await call("POST", "/api/v1/escalation-policies", body);
			expect(response.status, JSON.stringify(body)).toBe(status);
			expect(JSON.stringify(response.body.error), JSON.stringify(body)).toContain(field);
		}
		expect(await policyCount()).toBe(before);
	});

	it("lets engineers read and dry-run but not change policies, keeps tenants apart, and refuses a stale version", async () => {
		const policy = (await call("GET", "/api/v1/escalation-policies")).body.policies[0];
		const { id, version, createdAt: _c, updatedAt: _u, ...input } = policy;
		expect((await call("POST", "/api/v1/escalation-policies", { ...input, name: "x" }, engineer)).status).toBe(403);
		expect((await call("GET", `/api/v1/escalation-policies/${id}`, undefined, other.adminKey)).status).toBe(404);
		expect((await call("GET", `/api/v1/escalation-policies/${id}/test`, undefined, other.adminKey)).status).toBe(404);
		const renamed = await call("PUT", `/api/v1/escalation-policies/${id}`, { ...input, name: "Renamed", version });
		expect(renamed.status).toBe(200);
		const stale = await call("PUT", `/api/v1/escalation-policies/${id}`, { ...input, name: "Stale", version });
		expect(stale.status).toBe(409);
		expect((await call("GET", `/api/v1/escalation-policies/${id}`)).body.policy.name).toBe("Renamed");
		const badStart = await call("GET", `/api/v1/escalation-policies/${id}/test?start=soon`);
		expect(badStart.status).toBe(400);
	});
});
