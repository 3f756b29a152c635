import type { NotificationRule } from "../tenant/index.ts";
import type { PlannedStep, Policy, Target } from "./types.ts";

/** Resolves a person-target to the member it means at an instant (undefined: nobody). */
export type TargetResolver = (
	target: Exclude<Target, { type: "slack_channel" }>,
	at: Date,
) => Promise<string | undefined>;

/** The members' own notification rules (follow-ups while nobody acknowledges), by member id. */
export type RulesLookup = (memberIds: string[]) => Promise<Map<string, NotificationRule[]>>;

const noRules: RulesLookup = async () => new Map();

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
	rules: RulesLookup = noRules,
): Promise<PlannedStep[]> {
	const steps: PlannedStep[] = [];
	let at = start.getTime();
	for (let attempt = 0; attempt <= policy.repeat; attempt++) {
		for (const [tier, { targets, timeoutSeconds }] of policy.tiers.entries()) {
			steps.push(...(await tierSteps(targets, new Date(at), attempt, tier, resolve, rules)));
			at += timeoutSeconds * 1000;
		}
	}
	if (policy.emergencyChannel) steps.push({ kind: "emergency", at: new Date(at), channel: policy.emergencyChannel });
	else steps.push({ kind: "exhausted", at: new Date(at) });
	// Follow-ups of members' own rules can fall after later tiers: show everything in time order.
	return steps.sort((a, b) => a.at.getTime() - b.at.getTime());
}

/**
 * One tier's notifications at `at`; a person named by two targets is notified once per channel.
 * Each person's own notification rules add follow-ups (push now, SMS after 1 minute, a call after
 * 3…) on channels the tier did not already use for them; they go out unless someone acknowledges.
 */
export async function tierSteps(
	targets: Target[],
	at: Date,
	attempt: number,
	tier: number,
	resolve: TargetResolver,
	rules: RulesLookup = noRules,
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
	const people = [...new Set(steps.flatMap((s) => (s.kind === "notify" ? [s.memberId] : [])))];
	const ruleSets = people.length > 0 ? await rules(people) : new Map<string, NotificationRule[]>();
	for (const memberId of people) {
		for (const rule of ruleSets.get(memberId) ?? []) {
			const key = `${memberId}|${rule.channel}`;
			if (sent.has(key)) continue;
			sent.add(key);
			steps.push({
				kind: "notify",
				at: new Date(at.getTime() + rule.afterMinutes * 60_000),
				attempt,
				tier,
				memberId,
				channel: rule.channel,
				via: "member_rule",
			});
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
