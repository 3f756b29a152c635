// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are read freely
import { createECDH, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import webpush from "web-push";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";
import { createBrowser } from "../harness/browser.ts";

/**
 * Every kind of change leaves an audit row: one step per mutating route a tenant may call, each
 * checked to add a row with its action. A route added without a step here fails this test, so a
 * new kind of change can't go unaudited unnoticed. (Webhook ingestion is data, not a change by a
 * person: alerts keep their own timeline.)
 */

let app: TestApp;
let t: TestTenant;
const ids: Record<string, string> = {};
const call = (method: string, path: string, json?: unknown) =>
	app.request(method, path, { key: t.adminKey, ...(json !== undefined && { json }) });
const browser = createBrowser();
const asMember = (method: string, path: string, json: unknown) =>
	browser.request(`${app.url}${path}`, {
		method,
		json,
		headers: { "x-csrf-token": browser.cookie(app.url, "opswatch_csrf") ?? "" },
	});
const ok = async (response: Promise<{ status: number; text?: string; body?: any }>) => {
	const r = await response;
	expect(r.status, (r as any).text).toBeLessThan(300);
	return ((r as any).body ?? JSON.parse((r as any).text || "null")) as any;
};
const layer = (member: string) => ({
	name: "Weekly",
	participants: [member],
	shiftLength: { unit: "weeks", count: 1 },
	handoffTime: "09:00",
	start: "2026-11-02T09:00:00Z",
});

/** One change: the route it goes through, the action it must audit, and how to make it. */
const steps: { route: string; action: string; run: () => Promise<unknown> }[] = [
	{
		route: "POST /api/v1/members",
		action: "member.create",
		run: async () => {
			ids.member = (
				await ok(call("POST", "/api/v1/members", { name: "Ann", email: "ann@example.com", timeZone: "UTC" }))
			).member.id;
			ids.other = (
				await ok(call("POST", "/api/v1/members", { name: "Bo", email: "bo@example.com", timeZone: "UTC" }))
			).member.id;
		},
	},
	{
		route: "PUT /api/v1/members/:id",
		action: "member.update",
		run: () =>
			ok(
				call("PUT", `/api/v1/members/${ids.other}`, {
					version: 1,
					name: "Bo B",
					email: "bo@example.com",
					timeZone: "UTC",
				}),
			),
	},
	{
		route: "PUT /api/v1/members/:id/password",
		action: "member.password_set",
		run: () => ok(call("PUT", `/api/v1/members/${ids.member}/password`, { password: "ann-password-0001" })),
	},
	{
		route: "PUT /api/v1/me/password",
		action: "member.password_change",
		run: async () => {
			await ok(
				browser.request(`${app.url}/api/v1/auth/local/login`, {
					json: { tenant: t.slug, email: "ann@example.com", password: "ann-password-0001" },
				}),
			);
			await ok(
				asMember("PUT", "/api/v1/me/password", {
					currentPassword: "ann-password-0001",
					newPassword: "ann-password-0002",
				}),
			);
		},
	},
	{
		route: "PATCH /api/v1/me/member",
		action: "member.update",
		run: () => ok(asMember("PATCH", "/api/v1/me/member", { timeZone: "Europe/Zurich" })),
	},
	{
		route: "POST /api/v1/members/:id/push-subscriptions",
		action: "push_subscription.add",
		run: async () => {
			const ecdh = createECDH("prime256v1");
			ecdh.generateKeys();
			ids.subscription = (
				await ok(
					call("POST", `/api/v1/members/${ids.member}/push-subscriptions`, {
						endpoint: "https://push.example/endpoint-1",
						expirationTime: null,
						keys: { p256dh: ecdh.getPublicKey().toString("base64url"), auth: randomBytes(16).toString("base64url") },
					}),
				)
			).subscription.id;
		},
	},
	{
		route: "DELETE /api/v1/members/:id/push-subscriptions/:subscriptionId",
		action: "push_subscription.remove",
		run: () => ok(call("DELETE", `/api/v1/members/${ids.member}/push-subscriptions/${ids.subscription}`)),
	},
	{
		route: "POST /api/v1/rosters",
		action: "roster.create",
		run: async () => {
			ids.roster = (
				await ok(call("POST", "/api/v1/rosters", { name: "Primary", timeZone: "UTC", layers: [layer(ids.member!)] }))
			).roster.id;
		},
	},
	{
		route: "PUT /api/v1/rosters/:id",
		action: "roster.update",
		run: () =>
			ok(
				call("PUT", `/api/v1/rosters/${ids.roster}`, {
					name: "Primary",
					timeZone: "UTC",
					layers: [layer(ids.member!)],
					version: 1,
				}),
			),
	},
	{
		route: "POST /api/v1/rosters/:id/overrides",
		action: "roster.override.create",
		run: async () => {
			ids.override = (
				await ok(
					call("POST", `/api/v1/rosters/${ids.roster}/overrides`, {
						memberId: ids.other,
						from: "2026-11-05T08:00:00Z",
						until: "2026-11-05T09:00:00Z",
					}),
				)
			).override.id;
		},
	},
	{
		route: "DELETE /api/v1/rosters/:id/overrides/:oid",
		action: "roster.override.delete",
		run: () => ok(call("DELETE", `/api/v1/rosters/${ids.roster}/overrides/${ids.override}`)),
	},
	{
		route: "POST /api/v1/rosters/:id/feed",
		action: "roster.feed.create",
		run: () => ok(call("POST", `/api/v1/rosters/${ids.roster}/feed`)),
	},
	{
		route: "POST /api/v1/rosters/:id/import",
		action: "roster.update",
		run: async () => {
			const ics = (
				await call("GET", `/api/v1/rosters/${ids.roster}/export.ics?from=2026-11-02T00:00:00Z&to=2026-11-30T00:00:00Z`)
			).text;
			ids.copy = (await ok(call("POST", "/api/v1/rosters", { name: "Copy", timeZone: "UTC" }))).roster.id;
			await ok(call("POST", `/api/v1/rosters/${ids.copy}/import`, { name: "Imported", ics }));
		},
	},
	{
		route: "DELETE /api/v1/rosters/:id",
		action: "roster.delete",
		run: () => ok(call("DELETE", `/api/v1/rosters/${ids.copy}`)),
	},
	{
		route: "POST /api/v1/escalation-policies",
		action: "escalation_policy.create",
		run: async () => {
			ids.policy = (
				await ok(
					call("POST", "/api/v1/escalation-policies", {
						name: "Ann",
						tiers: [{ timeoutSeconds: 60, targets: [{ type: "member", memberId: ids.member, channels: ["inbox"] }] }],
					}),
				)
			).policy.id;
		},
	},
	{
		route: "PUT /api/v1/escalation-policies/:id",
		action: "escalation_policy.update",
		run: () =>
			ok(
				call("PUT", `/api/v1/escalation-policies/${ids.policy}`, {
					name: "Ann first",
					version: 1,
					tiers: [{ timeoutSeconds: 60, targets: [{ type: "member", memberId: ids.member, channels: ["inbox"] }] }],
				}),
			),
	},
	{
		route: "POST /api/v1/escalation-policies/from-template",
		action: "escalation_policy.create",
		run: () =>
			ok(
				call("POST", "/api/v1/escalation-policies/from-template", {
					template: "default",
					rosterId: ids.roster,
					leadMemberId: ids.other,
					teamChannel: "C0TEAM01",
					emergencyChannel: "C0EMERG1",
				}),
			),
	},
	{
		route: "PUT /api/v1/escalation-routes",
		action: "escalation_routes.replace",
		run: () => ok(call("PUT", "/api/v1/escalation-routes", { routes: [], defaultPolicyId: ids.policy })),
	},
	{
		route: "POST /api/v1/alert-rules",
		action: "alert_rule.create",
		run: async () => {
			ids.rule = (
				await ok(
					call("POST", "/api/v1/alert-rules", {
						name: "db",
						position: 1,
						matchers: [{ label: "team", op: "=", value: "db" }],
						severity: "major",
					}),
				)
			).rule.id;
		},
	},
	{
		route: "PUT /api/v1/alert-rules/:id",
		action: "alert_rule.update",
		run: () =>
			ok(
				call("PUT", `/api/v1/alert-rules/${ids.rule}`, {
					name: "db",
					position: 1,
					matchers: [{ label: "team", op: "=", value: "db" }],
					severity: "critical",
					version: 1,
				}),
			),
	},
	{
		route: "DELETE /api/v1/alert-rules/:id",
		action: "alert_rule.delete",
		run: () => ok(call("DELETE", `/api/v1/alert-rules/${ids.rule}`)),
	},
	{
		route: "PATCH /api/v1/alerts/:id/acknowledge",
		action: "alert.acknowledge",
		run: async () => {
			ids.alert = (
				await ok(call("POST", "/api/v1/webhooks/generic", { title: "Disk full", severity: "warning" }))
			).alerts[0].alertId;
			await ok(call("PATCH", `/api/v1/alerts/${ids.alert}/acknowledge`, {}));
		},
	},
	{
		route: "PATCH /api/v1/alerts/:id/resolve",
		action: "alert.resolve",
		run: () => ok(call("PATCH", `/api/v1/alerts/${ids.alert}/resolve`, { notes: "rotated logs" })),
	},
	{
		route: "POST /api/v1/incidents/prompts/:id/dismiss",
		action: "kb_prompt.dismiss",
		run: async () => {
			const [prompt] = (await ok(call("GET", "/api/v1/incidents/prompts"))).prompts;
			await ok(call("POST", `/api/v1/incidents/prompts/${prompt.id}/dismiss`));
		},
	},
	{
		route: "POST /api/v1/incidents",
		action: "incident.create",
		run: async () => {
			const entry = (title: string) => ({
				title,
				symptoms: "",
				rootCause: "",
				solution: "fix it",
				fingerprints: [],
				matchers: [],
				runbookIds: [],
				tags: [],
			});
			ids.incident = (await ok(call("POST", "/api/v1/incidents", entry("Disk full")))).incident.id;
			ids.duplicate = (await ok(call("POST", "/api/v1/incidents", entry("Disk is full")))).incident.id;
		},
	},
	{
		route: "PUT /api/v1/incidents/:id",
		action: "incident.update",
		run: () => ok(call("PUT", `/api/v1/incidents/${ids.incident}`, { title: "Disk full on /var", version: 1 })),
	},
	{
		route: "POST /api/v1/incidents/:id/merge",
		action: "incident.merge",
		run: () => ok(call("POST", `/api/v1/incidents/${ids.duplicate}/merge`, { into: ids.incident })),
	},
	{
		route: "POST /api/v1/runbooks",
		action: "runbook.create",
		run: async () => {
			ids.runbook = (
				await ok(call("POST", "/api/v1/runbooks", { title: "Disk", body: "# df -h", tags: [] }))
			).runbook.id;
		},
	},
	{
		route: "PUT /api/v1/runbooks/:id",
		action: "runbook.update",
		run: () =>
			ok(call("PUT", `/api/v1/runbooks/${ids.runbook}`, { title: "Disk", body: "# du -sh", tags: [], version: 1 })),
	},
	{
		route: "DELETE /api/v1/runbooks/:id",
		action: "runbook.delete",
		run: () => ok(call("DELETE", `/api/v1/runbooks/${ids.runbook}`)),
	},
	{
		route: "POST /api/v1/api-keys",
		action: "apikey.create",
		run: async () => {
			ids.key = (await ok(call("POST", "/api/v1/api-keys", { role: "readonly" }))).apiKey.id;
		},
	},
	{
		route: "DELETE /api/v1/api-keys/:id",
		action: "apikey.revoke",
		run: () => ok(call("DELETE", `/api/v1/api-keys/${ids.key}`)),
	},
	{
		route: "POST /api/v1/integrations",
		action: "apikey.create",
		run: () => ok(call("POST", "/api/v1/integrations", { source: "alertmanager" })),
	},
	{
		route: "PUT /api/v1/slack/installation",
		action: "slack.install",
		run: () => ok(call("PUT", "/api/v1/slack/installation", { teamId: "T0AUDIT" })),
	},
	{
		route: "DELETE /api/v1/slack/installation",
		action: "slack.uninstall",
		run: () => ok(call("DELETE", "/api/v1/slack/installation")),
	},
	{
		route: "DELETE /api/v1/members/:id",
		action: "member.delete",
		run: async () => {
			const gone = (await ok(call("POST", "/api/v1/members", { name: "Cy", email: "cy@example.com", timeZone: "UTC" })))
				.member.id;
			await ok(call("DELETE", `/api/v1/members/${gone}`));
		},
	},
];

beforeAll(async () => {
	// Web Push configured, so push subscriptions can be added (and audited) at all.
	const vapid = webpush.generateVAPIDKeys();
	app = await startTestApp({
		env: {
			OPSWATCH_VAPID_PUBLIC_KEY: vapid.publicKey,
			OPSWATCH_VAPID_PRIVATE_KEY: vapid.privateKey,
			OPSWATCH_VAPID_SUBJECT: "mailto:oncall@example.com",
		},
	});
	t = await app.newTenant("auditall");
});
afterAll(() => app?.close());

describe(`every kind of change is audited (${backendName})`, () => {
	it("has a step for every mutating tenant route", () => {
		const mutating = app.running.app.routeCatalog
			.filter(
				(r) =>
					!["GET", "HEAD"].includes(r.method) && typeof r.auth === "object" && r.auth.permission !== "alerts.ingest",
			)
			.map((r) => `${r.method} ${r.url}`);
		expect(new Set(steps.map((s) => s.route))).toEqual(new Set(mutating));
	});

	it("adds an audit row with the step's action for each change", async () => {
		const count = async (action: string) =>
			(await call("GET", `/api/v1/admin/audit-log?action=${action}&limit=500`)).body.entries.length;
		for (const step of steps) {
			const before = await count(step.action);
			await step.run();
			expect(await count(step.action), `${step.route} → ${step.action}`).toBeGreaterThan(before);
		}
	});
});
