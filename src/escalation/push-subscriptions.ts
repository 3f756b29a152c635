import type { Clock } from "../platform/clock.ts";
import type { Db } from "../platform/db/index.ts";
import { AppError } from "../platform/errors.ts";
import { type Actor, type MemberApi, type TenantRef, writeAudit } from "../tenant/index.ts";
import type { PushSubscription } from "./push-store.ts";
import * as push from "./push-store.ts";
import type { PushSubscriptionJson } from "./webpush.ts";

/** Members' Web Push subscriptions: their browsers and installed web apps. */
export function createPushSubscriptions(deps: { db: Db; clock: Clock; members: Pick<MemberApi, "get"> }) {
	const { db, clock } = deps;
	return {
		async add(
			tenant: TenantRef,
			memberId: string,
			subscription: PushSubscriptionJson,
			actor: Actor,
		): Promise<PushSubscription> {
			await deps.members.get(tenant, memberId);
			return db.transaction().execute(async (trx) => {
				const added = await push.upsertSubscription(trx, tenant.schema, memberId, subscription, clock.now());
				await writeAudit(trx, tenant.schema, actor, {
					action: "push_subscription.add",
					targetType: "member",
					targetId: memberId,
					after: { subscriptionId: added.id, pushService: new URL(subscription.endpoint).host },
				});
				return added;
			});
		},

		async list(tenant: TenantRef, memberId: string): Promise<PushSubscription[]> {
			await deps.members.get(tenant, memberId);
			return push.listSubscriptions(db, tenant.schema, memberId);
		},

		async remove(tenant: TenantRef, memberId: string, id: string, actor: Actor): Promise<void> {
			await deps.members.get(tenant, memberId);
			await db.transaction().execute(async (trx) => {
				if (!(await push.deleteSubscription(trx, tenant.schema, memberId, id))) {
					throw new AppError(
						"not_found",
						"push_subscription.not_found",
						`Member ${memberId} has no push subscription ${id}`,
					);
				}
				await writeAudit(trx, tenant.schema, actor, {
					action: "push_subscription.remove",
					targetType: "member",
					targetId: memberId,
					before: { subscriptionId: id },
				});
			});
		},
	};
}
