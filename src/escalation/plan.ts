import type { PlannedStep, Policy, Target } from "./types.ts";

/** Resolves a person-target to the member it means at an instant (undefined: nobody). */
export type TargetResolver = (
	target: Exclude<Target, { type: "slack_channel" }>,
	at: Date,
) => Promise<string | undefined>;

/**
 * What an escalation of `policy` started at `start` does if nobody acknowledges: every pass over the
 * tiers (1 + repeat), each tier at its start instant, its targets resolved at that instant; a tier
 * whose targets resolve to nobody is skipped, and recorded as skipped; after the last pass, the
 * emergency channel. The dry run shows this; the engine takes the same steps, one tier at a time.
 */
export async function planEscalation(
	policy: Pick<Policy, "tiers" | "repeat" | "emergencyChannel">,
	start: Date,
	resolve: TargetResolver,
): Promise<PlannedStep[]> {
	const steps: PlannedStep[] = [];
	let at = start.getTime();
	for (let attempt = 0; attempt <= policy.repeat; attempt++) {
		for (const [tier, { targets, timeoutSeconds }] of policy.tiers.entries()) {
			steps.push(...(await tierSteps(targets, new Date(at), attempt, tier, resolve)));
			at += timeoutSeconds * 1000;
		}
	}
	if (policy.emergencyChannel) steps.push({ kind: "emergency", at: new Date(at), channel: policy.emergencyChannel });
	else steps.push({ kind: "exhausted", at: new Date(at) });
	return steps;
}

/** One tier's notifications at `at`; a person named by two targets is notified once per channel. */
export async function tierSteps(
	targets: Target[],
	at: Date,
	attempt: number,
	tier: number,
	resolve: TargetResolver,
): Promise<PlannedStep[]> {
	const steps: PlannedStep[] = [];
	const sent = new Set<string>();
	for (const target of targets) {
		if (target.type === "slack_channel") {
			steps.push({ kind: "post", at, attempt, tier, channel: target.channel });
			continue;
		}
		const memberId = await resolve(target, at);
		if (!memberId) continue;
		for (const channel of target.channels) {
			const key = `${memberId}|${channel}`;
			if (sent.has(key)) continue;
			sent.add(key);
			steps.push({ kind: "notify", at, attempt, tier, memberId, channel, via: target.type });
		}
	}
	if (steps.length === 0)
		steps.push({
			kind: "skip",
			at,
			attempt,
			tier,
			reason: "nobody to notify: every target of the tier resolved to nobody",
		});
	return steps;
}
