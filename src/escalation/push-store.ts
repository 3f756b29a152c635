import { sql } from "kysely";
import type { Db } from "../platform/db/index.ts";
import type { PushSubscriptionJson } from "./webpush.ts";

/** A member's browser subscription, as listed (the keys are not shown back). */
export interface PushSubscription {
	id: string;
	memberId: string;
	endpoint: string;
	createdAt: Date;
}

interface Row {
	id: string;
	member_id: string;
	endpoint: string;
	p256dh: string;
	auth: string;
	created_at: Date;
}

const table = (schema: string) => sql.table(`${schema}.push_subscriptions`);
const fromRow = (row: Row): PushSubscription => ({
	id: row.id,
	memberId: row.member_id,
	endpoint: row.endpoint,
	createdAt: row.created_at,
});

/** Adds a subscription; the same endpoint again (a browser re-subscribing) replaces its keys and owner. */
export async function upsertSubscription(
	db: Db,
	schema: string,
	memberId: string,
	subscription: PushSubscriptionJson,
	at: Date,
): Promise<PushSubscription> {
	const { rows } = await sql<Row>`
		insert into ${table(schema)} (member_id, endpoint, p256dh, auth, created_at)
		values (${memberId}, ${subscription.endpoint}, ${subscription.keys.p256dh}, ${subscription.keys.auth}, ${at})
		on conflict (endpoint) do update
			set member_id = excluded.member_id, p256dh = excluded.p256dh, auth = excluded.auth
		returning *`.execute(db);
	return fromRow(rows[0]!);
}

export async function listSubscriptions(db: Db, schema: string, memberId: string): Promise<PushSubscription[]> {
	const { rows } = await sql<Row>`
		select * from ${table(schema)} where member_id = ${memberId} order by created_at, id`.execute(db);
	return rows.map(fromRow);
}

/** Each member's subscriptions, with keys, ready to push to. */
export async function subscriptionsOf(
	db: Db,
	schema: string,
	memberIds: string[],
): Promise<Map<string, PushSubscriptionJson[]>> {
	const found = new Map<string, PushSubscriptionJson[]>();
	if (memberIds.length === 0) return found;
	const { rows } = await sql<Row>`
		select * from ${table(schema)} where member_id = any(${memberIds}::uuid[]) order by created_at, id`.execute(db);
	for (const row of rows) {
		const subscription = { endpoint: row.endpoint, keys: { p256dh: row.p256dh, auth: row.auth } };
		found.set(row.member_id, [...(found.get(row.member_id) ?? []), subscription]);
	}
	return found;
}

export async function deleteSubscription(db: Db, schema: string, memberId: string, id: string): Promise<boolean> {
	const result = await sql`
		delete from ${table(schema)} where member_id = ${memberId} and id = ${id}`.execute(db);
	return Number(result.numAffectedRows ?? 0) > 0;
}

/** Forgets endpoints the push service no longer knows. */
export async function deleteEndpoints(db: Db, schema: string, endpoints: string[]): Promise<void> {
	if (endpoints.length === 0) return;
	await sql`delete from ${table(schema)} where endpoint = any(${endpoints}::text[])`.execute(db);
}
