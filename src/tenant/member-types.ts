export const contactMethodTypes = ["slack", "phone", "sms", "email"] as const;
export type ContactMethodType = (typeof contactMethodTypes)[number];

/** How to reach someone; tried in order when paging. */
export interface ContactMethod {
	type: ContactMethodType;
	/** A Slack user id, an E.164 phone number, or an e-mail address. */
	value: string;
}

/** A person of the tenant who can be on call. */
export interface Member {
	id: string;
	name: string;
	email: string;
	/** IANA zone: shifts are shown to them in it. */
	timeZone: string;
	contactMethods: ContactMethod[];
	version: number;
	createdAt: Date;
	updatedAt: Date;
}

export type MemberInput = Pick<Member, "name" | "email" | "timeZone" | "contactMethods">;
