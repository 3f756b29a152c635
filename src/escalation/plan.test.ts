import { describe, expect, it } from "vitest";
import { planEscalation } from "./plan.ts";
import type { Tier } from "./types.ts";

const start = new Date("2026-11-26T03:00:00Z");
const summary = (steps: Awaited<ReturnType<typeof planEscalation>>) =>
	steps.map((s) => [
		s.at.toISOString().slice(11, 16),
		s.kind,
		"memberId" in s ? `${s.memberId}:${s.channel}` : "channel" in s ? s.channel : "",
	]);

describe("planEscalation", () => {
	it("notifies a person once per channel even when two targets name them", async () => {
		const tiers: Tier[] = [
			{
				timeoutSeconds: 300,
				targets: [
					{ type: "roster_oncall", rosterId: "r", channels: ["push", "sms"] },
					{ type: "member", memberId: "ann", channels: ["sms", "phone"] },
				],
			},
		];
		const steps = await planEscalation({ tiers, repeat: 0, emergencyChannel: null }, start, async () => "ann");
		expect(summary(steps)).toEqual([
			["03:00", "notify", "ann:push"],
			["03:00", "notify", "ann:sms"],
			["03:00", "notify", "ann:phone"],
			["03:05", "exhausted", ""],
		]);
	});

	it("resolves targets at each tier's start, repeats passes, and ends in the emergency channel", async () => {
		const tiers: Tier[] = [
			{ timeoutSeconds: 600, targets: [{ type: "roster_oncall", rosterId: "r", channels: ["phone"] }] },
			{ timeoutSeconds: 1200, targets: [{ type: "slack_channel", channel: "C0TEAM01" }] },
		];
		const asked: string[] = [];
		const steps = await planEscalation({ tiers, repeat: 1, emergencyChannel: "C0EMERG1" }, start, async (_t, at) => {
			asked.push(at.toISOString().slice(11, 16));
			return at.getTime() < new Date("2026-11-26T03:20:00Z").getTime() ? "ann" : undefined;
		});
		expect(asked).toEqual(["03:00", "03:30"]);
		expect(summary(steps)).toEqual([
			["03:00", "notify", "ann:phone"],
			["03:10", "post", "C0TEAM01"],
			["03:30", "skip", ""],
			["03:40", "post", "C0TEAM01"],
			["04:00", "emergency", "C0EMERG1"],
		]);
	});

	it("adds each person's own follow-ups on channels the tier did not use, at their delay", async () => {
		const tiers: Tier[] = [
			{ timeoutSeconds: 600, targets: [{ type: "member", memberId: "ann", channels: ["slack_dm", "sms"] }] },
		];
		const rules = new Map([
			[
				"ann",
				[
					{ channel: "sms" as const, afterMinutes: 1 },
					{ channel: "phone" as const, afterMinutes: 3 },
				],
			],
		]);
		const steps = await planEscalation(
			{ tiers, repeat: 0, emergencyChannel: null },
			start,
			async () => "ann",
			async (ids) => new Map(ids.map((id) => [id, rules.get(id) ?? []])),
		);
		expect(summary(steps)).toEqual([
			["03:00", "notify", "ann:slack_dm"],
			["03:00", "notify", "ann:sms"],
			["03:03", "notify", "ann:phone"],
			["03:10", "exhausted", ""],
		]);
		expect(steps[2]).toMatchObject({ via: "member_rule", tier: 0 });
	});
});
