import type { Cache } from "../platform/cache/index.ts";
import type { Member, MemberApi, TenantRef } from "../tenant/index.ts";
import type { SlackWeb } from "./web.ts";

/** How long a Slack user's e-mail address is remembered: profiles change rarely, lookups are rate-limited. */
const EMAIL_TTL_MS = 10 * 60_000;

/**
 * Who a Slack user is in OpsWatch: the member who lists their Slack user id as a contact method,
 * else the member whose e-mail address their Slack profile shows (`users.info`, scope
 * users:read.email). Undefined for someone OpsWatch does not know; such a person can do nothing.
 */
export function createSlackPeople(deps: {
	members: Pick<MemberApi, "findByContact" | "findByEmail">;
	web: Pick<SlackWeb, "userEmail">;
	cache: Cache;
	onError(error: unknown, context: string): void;
}) {
	async function emailOf(token: string, teamId: string, userId: string): Promise<string | undefined> {
		const key = `slack:email:${teamId}:${userId}`;
		const known = await deps.cache.get(key);
		if (known !== undefined) return known || undefined;
		const email = await deps.web.userEmail(token, userId).catch((error) => {
			deps.onError(error, "slack users.info");
			return undefined;
		});
		// An empty entry remembers "no address" as well, so an unknown user is not looked up per click.
		await deps.cache.set(key, email ?? "", EMAIL_TTL_MS);
		return email;
	}

	return {
		async memberOf(
			tenant: TenantRef,
			user: { teamId: string; userId: string },
			token: string | undefined,
		): Promise<Member | undefined> {
			const linked = await deps.members.findByContact(tenant, { type: "slack", value: user.userId });
			if (linked || !token) return linked;
			const email = await emailOf(token, user.teamId, user.userId);
			return email ? deps.members.findByEmail(tenant, email) : undefined;
		},
	};
}

export type SlackPeople = ReturnType<typeof createSlackPeople>;
