import type { RosterApi } from "../roster/index.ts";
import type { TenantRef } from "../tenant/index.ts";
import type { TargetResolver } from "./plan.ts";

/** Who a target means at an instant: the member named, or whoever the roster has on call (or next). */
export const rosterResolver =
	(rosters: Pick<RosterApi, "getCurrentOnCall" | "getNextOnCall">, tenant: TenantRef): TargetResolver =>
	async (target, at) => {
		if (target.type === "member") return target.memberId;
		const found =
			target.type === "roster_oncall"
				? await rosters.getCurrentOnCall(tenant, target.rosterId, at)
				: await rosters.getNextOnCall(tenant, target.rosterId, at);
		return found?.memberId;
	};
