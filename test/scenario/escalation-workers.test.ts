// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are read freely
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName, testDatabaseUrl, testRedisUrl } from "../harness/backend.ts";
import { createTestClock } from "../harness/clock.ts";
import { type FakeSlack, startFakeSlack } from "../harness/fake-slack.ts";

/**
 * Several workers on one deployment (PostgreSQL + Redis: one API+worker process and two more
 * workers) share the due tiers and pages: every tier fires once and every page goes out once, however
 * the claims interleave. The embedded default has one process, so there it checks the same of one.
 */

const SLACK_TOKEN = "xoxb-test-workers";
const TEAMS = 10;
const ALERTS = 200;
const replicated = Boolean(testDatabaseUrl && testRedisUrl);
const clock = createTestClock(new Date("2026-11-26T10:00:00Z"));
let slack: FakeSlack;
const apps: TestApp[] = [];
let tenant: TestTenant;

const call = (method: string, path: string, json?: unknown) =>
	apps[0]!.request(method, path, { key: tenant.adminKey, ...(json !== undefined && { json }) });
const settleAll = () => Promise.all(apps.map((app) => app.running.container.escalations.settled()));

beforeAll(async () => {
	slack = await startFakeSlack({ token: SLACK_TOKEN });
	const env = { OPSWATCH_SLACK_BOT_TOKEN: SLACK_TOKEN, OPSWATCH_SLACK_API_URL: slack.url };
	apps.push(await startTestApp({ clock, env }));
	if (replicated) {
		// A worker process refuses to start without the shared database's URL in its configuration.
		const workerEnv = { ...env, OPSWATCH_DATABASE_URL: apps[0]!.database.url! };
		for (let i = 0; i < 2; i++) {
			apps.push(await startTestApp({ clock, env: workerEnv, mode: "worker", replicaOf: apps[0] }));
		}
	}
	tenant = await apps[0]!.newTenant("workers");
	const routes = [];
	for (let team = 0; team < TEAMS; team++) {
		const memberIds: string[] = [];
		for (const role of ["first", "second"]) {
			const member = await call("POST", "/api/v1/members", {
				name: `${role} ${team}`,
				email: `${role}${team}@example.com`,
				timeZone: "UTC",
				contactMethods: [{ type: "slack", value: `U0${role.toUpperCase()}${team}` }],
			});
			memberIds.push(member.body.member.id);
		}
		const policy = await call("POST", "/api/v1/escalation-policies", {
			name: `team ${team}`,
			tiers: memberIds.map((memberId) => ({
				timeoutSeconds: 60,
				targets: [{ type: "member", memberId, channels: ["slack_dm"] }],
			})),
		});
		routes.push({ matchers: [{ label: "team", op: "=", value: String(team) }], policyId: policy.body.policy.id });
	}
	expect((await call("PUT", "/api/v1/escalation-routes", { routes, defaultPolicyId: null })).status).toBe(200);
});
afterAll(async () => {
	for (const app of apps.reverse()) await app.close();
	await slack?.close();
});

// Pages, not the follow-ups in their threads.
const pages = () => slack.messages.filter((m) => !m.threadTs);
const keys = () => pages().map((m) => String(m.metadata?.event_payload.key));

describe(`escalation workers sharing the work (${backendName}, ${replicated ? 3 : 1} worker processes)`, () => {
	it("fires every tier once and sends every page once", async () => {
		const alerts = Array.from({ length: ALERTS }, (_, i) => ({
			title: `Alert ${i}`,
			severity: "critical",
			labels: { team: String(i % TEAMS), n: String(i) },
		}));
		for (let i = 0; i < ALERTS; i += 100) {
			expect((await call("POST", "/api/v1/webhooks/generic", alerts.slice(i, i + 100))).status).toBe(200);
		}
		await expect.poll(() => pages().length, { timeout: 15_000 }).toBe(ALERTS);
		// Recorded as sent before the next tier, as a minute later they would be: the tier-2
		// follow-up goes to the threads of pages the outbox knows were delivered.
		await settleAll();
		clock.advance("60s");
		await expect.poll(() => pages().length, { timeout: 15_000 }).toBe(2 * ALERTS);
		clock.advance("60s");
		await settleAll();
		await new Promise((resolve) => setTimeout(resolve, 300));
		await settleAll();

		expect(pages()).toHaveLength(2 * ALERTS);
		expect(new Set(keys()).size).toBe(2 * ALERTS);
		// Each first page's thread heard once that its alert went to tier 2, whichever worker fired it.
		const escalatedReplies = slack.messages.filter((m) => m.threadTs && m.text?.startsWith(":arrow_up:"));
		expect(escalatedReplies).toHaveLength(ALERTS);
		expect(new Set(escalatedReplies.map((m) => `${m.channel}:${m.threadTs}`)).size).toBe(ALERTS);
		for (let team = 0; team < TEAMS; team++) {
			expect(slack.dmsTo(`U0FIRST${team}`).filter((m) => !m.threadTs)).toHaveLength(ALERTS / TEAMS);
			expect(slack.dmsTo(`U0SECOND${team}`).filter((m) => !m.threadTs)).toHaveLength(ALERTS / TEAMS);
		}
		const page = await call("GET", "/api/v1/alerts?limit=1");
		const escalation = await call("GET", `/api/v1/alerts/${page.body.alerts[0].id}/escalation`);
		expect(escalation.body.escalation.status).toBe("exhausted");
		expect(escalation.body.notifications.map((n: any) => [n.tier, n.status])).toEqual([
			[2, "sent"],
			[1, "sent"],
		]);
	});
});
