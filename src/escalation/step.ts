import type { Policy } from "./types.ts";

/** The part of a policy an escalation keeps: later edits of the policy do not reach it. */
export type PolicySnapshot = Pick<Policy, "id" | "name" | "version" | "tiers" | "repeat" | "emergencyChannel">;

export const snapshotOf = (policy: Policy): PolicySnapshot => ({
	id: policy.id,
	name: policy.name,
	version: policy.version,
	tiers: policy.tiers,
	repeat: policy.repeat,
	emergencyChannel: policy.emergencyChannel,
});

/** Where an escalation stands: tier `tier` of pass `attempt` is the next to fire. */
export interface Position {
	attempt: number;
	tier: number;
}

/** What the engine does at a position's instant. */
export type Action =
	| { kind: "tier"; attempt: number; tier: number }
	/** Every pass is exhausted: post to the emergency channel, if there is one, and finish. */
	| { kind: "final"; emergencyChannel: string | null };

/** Passes beyond the tiers' count mean the final step. */
export function actionAt(policy: PolicySnapshot, position: Position): Action {
	return position.attempt > policy.repeat
		? { kind: "final", emergencyChannel: policy.emergencyChannel }
		: { kind: "tier", attempt: position.attempt, tier: position.tier };
}

/** The position and instant after firing `position` at `at`: the tier's timeout later. */
export function nextPosition(policy: PolicySnapshot, position: Position, at: Date): Position & { at: Date } {
	const timeoutMs = (policy.tiers[position.tier]?.timeoutSeconds ?? 0) * 1000;
	const next = new Date(at.getTime() + timeoutMs);
	return position.tier + 1 < policy.tiers.length
		? { attempt: position.attempt, tier: position.tier + 1, at: next }
		: { attempt: position.attempt + 1, tier: 0, at: next };
}
