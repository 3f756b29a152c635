/** How a person is reached; `inbox` is OpsWatch's own (`GET /api/v1/me/notifications`), always available. */
export const personChannels = ["slack_dm", "push", "sms", "phone", "inbox"] as const;
export type PersonChannel = (typeof personChannels)[number];

/** Who a tier notifies. */
export type Target =
	| { type: "roster_oncall"; rosterId: string; channels: PersonChannel[] }
	/** The person on call after the current one: the backup. */
	| { type: "roster_next"; rosterId: string; channels: PersonChannel[] }
	| { type: "member"; memberId: string; channels: PersonChannel[] }
	/** A Slack channel id, posted to as a whole. */
	| { type: "slack_channel"; channel: string };

export interface Tier {
	targets: Target[];
	/** Seconds to wait for an acknowledgement before the next tier (the UI shows minutes). */
	timeoutSeconds: number;
}

export interface PolicyInput {
	name: string;
	description: string;
	tiers: Tier[];
	/** How many more times the tiers run after the first pass, when nobody acknowledges. */
	repeat: number;
	/** A Slack channel posted to when every pass is exhausted. */
	emergencyChannel: string | null;
}

export interface Policy extends PolicyInput {
	id: string;
	version: number;
	createdAt: Date;
	updatedAt: Date;
}

/** One thing an escalation does, as the dry run predicts and the engine performs. */
export type PlannedStep =
	| {
			kind: "notify";
			at: Date;
			/** 0-based pass over the tiers (repeats add passes) and tier within it. */
			attempt: number;
			tier: number;
			memberId: string;
			channel: PersonChannel;
			/** Why this person and channel: which target of the tier, or the person's own rule (a follow-up). */
			via: Target["type"] | "member_rule";
	  }
	| { kind: "post"; at: Date; attempt: number; tier: number; channel: string }
	| { kind: "skip"; at: Date; attempt: number; tier: number; reason: string }
	| { kind: "emergency"; at: Date; channel: string }
	| { kind: "exhausted"; at: Date };
