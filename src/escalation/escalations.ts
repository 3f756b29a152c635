import { LRUCache } from "lru-cache";
import type { EscalationStarter, LabelMatcher } from "../alert/index.ts";
import { matchesAll } from "../alert/index.ts";
import type { EventBus } from "../platform/bus/index.ts";
import type { Clock } from "../platform/clock.ts";
import { type Db, retrySerializable } from "../platform/db/index.ts";
import { AppError } from "../platform/errors.ts";
import { createLoop, type Loop } from "../platform/loop.ts";
import { inSpan } from "../platform/tracing.ts";
import type { MemberApi, TenantApi, TenantRef } from "../tenant/index.ts";
import { type Actor, writeAudit } from "../tenant/index.ts";
import type { Channel } from "./channels.ts";
import { type AlertDesk, createEngine } from "./engine.ts";
import type { Escalation } from "./escalation-store.ts";
import * as escalations from "./escalation-store.ts";
import type { EscalationMetrics } from "./metrics.ts";
import { createOutbox } from "./outbox.ts";
import type { Notification, NotificationChannel } from "./outbox-store.ts";
import * as outbox from "./outbox-store.ts";
import type { TargetResolver } from "./plan.ts";
import { findPolicy } from "./policy-store.ts";
import type { PushSubscription } from "./push-store.ts";
import * as push from "./push-store.ts";
import { snapshotOf } from "./step.ts";
import { leaseDue, nextDue, setTimers } from "./timers.ts";
import type { PersonChannel, Policy } from "./types.ts";
import type { PushSubscriptionJson } from "./webpush.ts";

/** The bus topic that wakes every worker's engine: something became due now. */
export const WAKE_TOPIC = "escalation.wake";

export interface EscalationRoutes {
	routes: { matchers: LabelMatcher[]; policyId: string }[];
	defaultPolicyId: string | null;
}

/** The engine as the rest of OpsWatch sees it. */
export interface EscalationApi extends EscalationStarter {
	getRoutes(tenant: TenantRef): Promise<EscalationRoutes>;
	setRoutes(tenant: TenantRef, routes: EscalationRoutes, actor: Actor): Promise<EscalationRoutes>;
	/** An alert's escalation, with what it sent. */
	ofAlert(tenant: TenantRef, alertId: string): Promise<{ escalation: Escalation; notifications: Notification[] }>;
	/** A member's notifications, newest first (the in-app inbox is those with channel `inbox`). */
	notificationsOf(
		tenant: TenantRef,
		memberId: string,
		filter: { channel?: NotificationChannel; limit: number },
	): Promise<Notification[]>;
	/** Registers a browser (or installed web app) of a member for Web Push. */
	addPushSubscription(
		tenant: TenantRef,
		memberId: string,
		subscription: PushSubscriptionJson,
		actor: Actor,
	): Promise<PushSubscription>;
	listPushSubscriptions(tenant: TenantRef, memberId: string): Promise<PushSubscription[]>;
	removePushSubscription(tenant: TenantRef, memberId: string, id: string, actor: Actor): Promise<void>;
	/** A keypress on a page's phone call. Returns what to say back. */
	keypress(
		tenantId: string,
		notificationId: string,
		digits: string,
	): Promise<{ acknowledged: boolean; message: string }>;
	/** An SMS reply (`ACK <code>`) from a phone number. Returns what to answer. */
	smsReply(from: string, code: string): Promise<{ acknowledged: boolean; message: string }>;
	/** The worker's part: the tier loop and the delivery loop. */
	startWorker(): Promise<void>;
	stopWorker(): Promise<void>;
	/** Runs the auditor now (it also runs in every worker every 30 s): starts escalations whose start was lost. */
	audit(): Promise<void>;
	/** Resolves when both loops are idle (tests, after moving the clock). */
	settled(): Promise<void>;
}

export interface EscalationServiceDeps {
	db: Db;
	clock: Clock;
	bus: EventBus;
	tenants: Pick<TenantApi, "findTenantById" | "listTenants">;
	members: Pick<MemberApi, "findMany" | "get">;
	alerts: AlertDesk;
	resolverFor(tenant: TenantRef): TargetResolver;
	channels: Partial<Record<Exclude<NotificationChannel, "inbox">, Channel>>;
	/** The list of open alerts in OpsWatch, as an absolute URL (where a bundle of pages points). */
	alertsUrl: string;
	metrics: EscalationMetrics;
	onError(error: unknown, context: string): void;
	/** The operator's log, for what the engine did. */
	notice(fields: Record<string, unknown>, message: string): void;
	/** Longest sleep between cycles when no wake-up arrives: a safety net, not the schedule. */
	maxSleepMs?: number;
}

/** Due tiers one worker takes at a time. */
const BATCH = 200;
/**
 * How long a worker holds the tiers it took. A batch takes far less; a dead worker's batch fires
 * when the lease runs out.
 */
const ESCALATION_LEASE_MS = 5000;
const RULES_TTL_MS = 2000;
/** How often, how far back, and how soon after an alert the auditor looks for lost starts. */
const SWEEP_EVERY_MS = 30_000;
const SWEEP_WINDOW_MS = 24 * 3600_000;
const SWEEP_GRACE_MS = 10_000;

/** The person channels a set of senders makes usable; the inbox always is. */
export function configuredChannels(channels: EscalationServiceDeps["channels"]): Set<PersonChannel> {
	const configured = new Set<PersonChannel>(["inbox"]);
	if (channels.slack_dm) configured.add("slack_dm");
	if (channels.sms) configured.add("sms");
	if (channels.phone) configured.add("phone");
	if (channels.push) configured.add("push");
	return configured;
}

export function createEscalationService(deps: EscalationServiceDeps): EscalationApi {
	const { db, clock, bus, onError } = deps;
	const configured = configuredChannels(deps.channels);
	let outboxLoop: Loop | undefined;
	let engineLoop: Loop | undefined;
	let unsubscribe: (() => Promise<void>) | undefined;
	let stopped = true;
	let retry: NodeJS.Timeout | undefined;
	let sweeper: NodeJS.Timeout | undefined;

	// Timeline entries are a record, not the page: the loops hand them off and go on with the next
	// batch instead of waiting for them (settled() waits, for tests).
	const timelineWrites = new Set<Promise<void>>();
	const desk: AlertDesk = {
		views: (tenant, ids) => deps.alerts.views(tenant, ids),
		firingPaging: (tenant, since, until) => deps.alerts.firingPaging(tenant, since, until),
		acknowledge: (tenant, id, by, via) => deps.alerts.acknowledge(tenant, id, by, via),
		async recordTimeline(tenant, events) {
			const write = deps.alerts
				.recordTimeline(tenant, events)
				.catch((error) => onError(error, "escalation timeline"))
				.finally(() => timelineWrites.delete(write));
			timelineWrites.add(write);
		},
	};

	const engine = createEngine({
		pushSubscriptionsOf: (tenant, memberIds) => push.subscriptionsOf(db, tenant.schema, memberIds),
		db,
		clock,
		tenants: deps.tenants,
		members: deps.members,
		alerts: desk,
		resolverFor: deps.resolverFor,
		configured,
		metrics: deps.metrics,
		queued: () => outboxLoop?.wake(),
		notice: deps.notice,
		onError,
	});
	const delivery = createOutbox({
		notice: deps.notice,
		pruneEndpoints: (tenant, endpoints) => push.deleteEndpoints(db, tenant.schema, endpoints),
		alertsUrl: deps.alertsUrl,
		db,
		clock,
		tenantOf: engine.tenantOf,
		members: deps.members,
		alerts: desk,
		channels: deps.channels,
		configured,
		metrics: deps.metrics,
		onError,
	});

	/** Wakes this process's loops at once and every other worker's through the bus. */
	function wakeAll(): void {
		engineLoop?.wake();
		bus.publish(WAKE_TOPIC, {}).catch((error) => onError(error, "escalation wake-up"));
	}

	// An alert storm starts hundreds of escalations a second: routes and policies are read once per
	// tenant every couple of seconds, not once per alert. Route edits here take effect at once;
	// edits in another process within RULES_TTL_MS.
	const routeCache = new LRUCache<string, escalations.RouteRow[]>({ max: 10_000, ttl: RULES_TTL_MS });
	const policyCache = new LRUCache<string, Policy | false>({ max: 10_000, ttl: RULES_TTL_MS });

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

	/** Acknowledges the alert a notification paged for, as the member it paged. */
	async function acknowledgeFor(
		tenantId: string,
		notificationId: string,
		via: "phone" | "sms",
	): Promise<{ acknowledged: boolean; message: string }> {
		const tenant = await engine.tenantOf(tenantId);
		// A bundle (several held pages sent as one) is answered as one: every alert in it.
		const bundle = tenant ? await outbox.findBundle(db, tenant.schema, notificationId) : [];
		const notification = bundle.find((n) => n.id === notificationId);
		if (!tenant || !notification) return { acknowledged: false, message: "This page is not known to OpsWatch." };
		const by = notification.memberId ? `member:${notification.memberId}` : `notification:${notification.id}`;
		const acknowledged: string[] = [];
		for (const page of bundle) {
			try {
				await deps.alerts.acknowledge(tenant, page.alertId, by, via);
				acknowledged.push(page.message.title);
			} catch (error) {
				// Resolved meanwhile: nothing to acknowledge, and the others still are.
				if (!(error instanceof AppError && error.kind === "conflict")) throw error;
			}
		}
		if (acknowledged.length === 0) {
			return { acknowledged: false, message: `The alert is already resolved: ${notification.message.title}.` };
		}
		const what = acknowledged.length === 1 ? acknowledged[0] : `${acknowledged.length} alerts`;
		return { acknowledged: true, message: `Acknowledged: ${what}. Thank you.` };
	}

	async function runEscalations(): Promise<boolean> {
		const started = clock.now();
		const due = await leaseDue(db, "escalation", started, ESCALATION_LEASE_MS, BATCH);
		if (due.length === 0) return false;
		await inSpan("escalation.tiers", { tiers: due.length }, () =>
			engine.fireBatch(due, new Date(started.getTime() + ESCALATION_LEASE_MS)),
		);
		deps.metrics.cycle("escalation", (clock.now().getTime() - started.getTime()) / 1000);
		return due.length === BATCH;
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
		audit: sweep,
		start: (tenant, alerts) => startEscalations(tenant, alerts, { recordUnrouted: true }).then(() => {}),

		stop: (tenant, alertId, reason) => engine.stop(tenant, alertId, reason),

		getRoutes: escalationRoutes,

		async setRoutes(tenant, input, actor) {
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

		async ofAlert(tenant, alertId) {
			const escalation = await escalations.findEscalationOfAlert(db, tenant.schema, alertId);
			if (!escalation) {
				throw new AppError("not_found", "escalation.not_found", `Alert ${alertId} has no escalation`);
			}
			const notifications = await outbox.listNotifications(db, tenant.schema, { alertId, limit: 500 });
			return { escalation, notifications };
		},

		async notificationsOf(tenant, memberId, filter) {
			await deps.members.get(tenant, memberId);
			return outbox.listNotifications(db, tenant.schema, { memberId, ...filter });
		},

		async addPushSubscription(tenant, memberId, subscription, actor) {
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

		async listPushSubscriptions(tenant, memberId) {
			await deps.members.get(tenant, memberId);
			return push.listSubscriptions(db, tenant.schema, memberId);
		},

		async removePushSubscription(tenant, memberId, id, actor) {
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

		async keypress(tenantId, notificationId, digits) {
			if (digits !== "1") return { acknowledged: false, message: "Not acknowledged. Press 1 to acknowledge." };
			return acknowledgeFor(tenantId, notificationId, "phone");
		},

		async smsReply(from, code) {
			const found = await outbox.findAckCode(db, code, clock.now());
			if (!found) return { acknowledged: false, message: `OpsWatch: code ${code} is unknown or has expired.` };
			const tenant = await engine.tenantOf(found.tenantId);
			const notification = tenant && (await outbox.findNotification(db, tenant.schema, found.notificationId));
			// Only the phone the code was sent to may use it: a code is not a password for anyone who reads it.
			if (!notification || notification.destination !== from) {
				return { acknowledged: false, message: `OpsWatch: code ${code} is unknown or has expired.` };
			}
			const result = await acknowledgeFor(found.tenantId, found.notificationId, "sms");
			return { ...result, message: `OpsWatch: ${result.message}` };
		},

		async startWorker() {
			engineLoop = createLoop({
				clock,
				runOnce: runEscalations,
				nextDue: () => nextDue(db, "escalation"),
				maxSleepMs: deps.maxSleepMs ?? 10_000,
				onError: (error) => onError(error, "escalation loop"),
			});
			outboxLoop = createLoop({
				clock,
				runOnce: delivery.runOnce,
				nextDue: () => nextDue(db, "notification"),
				maxSleepMs: deps.maxSleepMs ?? 10_000,
				onError: (error) => onError(error, "notification loop"),
			});
			engineLoop.start();
			outboxLoop.start();
			// Wake-ups only make the loops prompt; they run without them (deadlines come from the
			// database). So a bus that is down delays the worker's start of nothing: keep trying.
			const subscribe = () => {
				if (stopped) return;
				bus
					.subscribe(WAKE_TOPIC, () => {
						engineLoop?.wake();
						outboxLoop?.wake();
					})
					.then((unsubscribeFn) => {
						unsubscribe = unsubscribeFn;
						if (stopped) void unsubscribeFn();
					})
					.catch((error) => {
						onError(error, "escalation wake-up subscription");
						retry = setTimeout(subscribe, 5000);
						retry.unref?.();
					});
			};
			stopped = false;
			subscribe();
			const audit = () => sweep().catch((error) => onError(error, "escalation sweep"));
			void audit();
			sweeper = setInterval(audit, SWEEP_EVERY_MS);
			sweeper.unref?.();
		},

		async stopWorker() {
			stopped = true;
			clearTimeout(retry);
			clearInterval(sweeper);
			await unsubscribe?.();
			await Promise.all([engineLoop?.stop(), outboxLoop?.stop()]);
		},

		async settled() {
			// Quiet means both loops idle and nothing due at this instant (a tier queues pages, a failed
			// page queues its fall-through).
			for (let round = 0; round < 100; round++) {
				await engineLoop?.idle();
				await outboxLoop?.idle();
				await Promise.all(timelineWrites);
				const now = clock.now();
				const due = await Promise.all([nextDue(db, "escalation"), nextDue(db, "notification")]);
				if (due.every((at) => !at || at > now)) return;
				engineLoop?.wake();
				outboxLoop?.wake();
				await new Promise((resolve) => setTimeout(resolve, 5));
			}
		},
	};
}
