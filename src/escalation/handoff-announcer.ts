import { DateTime } from "luxon";
import type { HandoffNotifier, RecordedHandoff } from "../roster/index.ts";
import type { Member, MemberApi, TenantRef } from "../tenant/index.ts";

export interface HandoffAnnouncerDeps {
	members: Pick<MemberApi, "findMany">;
	/** Sends a Slack DM; absent when Slack is not configured (then the log is all there is). */
	slackSay?: (tenant: TenantRef, slackUserId: string, text: string) => Promise<void>;
	notice(fields: Record<string, unknown>, message: string): void;
	onError(error: unknown, context: string): void;
}

/** An instant as the member reads it: their own zone, named (abbreviations like CET vary by locale). */
const when = (at: Date, member: Member) =>
	`${DateTime.fromJSDate(at).setZone(member.timeZone).toFormat("ccc d LLL HH:mm")} (${member.timeZone})`;

/** What each person of a handoff is told. */
export function handoffTexts(
	handoff: RecordedHandoff,
	incoming: Member | undefined,
	outgoing: Member | undefined,
): { member: Member; text: string }[] {
	const texts: { member: Member; text: string }[] = [];
	if (incoming) {
		const until = handoff.shiftEnd ? ` until ${when(handoff.shiftEnd, incoming)}` : "";
		texts.push({
			member: incoming,
			text: `You are on call for ${handoff.rosterName} from ${when(handoff.at, incoming)}${until}.`,
		});
	}
	if (outgoing) {
		texts.push({
			member: outgoing,
			text: `Your on-call shift for ${handoff.rosterName} ended at ${when(handoff.at, outgoing)}; ${
				incoming ? `${incoming.name} took over` : "nobody is on call after you"
			}.`,
		});
	}
	return texts;
}

/**
 * Tells the people of a roster handoff — by Slack DM when Slack is configured and they have a Slack
 * contact — and logs it (names, never contact details). A notice, not a page: sent once, no outbox.
 */
export function createHandoffAnnouncer(deps: HandoffAnnouncerDeps): HandoffNotifier {
	return {
		async announce(tenant: TenantRef, handoff: RecordedHandoff) {
			const ids = [handoff.incomingMemberId, handoff.outgoingMemberId].filter((id): id is string => Boolean(id));
			const found = new Map((await deps.members.findMany(tenant, ids)).map((m) => [m.id, m]));
			const incoming = handoff.incomingMemberId ? found.get(handoff.incomingMemberId) : undefined;
			const outgoing = handoff.outgoingMemberId ? found.get(handoff.outgoingMemberId) : undefined;
			const told: string[] = [];
			for (const { member, text } of handoffTexts(handoff, incoming, outgoing)) {
				const slackId = member.contactMethods.find((c) => c.type === "slack")?.value;
				if (!deps.slackSay || !slackId) continue;
				try {
					await deps.slackSay(tenant, slackId, text);
					told.push(member.name);
				} catch (error) {
					deps.onError(error, "handoff notice");
				}
			}
			deps.notice(
				{
					tenant: tenant.slug,
					roster: handoff.rosterName,
					at: handoff.at.toISOString(),
					incoming: incoming?.name ?? null,
					outgoing: outgoing?.name ?? null,
					until: handoff.shiftEnd?.toISOString() ?? null,
					toldBySlack: told,
				},
				"on-call handoff",
			);
		},
	};
}
