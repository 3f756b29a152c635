import { randomInt, randomUUID } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { Clock } from "../platform/clock.ts";
import { type Db, retrySerializable } from "../platform/db/index.ts";
import type { Member, MemberApi, Tenant, TenantApi, TenantRef } from "../tenant/index.ts";
import type { NotificationAlert } from "./channels.ts";
import { routeFor } from "./contacts.ts";
import type { Escalation } from "./escalation-store.ts";
import * as escalations from "./escalation-store.ts";
import type { EscalationMetrics } from "./metrics.ts";
import type { NewNotification } from "./outbox-store.ts";
import * as outbox from "./outbox-store.ts";
import { type TargetResolver, tierSteps } from "./plan.ts";
import { actionAt, nextPosition } from "./step.ts";
import { claimTimer, deleteTimers, setTimers, type Timer } from "./timers.ts";
import type { PersonChannel, PlannedStep } from "./types.ts";
import type { PushSubscriptionJson } from "./webpush.ts";

/** What the engine needs of the alert domain: the alert as a page shows it, and its timeline. */
export interface AlertDesk {
	view(tenant: TenantRef, alertId: string): Promise<{ status: string; message: NotificationAlert } | undefined>;
	acknowledge(tenant: TenantRef, alertId: string, by: string, via: string): Promise<void>;
	recordTimeline(
		tenant: TenantRef,
		events: { alertId: string; type: "escalated" | "notified"; at: Date; details: Record<string, unknown> }[],
	): Promise<void>;
}

export interface EngineDeps {
	db: Db;
	clock: Clock;
	tenants: Pick<TenantApi, "findTenantById">;
	members: Pick<MemberApi, "findMany">;
	alerts: AlertDesk;
	resolverFor(tenant: TenantRef): TargetResolver;
	/** The person channels this deployment can deliver (the inbox always). */
	configured: ReadonlySet<PersonChannel>;
	metrics: EscalationMetrics;
	/** Each member's Web Push subscriptions. */
	pushSubscriptionsOf(tenant: Tenant, memberIds: string[]): Promise<Map<string, PushSubscriptionJson[]>>;
	/** Called after notifications were queued, so the outbox sends them at once. */
	queued(): void;
	onError(error: unknown, context: string): void;
}

/** SMS reply codes stay valid this long after the page. */
const ACK_CODE_TTL_MS = 24 * 3600_000;

export const notificationKey = (e: Pick<Escalation, "id">, step: { attempt: number; tier: number }, who: string) =>
	`${e.id}:${step.attempt}:${step.tier}:${who}`;

/**
 * Fires escalation tiers when they come due. Targets are resolved (roster lookups) outside any
 * transaction; then one short transaction claims the timer (SKIP LOCKED, and only if still due at the
 * instant read), moves the escalation on, and queues the notifications in the outbox. A worker that
 * dies before commit leaves everything as it was, for another worker to do.
 */
export function createEngine(deps: EngineDeps) {
	const { db, clock, alerts, metrics } = deps;
	const tenantCache = new LRUCache<string, Tenant>({ max: 10_000, ttl: 60_000 });

	async function tenantOf(id: string): Promise<Tenant | undefined> {
		const cached = tenantCache.get(id);
		if (cached) return cached;
		const tenant = await deps.tenants.findTenantById(id);
		if (tenant) tenantCache.set(id, tenant);
		return tenant;
	}

	/** The notifications of a tier's planned steps, routed to each member's contact methods. */
	async function notificationsFor(
		escalation: Escalation,
		steps: PlannedStep[],
		message: NotificationAlert,
		members: Map<string, Member>,
		push: Map<string, PushSubscriptionJson[]>,
	): Promise<{ rows: NewNotification[]; notes: Record<string, unknown>[] }> {
		const rows: NewNotification[] = [];
		const notes: Record<string, unknown>[] = [];
		for (const step of steps) {
			const base = { escalationId: escalation.id, alertId: escalation.alertId, message, ackCode: null };
			if (step.kind === "notify") {
				const member = members.get(step.memberId);
				if (!member) continue;
				const route = routeFor(member, step.channel, deps.configured, push.get(member.id));
				rows.push({
					...base,
					id: randomUUID(),
					scheduledAt: step.at,
					key: notificationKey(escalation, step, `${step.memberId}:${step.channel}`),
					memberId: step.memberId,
					attempt: step.attempt,
					tier: step.tier,
					channel: route.channel,
					destination: route.destination,
				});
				notes.push({
					kind: "notify",
					memberId: member.id,
					member: member.name,
					channel: step.channel,
					...(step.at.getTime() !== escalation.nextActionAt?.getTime() && { at: step.at.toISOString() }),
					...(route.reason && { deliveredTo: "inbox", reason: route.reason }),
				});
			} else if (step.kind === "post" || step.kind === "emergency") {
				const attempt = step.kind === "post" ? step.attempt : escalation.policy.repeat + 1;
				const tier = step.kind === "post" ? step.tier : 0;
				if (!deps.configured.has("slack_dm")) {
					notes.push({ kind: step.kind, channel: step.channel, skipped: "Slack is not configured on this OpsWatch" });
					continue;
				}
				rows.push({
					...base,
					id: randomUUID(),
					scheduledAt: step.at,
					key: notificationKey(escalation, { attempt, tier }, `slack:${step.channel}`),
					memberId: null,
					attempt,
					tier,
					channel: "slack_channel",
					destination: step.channel,
				});
				notes.push({ kind: step.kind, channel: step.channel });
			} else {
				notes.push({ kind: step.kind, ...("reason" in step && { reason: step.reason }) });
			}
		}
		return { rows, notes };
	}

	/** Gives each SMS a reply code no other tenant's valid SMS holds. */
	async function assignAckCodes(trx: Db, tenant: Tenant, rows: NewNotification[]): Promise<void> {
		let pending = rows.filter((row) => row.channel === "sms");
		const expiresAt = new Date(clock.now().getTime() + ACK_CODE_TTL_MS);
		for (let round = 0; pending.length > 0; round++) {
			if (round === 10) throw new Error("could not find free SMS reply codes");
			for (const row of pending) row.ackCode = String(randomInt(100_000, 1_000_000));
			const reserved = await outbox.reserveAckCodes(
				trx,
				pending.map((row) => ({ code: row.ackCode!, tenantId: tenant.id, notificationId: row.id, expiresAt })),
			);
			pending = pending.filter((row) => !reserved.has(row.ackCode!));
		}
	}

	/** Acts on one due escalation timer. */
	async function fire(timer: Timer): Promise<void> {
		const tenant = await tenantOf(timer.tenantId);
		const escalation = tenant && (await escalations.findEscalation(db, tenant.schema, timer.refId));
		if (!tenant || !escalation || escalation.status !== "active" || !escalation.nextActionAt) {
			// Nothing left to do for it (stopped, or its tenant deleted): the timer is stale.
			await deleteTimers(db, timer.tenantId, "escalation", [timer.refId]);
			return;
		}
		const view = await alerts.view(tenant, escalation.alertId);
		if (view?.status !== "firing") {
			// The alert was acknowledged or resolved but the stop did not arrive (a crash): stop now.
			await stop(tenant, escalation.alertId, view?.status === "resolved" ? "resolved" : "acknowledged");
			return;
		}
		const at = escalation.nextActionAt;
		const action = actionAt(escalation.policy, escalation);
		// Members are read once per tier: for their rules while planning, then for their contacts.
		const members = new Map<string, Member>();
		const membersOf = async (ids: string[]) => {
			const missing = [...new Set(ids)].filter((id) => !members.has(id));
			for (const member of missing.length > 0 ? await deps.members.findMany(tenant, missing) : []) {
				members.set(member.id, member);
			}
			return members;
		};
		const steps: PlannedStep[] =
			action.kind === "tier"
				? await tierSteps(
						escalation.policy.tiers[action.tier]?.targets ?? [],
						at,
						action.attempt,
						action.tier,
						deps.resolverFor(tenant),
						async (ids) => new Map([...(await membersOf(ids))].map(([id, m]) => [id, m.notificationRules])),
					)
				: [
						action.emergencyChannel
							? { kind: "emergency", at, channel: action.emergencyChannel }
							: { kind: "exhausted", at },
					];
		await membersOf(steps.flatMap((s) => (s.kind === "notify" ? [s.memberId] : [])));
		const pushed = steps.flatMap((s) => (s.kind === "notify" && s.channel === "push" ? [s.memberId] : []));
		const push =
			pushed.length > 0 && deps.configured.has("push")
				? await deps.pushSubscriptionsOf(tenant, [...new Set(pushed)])
				: new Map<string, PushSubscriptionJson[]>();
		const { rows, notes } = await notificationsFor(escalation, steps, view.message, members, push);
		const now = clock.now();

		const done = await retrySerializable(() =>
			db.transaction().execute(async (trx) => {
				if (!(await claimTimer(trx, timer))) return false;
				const next =
					action.kind === "tier"
						? nextPosition(escalation.policy, escalation, at)
						: ({ status: "exhausted", at: now } as const);
				if (!(await escalations.advanceEscalation(trx, tenant.schema, escalation.id, escalation, next))) return false;
				await assignAckCodes(trx, tenant, rows);
				const queued = await outbox.insertNotifications(trx, tenant.schema, rows, now);
				await setTimers(
					trx,
					queued
						.filter((n) => n.status === "pending")
						.map((n) => ({
							tenantId: tenant.id,
							kind: "notification",
							refId: n.id,
							dueAt: new Date(Math.max(n.scheduledAt.getTime(), now.getTime())),
						})),
				);
				if ("status" in next) await deleteTimers(trx, tenant.id, "escalation", [escalation.id]);
				else await setTimers(trx, [{ tenantId: tenant.id, kind: "escalation", refId: escalation.id, dueAt: next.at }]);
				return true;
			}),
		);
		if (!done) return;
		metrics.lateness("escalation", (now.getTime() - at.getTime()) / 1000);
		if (action.kind === "tier") metrics.tierFired(tenant, action.tier);
		deps.queued();
		await alerts
			.recordTimeline(tenant, [
				{
					alertId: escalation.alertId,
					type: "escalated",
					at: now,
					details:
						action.kind === "tier"
							? { policy: escalation.policy.name, pass: action.attempt + 1, tier: action.tier + 1, steps: notes }
							: { policy: escalation.policy.name, exhausted: true, steps: notes },
				},
			])
			.catch((error) => deps.onError(error, "escalation timeline"));
	}

	/** Stops an alert's escalation and cancels what it had not yet sent. */
	async function stop(tenant: TenantRef, alertId: string, reason: "acknowledged" | "resolved"): Promise<void> {
		const now = clock.now();
		const stopped = await db.transaction().execute(async (trx) => {
			const before = await escalations.stopEscalation(trx, tenant.schema, alertId, reason, now);
			if (!before) return undefined;
			const cancelled = await outbox.cancelPending(trx, tenant.schema, before.id);
			await deleteTimers(trx, tenant.id, "notification", cancelled);
			await deleteTimers(trx, tenant.id, "escalation", [before.id]);
			return before;
		});
		if (stopped && reason === "acknowledged") {
			// The tier reached is the last one fired: the one before the next to fire.
			const tiers = stopped.policy.tiers.length;
			const fired = stopped.attempt * tiers + stopped.tier;
			const reached = fired === 0 ? 0 : (fired - 1) % tiers;
			metrics.responded(tenant, reached, (now.getTime() - stopped.startedAt.getTime()) / 1000);
		}
	}

	return { fire, stop, tenantOf };
}

export type Engine = ReturnType<typeof createEngine>;
