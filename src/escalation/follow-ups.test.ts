import { describe, expect, it } from "vitest";
import type { SlackMessage } from "../slack/index.ts";
import type { TenantRef } from "../tenant/index.ts";
import { createFollowUps } from "./follow-ups.ts";
import type { PageThread } from "./outbox-store.ts";
import { createQuietLane } from "./quiet-lane.ts";

const tenant: TenantRef = { id: "t1", slug: "acme", schema: "tenant_acme" };
const at = (second: number) => new Date(Date.UTC(2026, 10, 27, 10, 0, second));

/** Follow-ups over fixed threads, a quiet() the test opens, and a recording reply. */
function setUp(threads: PageThread[], options: { failOn?: string } = {}) {
	const sent: [string, string][] = [];
	const errors: string[] = [];
	let open!: () => void;
	let quiet = new Promise<void>((resolve) => {
		open = resolve;
	});
	const lane = createQuietLane({ quiet: () => quiet, onError: (error) => errors.push((error as Error).message) });
	const followUps = createFollowUps({
		threadsOf: async (_tenant, alertIds) => threads.filter((t) => alertIds.includes(t.alertId)),
		async reply(providerRef: string, _tenant: TenantRef, message: SlackMessage) {
			// Later replies answer sooner: order must come from waiting, not from luck.
			await new Promise((resolve) => setTimeout(resolve, 20 - sent.length * 5));
			if (providerRef === options.failOn) throw new Error("Slack chat.postMessage failed: ratelimited");
			sent.push([providerRef, message.text]);
		},
		lane,
		onError: (error) => errors.push((error as Error).message),
	});
	return {
		followUps,
		lane,
		sent,
		errors,
		openQuiet() {
			open();
			quiet = Promise.resolve();
		},
	};
}

describe("escalation follow-ups", () => {
	it("waits until no tier or page is in hand, then tells only the threads of pages queued before the move", async () => {
		const { followUps, lane, sent, openQuiet } = setUp([
			{ alertId: "a1", providerRef: "D0ADA:1.0", createdAt: at(0) },
			// Tier 2's own page, queued with the move: it hears nothing about itself.
			{ alertId: "a1", providerRef: "D0BOB:2.0", createdAt: at(2) },
			{ alertId: "a2", providerRef: "D0CLEO:1.5", createdAt: at(0) },
		]);
		followUps.announce(tenant, [{ alertId: "a1", at: at(2), tier: 2, pass: 1, members: ["Bob"], channels: [] }]);
		await new Promise((resolve) => setTimeout(resolve, 30));
		expect(sent).toEqual([]);

		openQuiet();
		await lane.idle();
		expect(sent).toEqual([["D0ADA:1.0", ":arrow_up: Not acknowledged yet: escalated to *Bob* (tier 2)."]]);
	});

	it("keeps each thread's news in order, and goes on past a reply that fails", async () => {
		const { followUps, lane, sent, errors, openQuiet } = setUp(
			[
				{ alertId: "a1", providerRef: "D0ADA:1.0", createdAt: at(0) },
				{ alertId: "a1", providerRef: "D0BOB:2.0", createdAt: at(2) },
				{ alertId: "a2", providerRef: "D0CLEO:1.5", createdAt: at(0) },
			],
			{ failOn: "D0CLEO:1.5" },
		);
		openQuiet();
		followUps.announce(tenant, [
			{ alertId: "a2", at: at(2), tier: 2, pass: 1, members: ["Dan"], channels: [] },
			{ alertId: "a1", at: at(2), tier: 2, pass: 1, members: ["Bob"], channels: [] },
		]);
		followUps.announce(tenant, [{ alertId: "a1", at: at(4), members: [], channels: ["C0OPS"] }]);
		await lane.idle();

		const thread = (ref: string) => sent.filter(([r]) => r === ref).map(([, text]) => text);
		expect(thread("D0ADA:1.0")).toEqual([
			":arrow_up: Not acknowledged yet: escalated to *Bob* (tier 2).",
			":rotating_light: Nobody acknowledged: escalation exhausted, posted to <#C0OPS>.",
		]);
		expect(thread("D0BOB:2.0")).toEqual([
			":rotating_light: Nobody acknowledged: escalation exhausted, posted to <#C0OPS>.",
		]);
		expect(errors).toEqual(["Slack chat.postMessage failed: ratelimited"]);
	});

	it("sends nothing when Slack is not configured", async () => {
		let asked = false;
		const lane = createQuietLane({ quiet: async () => {}, onError: () => {} });
		const followUps = createFollowUps({
			threadsOf: async () => {
				asked = true;
				return [];
			},
			lane,
			onError: () => {},
		});
		followUps.announce(tenant, [{ alertId: "a1", at: at(2), tier: 2, pass: 1, members: ["Bob"], channels: [] }]);
		await lane.idle();
		expect(asked).toBe(false);
	});
});
