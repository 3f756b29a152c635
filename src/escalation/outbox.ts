import { randomUUID } from "node:crypto";
import type { Clock } from "../platform/clock.ts";
import { mapConcurrently } from "../platform/concurrency.ts";
import type { Db } from "../platform/db/index.ts";
import { inSpan } from "../platform/tracing.ts";
import type { MemberApi, Tenant } from "../tenant/index.ts";
import { type Channel, ChannelError, type Delivery, type OutgoingNotification } from "./channels.ts";
import { fallbackFor } from "./contacts.ts";
import type { AlertDesk } from "./engine.ts";
import type { EscalationMetrics } from "./metrics.ts";
import type { Notification, NotificationChannel } from "./outbox-store.ts";
import * as outbox from "./outbox-store.ts";
import { bundleAlert, THROTTLES } from "./throttle.ts";
import { deleteTimers, leaseDue, setTimers, type Timer } from "./timers.ts";
import type { PersonChannel } from "./types.ts";

type Claimed = { notification: Notification; inDoubt: boolean };

export interface OutboxDeps {
	/** Where a bundle of pages points: the list of open alerts. */
	alertsUrl: string;
	db: Db;
	clock: Clock;
	tenantOf(id: string): Promise<Tenant | undefined>;
	members: Pick<MemberApi, "findMany">;
	alerts: Pick<AlertDesk, "recordTimeline">;
	/** A sender per channel this deployment can use; the inbox needs none. */
	channels: Partial<Record<Exclude<NotificationChannel, "inbox">, Channel>>;
	configured: ReadonlySet<PersonChannel>;
	/** Forgets Web Push endpoints the push service answered 404/410 for. */
	pruneEndpoints(tenant: Tenant, endpoints: string[]): Promise<void>;
	metrics: EscalationMetrics;
	onError(error: unknown, context: string): void;
	/** The operator's log (no destinations: never a phone number or Slack id). */
	notice(fields: Record<string, unknown>, message: string): void;
}

/**
 * How long a claimed notification is held by one worker. Longer than any provider call may take
 * (their timeouts are shorter), so a live worker never loses its claim; a dead worker's claims come
 * due again after it.
 */
export const LEASE_MS = 15_000;
/** Tries per notification before it falls through to the member's next contact method. */
export const MAX_TRIES = 5;
const BATCH = 200;
/**
 * Provider calls in flight at once per worker: as many as the HTTP client has sockets (64). Started
 * all at once, a batch's other sends only queued inside the client, each holding its request objects
 * alive meanwhile; in a storm that was garbage to collect and work the next tiers waited behind
 * (bench:escalation: p99 about a tenth lower).
 */
const DELIVERIES_AT_ONCE = 64;

const backoffMs = (tries: number) => Math.min(60_000, 1000 * 2 ** (tries - 1));

/**
 * Delivers queued notifications. A notification is claimed with a lease and marked 'sending'
 * before the provider is called, and 'sent' after: a worker killed in between leaves it 'sending',
 * and whoever picks it up next asks the provider whether it went out (by its idempotency key)
 * before sending again. That is what makes a crash cost neither a lost nor a second page.
 */
export function createOutbox(deps: OutboxDeps) {
	const { db, clock, metrics } = deps;
	/** Set when a cycle queued a page due at once (a fall-through), so the loop runs again without sleeping. */
	let requeued = false;

	/**
	 * Records a cycle's deliveries of one tenant in one transaction, and on the alerts' timelines.
	 * Several notifications delivered as one bundle share its provider reference.
	 */
	async function finish(tenant: Tenant, deliveries: { sent: Notification[]; providerRef: string }[]): Promise<void> {
		if (deliveries.length === 0) return;
		const now = clock.now();
		const rows = deliveries.flatMap(({ sent, providerRef }) => sent.map((n) => ({ id: n.id, providerRef })));
		await db.transaction().execute(async (trx) => {
			await outbox.markSent(trx, tenant.schema, rows, now);
			await deleteTimers(
				trx,
				tenant.id,
				"notification",
				rows.map((r) => r.id),
			);
		});
		const events = deliveries.flatMap(({ sent }) =>
			sent.map((n) => {
				metrics.notified(tenant, n.channel, "sent");
				return outbox.notifiedEntry(n, now, sent.length);
			}),
		);
		await deps.alerts.recordTimeline(tenant, events).catch((error) => deps.onError(error, "notification timeline"));
	}

	/**
	 * Holds pages to a phone number that had its share of the throttle window; they come due together
	 * when it frees up, and go out as one bundle. False when there is room now.
	 */
	async function heldByThrottle(tenant: Tenant, group: Notification[]): Promise<boolean> {
		const lead = group[0]!;
		const throttle = THROTTLES[lead.channel];
		if (!throttle || !lead.destination) return false;
		const now = clock.now();
		const recent = await outbox.recentSends(
			db,
			tenant.schema,
			lead.channel,
			lead.destination,
			new Date(now.getTime() - throttle.windowMs),
		);
		if (recent.length < throttle.limit) return false;
		// The window frees up when the oldest send that still counts leaves it.
		const freeAt = new Date(recent[recent.length - throttle.limit]!.getTime() + throttle.windowMs);
		const ids = group.map((n) => n.id);
		await db.transaction().execute(async (trx) => {
			await outbox.markDeferred(trx, tenant.schema, ids);
			await setTimers(
				trx,
				ids.map((refId) => ({ tenantId: tenant.id, kind: "notification" as const, refId, dueAt: freeAt })),
			);
		});
		return true;
	}

	/** Gives up on a channel: the member's next contact method takes over (the inbox at the end). */
	async function fallThrough(tenant: Tenant, notification: Notification, error: string): Promise<void> {
		const [member] = notification.memberId ? await deps.members.findMany(tenant, [notification.memberId]) : [];
		const tried = new Set<NotificationChannel>(notification.key.split(">").slice(1) as NotificationChannel[]);
		const route = member
			? fallbackFor(member, notification.channel, tried.add(notification.channel), deps.configured)
			: undefined;
		const now = clock.now();
		await db.transaction().execute(async (trx) => {
			await outbox.markFailed(trx, tenant.schema, notification.id, error, true);
			await deleteTimers(trx, tenant.id, "notification", [notification.id]);
			if (!route) return;
			const [next] = await outbox.insertNotifications(
				trx,
				tenant.schema,
				[
					{
						id: randomUUID(),
						key: `${notification.key}>${route.channel}`,
						escalationId: notification.escalationId,
						alertId: notification.alertId,
						memberId: notification.memberId,
						attempt: notification.attempt,
						tier: notification.tier,
						channel: route.channel,
						destination: route.destination,
						// A fallback SMS reuses the failed notification's code only if it had one.
						ackCode: route.channel === "sms" ? notification.ackCode : null,
						message: notification.message,
						scheduledAt: now,
					},
				],
				now,
			);
			if (next?.status === "pending") {
				await setTimers(trx, [{ tenantId: tenant.id, kind: "notification", refId: next.id, dueAt: now }]);
				requeued = true;
			}
		});
		metrics.notified(tenant, notification.channel, "failed");
		deps.notice(
			{
				tenant: tenant.slug,
				alert_id: notification.alertId,
				member_id: notification.memberId,
				channel: notification.channel,
				error,
				next: route?.channel ?? null,
			},
			route
				? `page failed on ${notification.channel}, trying ${route.channel}`
				: `page failed on ${notification.channel}`,
		);
	}

	/**
	 * Delivers a group of notifications for one destination and channel: one page, or one bundle
	 * (a throttled number's held pages, which the lead's reply code or keypress acknowledges together).
	 */
	async function deliver(
		tenant: Tenant,
		group: Claimed[],
		claimedAt: Date,
	): Promise<{ sent: Notification[]; providerRef: string } | undefined> {
		const notification = group[0]!.notification;
		const all = group.map((c) => c.notification);
		// A follow-up to the inbox is delivered by coming due.
		if (notification.channel === "inbox") return { sent: all, providerRef: "inbox" };
		const channel = deps.channels[notification.channel];
		if (!channel || !notification.destination) {
			for (const n of all) await fallThrough(tenant, n, `${n.channel} is not available`);
			return undefined;
		}
		if (await heldByThrottle(tenant, all)) return undefined;
		const outgoing: OutgoingNotification = {
			id: notification.id,
			key: notification.key,
			tenant: { id: tenant.id, slug: tenant.slug, schema: tenant.schema },
			alert:
				all.length > 1
					? bundleAlert(
							all.map((n) => n.message),
							deps.alertsUrl,
						)
					: notification.message,
			destination: notification.destination,
			ackCode: notification.ackCode ?? "",
			claimedAt,
		};
		try {
			const earlier = group.some((c) => c.inDoubt)
				? await ours(tenant, all, await channel.findDelivered(outgoing))
				: undefined;
			const delivery = earlier ?? (await channel.send(outgoing));
			await prune(tenant, delivery);
			return { sent: all, providerRef: delivery.providerRef };
		} catch (error) {
			await prune(tenant, error);
			const message = error instanceof Error ? error.message : String(error);
			const retryable = !(error instanceof ChannelError) || error.retryable;
			for (const n of all) {
				if (retryable && n.tries < MAX_TRIES) {
					// It stays 'sending': a timeout may have delivered it, so the next try asks first.
					await outbox.markFailed(db, tenant.schema, n.id, message, false);
					await setTimers(db, [
						{
							tenantId: tenant.id,
							kind: "notification",
							refId: n.id,
							dueAt: new Date(clock.now().getTime() + backoffMs(n.tries)),
						},
					]);
					metrics.notified(tenant, n.channel, "retried");
				} else {
					await fallThrough(tenant, n, message);
				}
			}
			return undefined;
		}
	}

	/**
	 * A delivery the provider found for an in-doubt page, unless it is another page's: a call is
	 * found by number and time, and a second page to the same phone may be the one found.
	 */
	async function ours(tenant: Tenant, pages: Notification[], found: Delivery | undefined) {
		if (!found) return undefined;
		const owners = await outbox.ownersOf(db, tenant.schema, found.providerRef);
		const mine = new Set(pages.map((n) => n.id));
		return owners.every((id) => mine.has(id)) ? found : undefined;
	}

	/** A push service may report subscriptions it dropped, with a delivery or a failure. */
	async function prune(tenant: Tenant, outcome: unknown): Promise<void> {
		const expired = (outcome as { expired?: unknown } | null)?.expired;
		if (!Array.isArray(expired) || expired.length === 0) return;
		await deps.pruneEndpoints(tenant, expired as string[]).catch((error) => deps.onError(error, "push prune"));
	}

	/** Throttled channels go out per destination (so held pages bundle); every other page alone. */
	function groupsOf(claimed: Claimed[]): Claimed[][] {
		const groups = new Map<string, Claimed[]>();
		for (const c of claimed) {
			const n = c.notification;
			const key = THROTTLES[n.channel] && n.destination ? `${n.channel}|${n.destination}` : n.id;
			groups.set(key, [...(groups.get(key) ?? []), c]);
		}
		// A stable lead (the oldest), so a resend after a crash asks the provider about the same page.
		return [...groups.values()].map((g) =>
			g.sort(
				(a, b) =>
					a.notification.createdAt.getTime() - b.notification.createdAt.getTime() ||
					a.notification.key.localeCompare(b.notification.key),
			),
		);
	}

	/** Claims and delivers one batch of due notifications; true when more may be due. */
	async function runOnce(): Promise<boolean> {
		const started = clock.now();
		requeued = false;
		const timers = await leaseDue(db, "notification", started, LEASE_MS, BATCH);
		if (timers.length === 0) return false;
		return inSpan("escalation.notifications", { notifications: timers.length }, () => deliverLeased(timers, started));
	}

	async function deliverLeased(timers: Timer[], started: Date): Promise<boolean> {
		const byTenant = new Map<string, Timer[]>();
		for (const timer of timers) byTenant.set(timer.tenantId, [...(byTenant.get(timer.tenantId) ?? []), timer]);
		await Promise.all(
			[...byTenant].map(async ([tenantId, own]) => {
				const tenant = await deps.tenantOf(tenantId);
				const ids = own.map((timer) => timer.refId);
				if (!tenant) return deleteTimers(db, tenantId, "notification", ids);
				const claimed = await outbox.markSending(db, tenant.schema, ids);
				// A timer whose row was cancelled or finished meanwhile has nothing left to do.
				const live = new Set(claimed.map((c) => c.notification.id));
				await deleteTimers(
					db,
					tenant.id,
					"notification",
					ids.filter((id) => !live.has(id)),
				);
				const delivered = await mapConcurrently(groupsOf(claimed), DELIVERIES_AT_ONCE, (group) =>
					deliver(tenant, group, started).catch((error) => {
						deps.onError(error, "notification delivery");
						return undefined;
					}),
				);
				// Recorded together: a worker dying before this leaves them 'sending', and the next one
				// asks the provider before sending again.
				await finish(
					tenant,
					delivered.filter((d) => d !== undefined),
				);
			}),
		);
		for (const timer of timers) metrics.lateness("notification", (started.getTime() - timer.dueAt.getTime()) / 1000);
		metrics.cycle("notification", (clock.now().getTime() - started.getTime()) / 1000);
		return timers.length === BATCH || requeued;
	}

	return { runOnce };
}
