import type { PolicyInput } from "./types.ts";

/** What the default template needs to become a policy. */
export interface DefaultTemplateParameters {
	rosterId: string;
	leadMemberId: string;
	teamChannel: string;
	emergencyChannel: string;
}

/**
 * The spec's default (§4.2): tier 1 the on-call engineer by Slack DM and push; after 5 minutes,
 * tier 2 the backup (next on call) by Slack DM and phone; after 10 more, tier 3 the lead by phone
 * and the team's Slack channel; then the emergency channel.
 */
export function defaultPolicy(p: DefaultTemplateParameters): PolicyInput {
	return {
		name: "Default (on call → backup → lead)",
		description:
			"Tier 1 on call (Slack DM + push), tier 2 backup (Slack DM + phone), tier 3 lead (phone + team channel), then the emergency channel.",
		tiers: [
			{
				timeoutSeconds: 300,
				targets: [{ type: "roster_oncall", rosterId: p.rosterId, channels: ["slack_dm", "push"] }],
			},
			{
				timeoutSeconds: 600,
				targets: [{ type: "roster_next", rosterId: p.rosterId, channels: ["slack_dm", "phone"] }],
			},
			{
				timeoutSeconds: 900,
				targets: [
					{ type: "member", memberId: p.leadMemberId, channels: ["phone"] },
					{ type: "slack_channel", channel: p.teamChannel },
				],
			},
		],
		repeat: 0,
		emergencyChannel: p.emergencyChannel,
	};
}
