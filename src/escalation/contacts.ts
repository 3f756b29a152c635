import type { ContactMethod, Member } from "../tenant/index.ts";
import type { NotificationChannel } from "./outbox-store.ts";
import type { PersonChannel } from "./types.ts";
import type { PushSubscriptionJson } from "./webpush.ts";

/** Where one notification goes; `reason` says why it went to the inbox instead of the planned channel. */
export interface Route {
	channel: NotificationChannel;
	destination: string | null;
	reason?: string;
}

/** Which of a member's contact methods serves a channel, in preference order. */
const contactTypes: Record<Exclude<PersonChannel, "inbox" | "push">, ContactMethod["type"][]> = {
	slack_dm: ["slack"],
	sms: ["sms", "phone"],
	phone: ["phone"],
};

const channelOfContact: Partial<Record<ContactMethod["type"], PersonChannel>> = {
	slack: "slack_dm",
	sms: "sms",
	phone: "phone",
};

/**
 * Resolves a planned channel to a destination: the member's contact method for it, when OpsWatch
 * can use that channel at all. Otherwise the in-app inbox, with the reason, so nothing is dropped.
 */
export function routeFor(
	member: Member,
	channel: PersonChannel,
	configured: ReadonlySet<PersonChannel>,
	pushSubscriptions: readonly PushSubscriptionJson[] = [],
): Route {
	if (channel === "inbox") return { channel: "inbox", destination: null };
	if (!configured.has(channel)) {
		return { channel: "inbox", destination: null, reason: `${channel} is not configured on this OpsWatch` };
	}
	if (channel === "push") {
		return pushSubscriptions.length > 0
			? { channel: "push", destination: JSON.stringify(pushSubscriptions) }
			: { channel: "inbox", destination: null, reason: "the member has no push subscription" };
	}
	const contact = contactTypes[channel]
		.map((type) => member.contactMethods.find((method) => method.type === type))
		.find(Boolean);
	if (!contact)
		return { channel: "inbox", destination: null, reason: `the member has no contact method for ${channel}` };
	return { channel, destination: contact.value };
}

/**
 * After a channel failed for good: the member's next contact method in their own order (one not
 * tried yet and usable here), else the inbox.
 */
export function fallbackFor(
	member: Member,
	failed: NotificationChannel,
	tried: ReadonlySet<NotificationChannel>,
	configured: ReadonlySet<PersonChannel>,
): Route {
	const order = member.contactMethods.flatMap((method) => channelOfContact[method.type] ?? []);
	const start = Math.max(0, order.indexOf(failed as PersonChannel) + 1);
	for (const channel of [...order.slice(start), ...order.slice(0, start)]) {
		if (tried.has(channel) || channel === failed || !configured.has(channel)) continue;
		const route = routeFor(member, channel, configured);
		if (route.channel === channel) return route;
	}
	return { channel: "inbox", destination: null, reason: `${failed} failed and no other contact method is left` };
}
