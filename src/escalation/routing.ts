import { matchesAll } from "../alert/index.ts";
import type { Clock } from "../platform/clock.ts";
import { type Db, retrySerializable } from "../platform/db/index.ts";
import { AppError } from "../platform/errors.ts";
import { lruCache } from "../platform/lru.ts";
import { type Actor, type TenantApi, type TenantRef, writeAudit } from "../tenant/index.ts";
import type { AlertDesk } from "./engine.ts";
import * as escalations from "./escalation-store.ts";
import type { EscalationRoutes } from "./escalations.ts";
import { findPolicy } from "./policy-store.ts";
import { snapshotOf } from "./step.ts";
import { setTimers } from "./timers.ts";
import type { Policy } from "./types.ts";

const RULES_TTL_MS = 2000;
/** How far back, and how soon after an alert, the auditor looks for lost starts. */
const SWEEP_WINDOW_MS = 24 * 3600_000;
const SWEEP_GRACE_MS = 10_000;

export interface RoutingDeps {
	db: Db;
	clock: Clock;
	tenants: Pick<TenantApi, "listTenants">;
	alerts: Pick<AlertDesk, "recordTimeline" | "firingPaging">;
	/** Something became due now: wake the engines. */
	wake(): void;
	onError(error: unknown, context: string): void;
}

/** Which policy pages for an alert (routes), starting escalations, and the auditor of lost starts. */
export function createRouting(deps: RoutingDeps) {
	const { db, clock, onError } = deps;
	const wakeAll = deps.wake;

	// An alert storm starts hundreds of escalations a second: routes and policies are read once per
	// tenant every couple of seconds, not once per alert. Route edits here take effect at once;
	// edits in another process within RULES_TTL_MS.
	const routeCache = lruCache<string, escalations.RouteRow[]>(10_000, { ttl: RULES_TTL_MS });
	const policyCache = lruCache<string, Policy | false>(10_000, { ttl: RULES_TTL_MS });

	async function policyFor(tenant: TenantRef, labels: Record<string, string>): Promise<Policy | undefined> {
		let routes = routeCache.get(tenant.id);
		if (!routes) {
			routes = await escalations.listRoutes(db, tenant.schema);
			routeCache.set(tenant.id, routes);
		}
		const policyId = (
			routes.find((route) => route.matchers.length > 0 && matchesAll(route.matchers, labels)) ??
			routes.find((route) => route.matchers.length === 0)
		)?.policyId;
		if (!policyId) return undefined;
		const key = `${tenant.id}|${policyId}`;
		let policy = policyCache.get(key);
		if (policy === undefined) {
			policy = (await findPolicy(db, tenant.schema, policyId)) ?? false;
			policyCache.set(key, policy);
		}
		return policy || undefined;
	}

	async function escalationRoutes(tenant: TenantRef): Promise<EscalationRoutes> {
		const rows = await escalations.listRoutes(db, tenant.schema);
		return {
			routes: rows.filter((r) => r.matchers.length > 0).map((r) => ({ matchers: r.matchers, policyId: r.policyId })),
			defaultPolicyId: rows.find((r) => r.matchers.length === 0)?.policyId ?? null,
		};
	}

	/** Starts escalations for a payload's paging alerts: routes them, then one transaction for all. */
	async function startEscalations(
		tenant: TenantRef,
		alerts: { id: string; labels: Record<string, string> }[],
		{ recordUnrouted }: { recordUnrouted: boolean },
	): Promise<number> {
		const routed: { alertId: string; policy: Policy }[] = [];
		const unrouted: string[] = [];
		for (const alert of alerts) {
			const policy = await policyFor(tenant, alert.labels);
			if (policy) routed.push({ alertId: alert.id, policy });
			else unrouted.push(alert.id);
		}
		const now = clock.now();
		if (unrouted.length > 0 && recordUnrouted) {
			await deps.alerts.recordTimeline(
				tenant,
				unrouted.map((alertId) => ({
					alertId,
					type: "escalated" as const,
					at: now,
					details: { started: false, reason: "no escalation policy routes this alert: nobody was paged" },
				})),
			);
		}
		if (routed.length === 0) return 0;
		const started = await retrySerializable(() =>
			db.transaction().execute(async (trx) => {
				const inserted = await escalations.insertEscalations(
					trx,
					tenant.schema,
					routed.map(({ alertId, policy }) => ({ alertId, policyId: policy.id, policy: snapshotOf(policy), at: now })),
				);
				await setTimers(
					trx,
					inserted.map((escalation) => ({
						tenantId: tenant.id,
						kind: "escalation" as const,
						refId: escalation.id,
						dueAt: now,
					})),
				);
				return inserted;
			}),
		);
		if (started.length > 0) wakeAll();
		return started.length;
	}

	/**
	 * The auditor: starts escalations that a crash or an overloaded database lost between an alert's
	 * commit and its escalation's start. Firing paging alerts of the last day without one are started
	 * now (late, and logged, rather than never).
	 */
	async function sweep(): Promise<void> {
		const now = clock.now();
		for (const tenant of await deps.tenants.listTenants()) {
			const firing = await deps.alerts.firingPaging(
				tenant,
				new Date(now.getTime() - SWEEP_WINDOW_MS),
				new Date(now.getTime() - SWEEP_GRACE_MS),
			);
			if (firing.length === 0) continue;
			const have = await escalations.alertsWithEscalation(
				db,
				tenant.schema,
				firing.map((a) => a.id),
			);
			const missing = firing.filter((a) => !have.has(a.id));
			if (missing.length === 0) continue;
			const started = await startEscalations(tenant, missing, { recordUnrouted: false });
			if (started > 0) {
				onError(new Error(`started ${started} escalations whose start had been lost`), `sweep of ${tenant.slug}`);
			}
		}
	}

	return {
		startEscalations,
		sweep,
		getRoutes: escalationRoutes,

		async setRoutes(tenant: TenantRef, input: EscalationRoutes, actor: Actor): Promise<EscalationRoutes> {
			const policyIds = [
				...input.routes.map((r) => r.policyId),
				...(input.defaultPolicyId ? [input.defaultPolicyId] : []),
			];
			for (const [i, id] of policyIds.entries()) {
				if (await findPolicy(db, tenant.schema, id)) continue;
				const path = i < input.routes.length ? `body.routes.${i}.policyId` : "body.defaultPolicyId";
				throw new AppError(
					"unprocessable",
					"escalation_route.unknown_policy",
					`No escalation policy ${id} in this tenant`,
					{
						fields: [{ path, message: "is not an escalation policy" }],
					},
				);
			}
			const before = await escalationRoutes(tenant);
			await db.transaction().execute(async (trx) => {
				await escalations.replaceRoutes(trx, tenant.schema, [
					...input.routes,
					...(input.defaultPolicyId ? [{ matchers: [], policyId: input.defaultPolicyId }] : []),
				]);
				await writeAudit(trx, tenant.schema, actor, {
					action: "escalation_routes.replace",
					targetType: "escalation_routes",
					before,
					after: input,
				});
			});
			routeCache.delete(tenant.id);
			return escalationRoutes(tenant);
		},
	};
}
