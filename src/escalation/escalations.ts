import type { EscalationStarter, LabelMatcher } from "../alert/index.ts";
import { type EventBus, keepSubscribed } from "../platform/bus/index.ts";
import type { Clock } from "../platform/clock.ts";
import type { Db } from "../platform/db/index.ts";
import { AppError } from "../platform/errors.ts";
import { createLoop, type Loop } from "../platform/loop.ts";
import { inSpan } from "../platform/tracing.ts";
import { type Actor, type MemberApi, memberIdOf, type TenantApi, type TenantRef } from "../tenant/index.ts";
import { createAnswers } from "./answers.ts";
import { type AlertDesk, createEngine } from "./engine.ts";
import type { Escalation } from "./escalation-store.ts";
import * as escalations from "./escalation-store.ts";
import { createFollowUps } from "./follow-ups.ts";
import type { EscalationMetrics } from "./metrics.ts";
import { createOutbox } from "./outbox.ts";
import type { Notification, NotificationChannel } from "./outbox-store.ts";
import * as outbox from "./outbox-store.ts";
import type { TargetResolver } from "./plan.ts";
import type { Senders } from "./providers.ts";
import type { PushSubscription } from "./push-store.ts";
import * as push from "./push-store.ts";
import { createPushSubscriptions } from "./push-subscriptions.ts";
import { createQuietLane } from "./quiet-lane.ts";
import { createRouting } from "./routing.ts";
import { leaseDue, nextDue } from "./timers.ts";
import type { PersonChannel } from "./types.ts";
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
	/** How many escalations started in [since, until) reached each tier (1-based), for the admin statistics. */
	tierStats(tenant: TenantRef, since: Date, until: Date): Promise<Record<string, number>>;
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
	channels: Senders;
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
/** How long a stopping worker goes on writing what waited for the pages. */
const STOP_FLUSH_MS = 10_000;
/** How often every worker runs the auditor of lost starts. */
const SWEEP_EVERY_MS = 30_000;

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
	let sweeper: NodeJS.Timeout | undefined;

	// Timeline entries and thread follow-ups are records and news, not pages: they wait in the quiet
	// lane until this worker has no tier or page in hand.
	const lane = createQuietLane({
		async quiet() {
			await engineLoop?.idle();
			await outboxLoop?.idle();
		},
		onError,
	});
	// A redraw answers someone's acknowledgement: it goes out at once, without holding up the caller
	// (settled() waits for it, for tests).
	const redraws = new Set<Promise<void>>();
	const track = (work: Promise<void>) => {
		redraws.add(work);
		void work.finally(() => redraws.delete(work));
	};

	/** Redraws an alert's sent Slack pages with who acknowledged or resolved it, and without stale buttons. */
	async function redrawSlackPages(tenant: TenantRef, alertId: string): Promise<void> {
		const update = deps.channels.slackUpdate;
		if (!update) return;
		const pages = await outbox.sentSlackPagesOf(db, tenant.schema, [alertId]);
		if (pages.length === 0) return;
		const view = (await deps.alerts.views(tenant, [alertId])).get(alertId);
		if (!view || view.status === "firing") return;
		const memberId = memberIdOf(view.by);
		const [member] = memberId ? await deps.members.findMany(tenant, [memberId]) : [];
		const resolved = view.status === "resolved";
		const promptId = resolved && !view.message.solution ? await deps.alerts.kbPromptOf(tenant, alertId) : undefined;
		const state = {
			status: resolved ? ("resolved" as const) : ("acknowledged" as const),
			by: member?.name ?? view.by ?? "someone",
			notes: resolved ? view.notes : null,
			prompt: promptId ? { tenantId: tenant.id, promptId } : undefined,
		};
		for (const page of pages) {
			await update(page.providerRef!, { alert: page.message, tenant }, state);
		}
	}
	const desk: AlertDesk = {
		views: (tenant, ids) => deps.alerts.views(tenant, ids),
		firingPaging: (tenant, since, until) => deps.alerts.firingPaging(tenant, since, until),
		acknowledge: (tenant, id, by, via) => deps.alerts.acknowledge(tenant, id, by, via),
		kbPromptOf: (tenant, id) => deps.alerts.kbPromptOf(tenant, id),
		async recordTimeline(tenant, events) {
			lane.push(() => deps.alerts.recordTimeline(tenant, events), "escalation timeline");
		},
	};

	const followUps = createFollowUps({
		threadsOf: (tenant, alertIds) => outbox.threadsToTell(db, tenant.schema, alertIds),
		reply: deps.channels.slackReply,
		lane,
		onError,
	});
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
		escalated: (tenant, moves) => followUps.announce(tenant, moves),
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

	const routing = createRouting({
		db,
		clock,
		tenants: deps.tenants,
		alerts: deps.alerts,
		wake: wakeAll,
		onError,
	});
	const answers = createAnswers({ db, clock, tenantOf: engine.tenantOf, alerts: deps.alerts });
	const pushSubscriptions = createPushSubscriptions({ db, clock, members: deps.members });

	return {
		audit: routing.sweep,
		start: (tenant, alerts) => routing.startEscalations(tenant, alerts, { recordUnrouted: true }).then(() => {}),

		async stop(tenant, alertId, reason) {
			await engine.stop(tenant, alertId, reason);
			// The alert's Slack pages say who took it, wherever it was taken (a call, an SMS, the UI).
			track(redrawSlackPages(tenant, alertId).catch((error) => onError(error, "slack page update")));
		},

		getRoutes: routing.getRoutes,

		setRoutes: routing.setRoutes,

		tierStats: (tenant, since, until) => outbox.escalationsByTier(db, tenant.schema, since, until),

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

		addPushSubscription: pushSubscriptions.add,
		listPushSubscriptions: pushSubscriptions.list,
		removePushSubscription: pushSubscriptions.remove,

		keypress: answers.keypress,
		smsReply: answers.smsReply,

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
			// database). So a bus that is down delays the worker's start of nothing.
			unsubscribe = keepSubscribed(
				bus,
				WAKE_TOPIC,
				() => {
					engineLoop?.wake();
					outboxLoop?.wake();
				},
				{ onError: (error) => onError(error, "escalation wake-up subscription") },
			);
			const audit = () => routing.sweep().catch((error) => onError(error, "escalation sweep"));
			void audit();
			sweeper = setInterval(audit, SWEEP_EVERY_MS);
			sweeper.unref?.();
		},

		async stopWorker() {
			clearInterval(sweeper);
			await unsubscribe?.();
			await Promise.all([engineLoop?.stop(), outboxLoop?.stop()]);
			// What waited for the pages (timeline entries, follow-ups) is written before the worker goes,
			// for as long as a stop may take: a Slack that does not answer must not hold up a deploy.
			if (!(await lane.drained(STOP_FLUSH_MS))) {
				onError(new Error("timeline entries and thread follow-ups still waiting were dropped"), "escalation stop");
			}
		},

		async settled() {
			// Quiet means both loops idle and nothing due at this instant (a tier queues pages, a failed
			// page queues its fall-through).
			for (let round = 0; round < 100; round++) {
				await engineLoop?.idle();
				await outboxLoop?.idle();
				await Promise.all(redraws);
				await lane.idle();
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
