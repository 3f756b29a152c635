import { randomInt, randomUUID } from "node:crypto";
import type { Clock } from "../platform/clock.ts";
import { type Db, retrySerializable } from "../platform/db/index.ts";
import { lruCache } from "../platform/lru.ts";
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
import { deleteTimers, setTimers, stillLeased, type Timer } from "./timers.ts";
import type { PersonChannel, PlannedStep } from "./types.ts";
import type { PushSubscriptionJson } from "./webpush.ts";

/** What the engine needs of the alert domain: the alert as a page shows it, and its timeline. */
export interface AlertDesk {
	/**
	 * Firing alerts of paging severity first seen in [since, until]: the sweep starts escalations for
	 * those that have none (their start was lost to a crash or an overloaded database).
	 */
	firingPaging(
		tenant: TenantRef,
		since: Date,
		until: Date,
	): Promise<{ id: string; fingerprint: string; severity: string; title: string; labels: Record<string, string> }[]>;
	/** Alerts as pages show them, by id, and who acknowledged or resolved them; a deleted alert is absent. */
	views(
		tenant: TenantRef,
		alertIds: string[],
	): Promise<Map<string, { status: string; message: NotificationAlert; by: string | null; notes: string | null }>>;
	acknowledge(tenant: TenantRef, alertId: string, by: string, via: string): Promise<void>;
	/** The pending "add to knowledge base?" prompt the alert's resolution raised, if any. */
	kbPromptOf(tenant: TenantRef, alertId: string): Promise<string | undefined>;
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
	/** Tells the operator's log what a tier did (who, how; never a phone number or Slack id). */
	notice(fields: Record<string, unknown>, message: string): void;
	/** Called after notifications were queued, so the outbox sends them at once. */
	queued(): void;
	/**
	 * Tiers past the first, repeats and exhaustion, after commit: whoever was paged before hears
	 * (in their page's Slack thread) that the alert went on.
	 */
	escalated?(tenant: TenantRef, moves: EscalationMove[]): void;
	onError(error: unknown, context: string): void;
}

/** Where an escalation went when a tier past its first fired, for the earlier pages' threads. */
export interface EscalationMove {
	alertId: string;
	/** When the tier fired: pages queued before it are the ones to tell. */
	at: Date;
	/** 1-based; undefined once exhausted. */
	tier?: number;
	pass?: number;
	/** Who and what was paged: member names and Slack channel ids. */
	members: string[];
	channels: string[];
}

/** SMS reply codes stay valid this long after the page. */
const ACK_CODE_TTL_MS = 24 * 3600_000;

export const notificationKey = (e: Pick<Escalation, "id">, step: { attempt: number; tier: number }, who: string) =>
	`${e.id}:${step.attempt}:${step.tier}:${who}`;

/**
 * Fires escalation tiers when they come due, a batch at a time. The worker leases the due timers
 * (so workers share the work instead of repeating it), reads and plans outside any transaction —
 * escalations, alerts and members in one query each, rosters from memory — then one short
 * transaction checks the leases still hold, moves the escalations on and queues their pages in the
 * outbox. A worker that dies before commit leaves everything as it was; the lease runs out and
 * another worker fires the tier.
 */
export function createEngine(deps: EngineDeps) {
	const { db, clock, alerts, metrics } = deps;
	const tenantCache = lruCache<string, Tenant>(10_000, { ttl: 60_000 });

	async function tenantOf(id: string): Promise<Tenant | undefined> {
		const cached = tenantCache.get(id);
		if (cached) return cached;
		const tenant = await deps.tenants.findTenantById(id);
		if (tenant) tenantCache.set(id, tenant);
		return tenant;
	}

	/** The notifications of a tier's planned steps, routed to each member's contact methods. */
	function notificationsFor(
		escalation: Escalation,
		steps: PlannedStep[],
		message: NotificationAlert,
		members: Map<string, Member>,
		push: Map<string, PushSubscriptionJson[]>,
	): { rows: NewNotification[]; notes: Record<string, unknown>[] } {
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

	/** Fires one tenant's share of a batch of due timers, leased by this worker until `leaseEnd`. */
	async function fireTenant(tenant: Tenant, timers: Timer[], leaseEnd: Date): Promise<void> {
		const ids = timers.map((timer) => timer.refId);
		const found = await escalations.findEscalations(db, tenant.schema, ids);
		const active = found.filter((e) => e.status === "active" && e.nextActionAt);
		// Nothing left to do for the rest (stopped meanwhile): their timers are stale.
		const activeIds = new Set(active.map((e) => e.id));
		await deleteTimers(
			db,
			tenant.id,
			"escalation",
			ids.filter((id) => !activeIds.has(id)),
		);
		if (active.length === 0) return;

		const views = await alerts.views(
			tenant,
			active.map((e) => e.alertId),
		);
		const firing: Escalation[] = [];
		for (const escalation of active) {
			const status = views.get(escalation.alertId)?.status;
			if (status === "firing") firing.push(escalation);
			// Acknowledged or resolved, but the stop did not arrive (a crash): stop now.
			else await stop(tenant, escalation.alertId, status === "resolved" ? "resolved" : "acknowledged");
		}

		// Members are read once per batch: for their rules while planning, then for their contacts.
		const members = new Map<string, Member>();
		const membersOf = async (memberIds: string[]) => {
			const missing = [...new Set(memberIds)].filter((id) => !members.has(id));
			for (const member of missing.length > 0 ? await deps.members.findMany(tenant, missing) : []) {
				members.set(member.id, member);
			}
			return members;
		};
		await membersOf(
			firing.flatMap((e) =>
				(actionAt(e.policy, e).kind === "tier" ? (e.policy.tiers[e.tier]?.targets ?? []) : []).flatMap((t) =>
					t.type === "member" ? [t.memberId] : [],
				),
			),
		);
		const resolve = deps.resolverFor(tenant);
		const rules = async (memberIds: string[]) => {
			const known = await membersOf(memberIds);
			const byMember = new Map<string, Member["notificationRules"]>();
			for (const id of memberIds) {
				const member = known.get(id);
				if (member) byMember.set(id, member.notificationRules);
			}
			return byMember;
		};
		const planned = await Promise.all(
			firing.map(async (escalation) => {
				const at = escalation.nextActionAt!;
				const action = actionAt(escalation.policy, escalation);
				const steps: PlannedStep[] =
					action.kind === "tier"
						? await tierSteps(
								escalation.policy.tiers[action.tier]?.targets ?? [],
								at,
								action.attempt,
								action.tier,
								resolve,
								rules,
							)
						: [
								action.emergencyChannel
									? { kind: "emergency", at, channel: action.emergencyChannel }
									: { kind: "exhausted", at },
							];
				return { escalation, at, action, steps };
			}),
		);
		await membersOf(planned.flatMap(({ steps }) => steps.flatMap((s) => (s.kind === "notify" ? [s.memberId] : []))));
		const pushed = planned.flatMap(({ steps }) =>
			steps.flatMap((s) => (s.kind === "notify" && s.channel === "push" ? [s.memberId] : [])),
		);
		const push =
			pushed.length > 0 && deps.configured.has("push")
				? await deps.pushSubscriptionsOf(tenant, [...new Set(pushed)])
				: new Map<string, PushSubscriptionJson[]>();
		const now = clock.now();
		const work = planned.map((p) => ({
			...p,
			...notificationsFor(p.escalation, p.steps, views.get(p.escalation.alertId)!.message, members, push),
			move: {
				id: p.escalation.id,
				from: { attempt: p.escalation.attempt, tier: p.escalation.tier },
				to:
					p.action.kind === "tier"
						? nextPosition(p.escalation.policy, p.escalation, p.at)
						: ({ status: "exhausted", at: now } as const),
			} satisfies escalations.Move,
		}));

		// Inbox pages due now are delivered by being written: the transaction says which it wrote.
		let deliveredByWriting: NewNotification[] = [];
		const fired = await retrySerializable(() =>
			db.transaction().execute(async (trx) => {
				const held = await stillLeased(
					trx,
					tenant.id,
					"escalation",
					work.map((w) => w.escalation.id),
					leaseEnd,
				);
				const moved = await escalations.advanceEscalations(
					trx,
					tenant.schema,
					work.filter((w) => held.has(w.escalation.id)).map((w) => w.move),
				);
				const done = work.filter((w) => moved.has(w.escalation.id));
				const rows = done.flatMap((w) => w.rows);
				await assignAckCodes(trx, tenant, rows);
				const queued = await outbox.insertNotifications(trx, tenant.schema, rows, now);
				const sentIds = new Set(queued.filter((n) => n.status === "sent").map((n) => n.id));
				deliveredByWriting = rows.filter((row) => sentIds.has(row.id));
				await setTimers(trx, [
					...queued
						.filter((n) => n.status === "pending")
						.map((n) => ({
							tenantId: tenant.id,
							kind: "notification" as const,
							refId: n.id,
							dueAt: new Date(Math.max(n.scheduledAt.getTime(), now.getTime())),
						})),
					...done.flatMap((w) =>
						"status" in w.move.to
							? []
							: [{ tenantId: tenant.id, kind: "escalation" as const, refId: w.escalation.id, dueAt: w.move.to.at }],
					),
				]);
				await deleteTimers(
					trx,
					tenant.id,
					"escalation",
					done.filter((w) => "status" in w.move.to).map((w) => w.escalation.id),
				);
				return done;
			}),
		);
		if (fired.length === 0) return;
		deps.queued();
		const moves = fired.filter((w) => w.action.kind !== "tier" || w.action.tier > 0 || w.action.attempt > 0);
		if (moves.length > 0 && deps.escalated) {
			deps.escalated(
				tenant,
				moves.map((w) => ({
					alertId: w.escalation.alertId,
					at: now,
					...(w.action.kind === "tier" && { tier: w.action.tier + 1, pass: w.action.attempt + 1 }),
					members: [...new Set(w.notes.flatMap((n) => (n.kind === "notify" ? [String(n.member)] : [])))],
					channels: w.notes.flatMap((n) =>
						(n.kind === "post" || n.kind === "emergency") && !n.skipped ? [String(n.channel)] : [],
					),
				})),
			);
		}
		for (const w of fired) {
			metrics.lateness("escalation", (now.getTime() - w.at.getTime()) / 1000);
			if (w.action.kind === "tier") metrics.tierFired(tenant, w.action.tier);
			deps.notice(
				{
					tenant: tenant.slug,
					alert_id: w.escalation.alertId,
					policy: w.escalation.policy.name,
					...(w.action.kind === "tier" ? { pass: w.action.attempt + 1, tier: w.action.tier + 1 } : { exhausted: true }),
					pages: w.notes,
				},
				w.action.kind === "tier" ? "escalation tier fired" : "escalation exhausted",
			);
		}
		for (const n of deliveredByWriting) metrics.notified(tenant, n.channel, "sent");
		await alerts
			.recordTimeline(tenant, [
				...fired.map((w) => ({
					alertId: w.escalation.alertId,
					type: "escalated" as const,
					at: now,
					details:
						w.action.kind === "tier"
							? {
									policy: w.escalation.policy.name,
									pass: w.action.attempt + 1,
									tier: w.action.tier + 1,
									steps: w.notes,
								}
							: { policy: w.escalation.policy.name, exhausted: true, steps: w.notes },
				})),
				...deliveredByWriting.map((n) => outbox.notifiedEntry(n, now)),
			])
			.catch((error) => deps.onError(error, "escalation timeline"));
	}

	/** Fires a batch of due timers this worker leased until `leaseEnd`, tenant by tenant. */
	async function fireBatch(timers: Timer[], leaseEnd: Date): Promise<void> {
		const byTenant = new Map<string, Timer[]>();
		for (const timer of timers) byTenant.set(timer.tenantId, [...(byTenant.get(timer.tenantId) ?? []), timer]);
		await Promise.all(
			[...byTenant].map(async ([tenantId, own]) => {
				const tenant = await tenantOf(tenantId);
				if (!tenant) {
					await deleteTimers(
						db,
						tenantId,
						"escalation",
						own.map((t) => t.refId),
					);
					return;
				}
				await fireTenant(tenant, own, leaseEnd).catch((error) => deps.onError(error, "escalation tier"));
			}),
		);
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

	return { fireBatch, stop, tenantOf };
}
