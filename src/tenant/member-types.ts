import type { Role } from "./permissions.ts";

export const contactMethodTypes = ["slack", "phone", "sms", "email"] as const;
export type ContactMethodType = (typeof contactMethodTypes)[number];

/** How to reach someone; tried in order when paging. */
export interface ContactMethod {
	type: ContactMethodType;
	/** A Slack user id, an E.164 phone number, or an e-mail address. */
	value: string;
}

/** A channel the escalation engine can reach a person on, besides the in-app inbox. */
export const ruleChannels = ["slack_dm", "push", "sms", "phone"] as const;

/** "Page me on `channel` `afterMinutes` into a page, unless someone acknowledged" (push at 0, SMS at 1, a call at 3). */
export interface NotificationRule {
	channel: (typeof ruleChannels)[number];
	afterMinutes: number;
}

/** A person of the tenant who can be on call. */
export interface Member {
	id: string;
	name: string;
	email: string;
	/** IANA zone: shifts are shown to them in it. */
	timeZone: string;
	contactMethods: ContactMethod[];
	/** Follow-ups whenever an escalation pages this person. */
	notificationRules: NotificationRule[];
	/** What they may do when signed in (a token's role claim, when present, decides instead). */
	role: Role;
	version: number;
	createdAt: Date;
	updatedAt: Date;
}

export type MemberInput = Pick<Member, "name" | "email" | "timeZone" | "contactMethods" | "notificationRules" | "role">;
