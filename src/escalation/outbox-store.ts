import { sql } from "kysely";
import type { Db } from "../platform/db/index.ts";
import type { NotificationAlert } from "./channels.ts";
import type { PersonChannel } from "./types.ts";

export type NotificationChannel = PersonChannel | "slack_channel";
export type NotificationStatus = "pending" | "sending" | "sent" | "failed" | "cancelled";

/** One row of the outbox. */
export interface Notification {
	id: string;
	key: string;
	escalationId: string | null;
	alertId: string;
	memberId: string | null;
	attempt: number;
	tier: number;
	channel: NotificationChannel;
	/** Never logged: a Slack id or a phone number. */
	destination: string | null;
	ackCode: string | null;
	message: NotificationAlert;
	status: NotificationStatus;
	tries: number;
	providerRef: string | null;
	lastError: string | null;
	createdAt: Date;
	/** When it is to go out: the tier's instant, or later for a member's follow-up rule. */
	scheduledAt: Date;
	sentAt: Date | null;
	readAt: Date | null;
}

export type NewNotification = Pick<
	Notification,
	| "id"
	| "key"
	| "escalationId"
	| "alertId"
	| "memberId"
	| "attempt"
	| "tier"
	| "channel"
	| "destination"
	| "ackCode"
	| "message"
	| "scheduledAt"
>;

/** The "notified" timeline entry of a page delivered at `at`, one of a bundle of `bundleSize`. */
export function notifiedEntry(
	n: Pick<Notification, "alertId" | "memberId" | "attempt" | "tier" | "channel" | "destination">,
	at: Date,
	bundleSize = 1,
) {
	return {
		alertId: n.alertId,
		type: "notified" as const,
		at,
		details: {
			channel: n.channel,
			memberId: n.memberId,
			pass: n.attempt + 1,
			tier: n.tier + 1,
			...(n.channel === "slack_channel" && { slackChannel: n.destination }),
			...(bundleSize > 1 && { bundledWith: bundleSize - 1 }),
		},
	};
}

interface NotificationRow {
	id: string;
	idempotency_key: string;
	escalation_id: string | null;
	alert_id: string;
	member_id: string | null;
	attempt: number;
	tier: number;
	channel: NotificationChannel;
	destination: string | null;
	ack_code: string | null;
	message: NotificationAlert;
	status: NotificationStatus;
	tries: number;
	provider_ref: string | null;
	last_error: string | null;
	created_at: Date;
	scheduled_at: Date;
	sent_at: Date | null;
	read_at: Date | null;
}

const notificationFromRow = (row: NotificationRow): Notification => ({
	id: row.id,
	key: row.idempotency_key,
	escalationId: row.escalation_id,
	alertId: row.alert_id,
	memberId: row.member_id,
	attempt: row.attempt,
	tier: row.tier,
	channel: row.channel,
	destination: row.destination,
	ackCode: row.ack_code,
	message: row.message,
	status: row.status,
	tries: row.tries,
	providerRef: row.provider_ref,
	lastError: row.last_error,
	createdAt: row.created_at,
	scheduledAt: row.scheduled_at,
	sentAt: row.sent_at,
	readAt: row.read_at,
});

const notifications = (schema: string) => sql.table(`${schema}.notifications`);

/**
 * Adds notifications; a key already present is left alone (that is the idempotency). Inbox rows due
 * now are delivered by being written, so they are stored as sent. Returns the rows this call created,
 * as far as the caller needs them to set their timers (not their messages: a storm writes thousands).
 */
export async function insertNotifications(
	db: Db,
	schema: string,
	rows: NewNotification[],
	at: Date,
): Promise<Pick<Notification, "id" | "status" | "scheduledAt">[]> {
	if (rows.length === 0) return [];
	const { rows: inserted } = await sql<Pick<NotificationRow, "id" | "status" | "scheduled_at">>`
		insert into ${notifications(schema)}
			(id, idempotency_key, escalation_id, alert_id, member_id, attempt, tier, channel, destination, ack_code,
			 message, status, created_at, scheduled_at, sent_at)
		select n.id, n.key, n.escalation_id, n.alert_id, n.member_id, n.attempt, n.tier, n.channel, n.destination, n.ack_code,
			n.message, case when n.channel = 'inbox' and n.scheduled_at <= ${at} then 'sent' else 'pending' end,
			${at}, n.scheduled_at, case when n.channel = 'inbox' and n.scheduled_at <= ${at} then ${at}::timestamptz end
		from jsonb_to_recordset(${JSON.stringify(
			rows.map((r) => ({
				id: r.id,
				key: r.key,
				escalation_id: r.escalationId,
				alert_id: r.alertId,
				member_id: r.memberId,
				attempt: r.attempt,
				tier: r.tier,
				channel: r.channel,
				destination: r.destination,
				ack_code: r.ackCode,
				message: r.message,
				scheduled_at: r.scheduledAt.toISOString(),
			})),
		)}::jsonb) as n (id uuid, key text, escalation_id uuid, alert_id uuid, member_id uuid, attempt int, tier int,
			channel text, destination text, ack_code text, message jsonb, scheduled_at timestamptz)
		on conflict (idempotency_key) do nothing
		returning id, status, scheduled_at`.execute(db);
	return inserted.map((row) => ({ id: row.id, status: row.status, scheduledAt: row.scheduled_at }));
}

/**
 * Marks claimed rows as being sent and counts the try. Returns each with the status it had: a row
 * that was already 'sending' was left by a worker that may have sent it before dying.
 */
export async function markSending(
	db: Db,
	schema: string,
	ids: string[],
): Promise<{ notification: Notification; inDoubt: boolean }[]> {
	const { rows } = await sql<NotificationRow & { was: NotificationStatus }>`
		update ${notifications(schema)} n set status = 'sending', tries = n.tries + 1
		from ${notifications(schema)} before
		where n.id = any(${ids}::uuid[]) and before.id = n.id and n.status in ('pending', 'sending')
		returning n.*, before.status as was`.execute(db);
	return rows.map((row) => ({ notification: notificationFromRow(row), inDoubt: row.was === "sending" }));
}

/** Records deliveries (one statement for a batch); rows cancelled or finished meanwhile are left alone. */
export async function markSent(
	db: Db,
	schema: string,
	delivered: { id: string; providerRef: string }[],
	at: Date,
): Promise<void> {
	if (delivered.length === 0) return;
	await sql`
		update ${notifications(schema)} n set status = 'sent', provider_ref = v.provider_ref, sent_at = ${at},
			last_error = null
		from jsonb_to_recordset(${JSON.stringify(delivered.map((d) => ({ id: d.id, provider_ref: d.providerRef })))}::jsonb)
			as v (id uuid, provider_ref text)
		where n.id = v.id and n.status = 'sending'`.execute(db);
}

/** Records a failed try: 'sending' again later (the send may have happened), or 'failed' for good. */
export async function markFailed(db: Db, schema: string, id: string, error: string, final: boolean): Promise<void> {
	await sql`
		update ${notifications(schema)} set last_error = ${error},
			status = case when ${final} then 'failed' else status end
		where id = ${id} and status = 'sending'`.execute(db);
}

/** Puts claimed rows back to waiting without counting a try (a throttle held them). */
export async function markDeferred(db: Db, schema: string, ids: string[]): Promise<void> {
	await sql`
		update ${notifications(schema)} set status = 'pending', tries = greatest(tries - 1, 0)
		where id = any(${ids}::uuid[]) and status = 'sending'`.execute(db);
}

/** When pages on a channel reached a destination since `since`, oldest first (the throttle's window). */
export async function recentSends(
	db: Db,
	schema: string,
	channel: NotificationChannel,
	destination: string,
	since: Date,
): Promise<Date[]> {
	// A bundle is one message: its rows share the provider's reference.
	const { rows } = await sql<{ sent_at: Date }>`
		select min(sent_at) as sent_at from ${notifications(schema)}
		where destination = ${destination} and channel = ${channel} and status = 'sent' and sent_at > ${since}
		group by coalesce(provider_ref, id::text)
		order by 1`.execute(db);
	return rows.map((row) => row.sent_at);
}

/** Notifications `n` that are Slack messages (DMs and channel posts) sent for one of these alerts. */
const sentSlackMessagesOf = (alertIds: string[]) => sql`
	n.alert_id = any(${alertIds}::uuid[]) and n.channel in ('slack_dm', 'slack_channel') and n.status = 'sent'
		and n.provider_ref is not null`;

/** An alert's Slack messages that went out (DMs and channel posts), to update when the alert changes. */
export async function sentSlackPagesOf(db: Db, schema: string, alertIds: string[]): Promise<Notification[]> {
	if (alertIds.length === 0) return [];
	const { rows } = await sql<NotificationRow>`
		select n.* from ${notifications(schema)} n
		where ${sentSlackMessagesOf(alertIds)}
		order by n.created_at`.execute(db);
	return rows.map(notificationFromRow);
}

/** A Slack message that went out for an alert: a thread that may hear news. */
export interface PageThread {
	alertId: string;
	/** `channel:ts` */
	providerRef: string;
	/** When its page was queued. */
	createdAt: Date;
}

/**
 * The Slack messages (`channel:ts`) that went out for alerts whose escalation goes on or ran out: the
 * threads to tell where it went. Those of an escalation acknowledged or resolved meanwhile are left out.
 */
export async function threadsToTell(db: Db, schema: string, alertIds: string[]): Promise<PageThread[]> {
	if (alertIds.length === 0) return [];
	const { rows } = await sql<{ alert_id: string; provider_ref: string; created_at: Date }>`
		select n.alert_id, n.provider_ref, n.created_at from ${notifications(schema)} n
		join ${sql.id(schema, "escalations")} e on e.id = n.escalation_id
		where ${sentSlackMessagesOf(alertIds)} and e.status in ('active', 'exhausted')
		order by n.created_at, n.id`.execute(db);
	return rows.map((row) => ({ alertId: row.alert_id, providerRef: row.provider_ref, createdAt: row.created_at }));
}

/** The notifications recorded as delivered by a provider's message or call id. */
export async function ownersOf(db: Db, schema: string, providerRef: string): Promise<string[]> {
	const { rows } = await sql<{ id: string }>`
		select id from ${notifications(schema)} where provider_ref = ${providerRef}`.execute(db);
	return rows.map((row) => row.id);
}

/** The notifications delivered together with one (a bundle shares the provider's reference). */
export async function findBundle(db: Db, schema: string, id: string): Promise<Notification[]> {
	const { rows } = await sql<NotificationRow>`
		select n.* from ${notifications(schema)} n
		join ${notifications(schema)} lead on lead.id = ${id}
		where n.id = lead.id
			or (lead.provider_ref is not null and n.provider_ref = lead.provider_ref and n.channel = lead.channel)`.execute(
		db,
	);
	return rows.map(notificationFromRow);
}

/** Cancels what an escalation had not started sending; returns the cancelled ids. */
export async function cancelPending(db: Db, schema: string, escalationId: string): Promise<string[]> {
	const { rows } = await sql<{ id: string }>`
		update ${notifications(schema)} set status = 'cancelled'
		where escalation_id = ${escalationId} and status = 'pending'
		returning id`.execute(db);
	return rows.map((row) => row.id);
}

export async function findNotification(db: Db, schema: string, id: string): Promise<Notification | undefined> {
	const { rows } = await sql<NotificationRow>`select * from ${notifications(schema)} where id = ${id}`.execute(db);
	return rows[0] && notificationFromRow(rows[0]);
}

export async function listNotifications(
	db: Db,
	schema: string,
	filter: { memberId?: string; alertId?: string; channel?: NotificationChannel; limit: number },
): Promise<Notification[]> {
	const { rows } = await sql<NotificationRow>`
		select * from ${notifications(schema)}
		where (${filter.memberId ?? null}::uuid is null or member_id = ${filter.memberId ?? null}::uuid)
			and (${filter.alertId ?? null}::uuid is null or alert_id = ${filter.alertId ?? null}::uuid)
			and (${filter.channel ?? null}::text is null or channel = ${filter.channel ?? null}::text)
		order by created_at desc, id limit ${filter.limit}`.execute(db);
	return rows.map(notificationFromRow);
}

/** Reserves SMS reply codes, unique across tenants while kept; returns the codes that were free. */
export async function reserveAckCodes(
	db: Db,
	entries: { code: string; tenantId: string; notificationId: string; expiresAt: Date }[],
): Promise<Set<string>> {
	if (entries.length === 0) return new Set();
	const { rows } = await sql<{ code: string }>`
		insert into public.sms_ack_codes (code, tenant_id, notification_id, expires_at)
		select e.code, e.tenant_id, e.notification_id, e.expires_at
		from jsonb_to_recordset(${JSON.stringify(
			entries.map((e) => ({
				code: e.code,
				tenant_id: e.tenantId,
				notification_id: e.notificationId,
				expires_at: e.expiresAt.toISOString(),
			})),
		)}::jsonb) as e (code text, tenant_id uuid, notification_id uuid, expires_at timestamptz)
		on conflict (code) do nothing
		returning code`.execute(db);
	return new Set(rows.map((row) => row.code));
}

/** The notification a reply code answers, while the code is valid. */
export async function findAckCode(
	db: Db,
	code: string,
	now: Date,
): Promise<{ tenantId: string; notificationId: string } | undefined> {
	const { rows } = await sql<{ tenant_id: string; notification_id: string }>`
		select tenant_id, notification_id from public.sms_ack_codes
		where code = ${code} and expires_at > ${now}`.execute(db);
	return rows[0] && { tenantId: rows[0].tenant_id, notificationId: rows[0].notification_id };
}

/** Forgets expired reply codes, so their numbers can be handed out again. */
export async function deleteExpiredAckCodes(db: Db, now: Date): Promise<void> {
	await sql`delete from public.sms_ack_codes where expires_at <= ${now}`.execute(db);
}

/** Escalations started in [since, until) that paged at each tier (1-based; the emergency post is not a tier). */
export async function escalationsByTier(
	db: Db,
	schema: string,
	since: Date,
	until: Date,
): Promise<Record<string, number>> {
	// Tiers are stored 0-based; the emergency post is stored as tier 0 of the pass after the last.
	const { rows } = await sql<{ tier: number; n: string }>`
		select n.tier + 1 as tier, count(distinct n.escalation_id) as n
		from ${notifications(schema)} n
		join ${sql.id(schema, "escalations")} e on e.id = n.escalation_id
		where e.started_at >= ${since} and e.started_at < ${until}
			and n.attempt <= coalesce((e.policy ->> 'repeat')::int, 0)
		group by n.tier order by n.tier`.execute(db);
	return Object.fromEntries(rows.map((row) => [String(row.tier), Number(row.n)]));
}
