import { describe, expect, it } from "vitest";
import { actionAt, nextPosition, type PolicySnapshot } from "./step.ts";

const policy = (
	repeat: number,
	timeouts: number[],
	emergencyChannel: string | null = "C0EMERGENCY",
): PolicySnapshot => ({
	id: "p",
	name: "p",
	version: 1,
	repeat,
	emergencyChannel,
	tiers: timeouts.map((timeoutSeconds) => ({ timeoutSeconds, targets: [{ type: "slack_channel", channel: "C1" }] })),
});

const t0 = new Date("2026-11-26T10:00:00Z");

describe("escalation steps", () => {
	it.each([
		{ repeat: 0, timeouts: [300, 600], from: { attempt: 0, tier: 0 }, to: { attempt: 0, tier: 1 }, afterSeconds: 300 },
		{ repeat: 0, timeouts: [300, 600], from: { attempt: 0, tier: 1 }, to: { attempt: 1, tier: 0 }, afterSeconds: 600 },
		{ repeat: 2, timeouts: [60], from: { attempt: 1, tier: 0 }, to: { attempt: 2, tier: 0 }, afterSeconds: 60 },
		{ repeat: 1, timeouts: [2, 2, 2], from: { attempt: 1, tier: 2 }, to: { attempt: 2, tier: 0 }, afterSeconds: 2 },
	])(
		"after tier $from.tier of pass $from.attempt comes tier $to.tier of pass $to.attempt",
		({ repeat, timeouts, from, to, afterSeconds }) => {
			expect(nextPosition(policy(repeat, timeouts), from, t0)).toEqual({
				...to,
				at: new Date(t0.getTime() + afterSeconds * 1000),
			});
		},
	);

	it("fires tiers while passes remain, then the final step with the emergency channel", () => {
		const p = policy(1, [300]);
		expect(actionAt(p, { attempt: 0, tier: 0 })).toEqual({ kind: "tier", attempt: 0, tier: 0 });
		expect(actionAt(p, { attempt: 1, tier: 0 })).toEqual({ kind: "tier", attempt: 1, tier: 0 });
		expect(actionAt(p, { attempt: 2, tier: 0 })).toEqual({ kind: "final", emergencyChannel: "C0EMERGENCY" });
		expect(actionAt(policy(0, [300], null), { attempt: 1, tier: 0 })).toEqual({
			kind: "final",
			emergencyChannel: null,
		});
	});
});
