import {
	type ColumnType,
	CompiledQuery,
	type Generated,
	type Kysely,
	type RawBuilder,
	type Selectable,
	sql,
} from "kysely";
import { v5 as uuidv5 } from "uuid";
import { type Db, prepared, textArray } from "../platform/db/index.ts";
import { type AlertSource, type AlertStatus, type Severity, severities } from "./types.ts";

/** A jsonb column: read as T, written through `jsonb()`. */
type Json<T> = ColumnType<T, RawBuilder<unknown>, RawBuilder<unknown>>;

/** The tenant-schema tables this store owns. */
type AlertTables = {
	alerts: {
		id: Generated<string>;
		source: AlertSource;
		fingerprint: string;
		status: AlertStatus;
		severity: Severity;
		title: string;
		description: string;
		labels: Json<Record<string, string>>;
		annotations: Json<Record<string, string>>;
		starts_at: Date;
		ends_at: Date | null;
		generator_url: string | null;
		occurrences: number;
		first_seen_at: Date;
		last_seen_at: Date;
		acknowledged_at: Date | null;
		acknowledged_by: string | null;
		resolved_at: Date | null;
		resolved_by: string | null;
		resolution_notes: string | null;
		kb_incident_id: string | null;
		kb_learned: Generated<boolean>;
		/** The sender's object for this alert; null when it lies in a kept webhook body (`payload_id`). */
		raw: Json<unknown | null>;
		payload_id: string | null;
		/** Where the alert's object lies in its webhook body, for `#>`. */
		payload_path: string[] | null;
		/** Who opened it (its "created" timeline entry); null for alerts that have that entry stored. */
		created_by: string | null;
	};
	webhook_payloads: {
		id: string;
		received_at: Date;
		body: string;
	};
	alert_events: {
		id: Generated<string>;
		alert_id: string;
		at: Date;
		type: AlertEventType;
		actor: string | null;
		details: Json<unknown>;
	};
};

export type AlertEventType =
	| "created"
	| "deduplicated"
	| "acknowledged"
	| "resolved"
	| "escalated"
	| "notified"
	| "commented";

export interface Alert {
	id: string;
	source: AlertSource;
	fingerprint: string;
	status: AlertStatus;
	severity: Severity;
	title: string;
	description: string;
	labels: Record<string, string>;
	annotations: Record<string, string>;
	startsAt: Date;
	endsAt: Date | null;
	generatorUrl: string | null;
	occurrences: number;
	firstSeenAt: Date;
	lastSeenAt: Date;
	acknowledgedAt: Date | null;
	acknowledgedBy: string | null;
	resolvedAt: Date | null;
	resolvedBy: string | null;
	resolutionNotes: string | null;
	kbIncidentId: string | null;
	/**
	 * The sender's original object for this alert. Read by `findAlert`; elsewhere null for an alert
	 * whose object lies in a kept webhook body (most do).
	 */
	raw: unknown;
}

export interface AlertEvent {
	id: string;
	alertId: string;
	at: Date;
	type: AlertEventType;
	actor: string | null;
	details: unknown;
}

/**
 * A firing alert ready to be written (fingerprinted, classified, enriched), in the shape the upsert
 * reads (`json_to_recordset`). Instants are ISO text, as JSON.stringify leaves its fast path for a
 * Date. An undefined field is left out of the JSON and reads as null. `occurrences` is how many
 * times the payload carried it (a payload may repeat an alert). Where its request's body is kept,
 * `payload_path` is the alert's place in it and `raw` is left out.
 */
export interface FiringRow {
	fingerprint: string;
	severity: Severity;
	title: string;
	description: string;
	labels: Record<string, string>;
	annotations: Record<string, string>;
	starts_at: string;
	generator_url: string | undefined;
	occurrences: number;
	kb_incident_id: string | undefined;
	raw: unknown;
	payload_path: string[] | undefined;
}

/**
 * What every alert of one webhook request shares. It goes to the upsert once per request, not in
 * every row: a quarter of each row's JSON was these fields, repeated.
 */
export interface FiringRequest {
	/** When the request came: its new alerts' first and last seen. */
	seenAt: Date;
	/** Who sent it (its alerts' `created_by`). */
	actor: string;
	source: AlertSource;
	/** Its body, kept once for all its alerts (absent when each row carries its own `raw`). */
	payload?: WebhookPayload;
}

/**
 * One request's new firing alerts, ready for the upsert: the rows are serialized already. A request
 * waits for its batch's statement for tens of milliseconds during a storm; holding its rows as JSON
 * bytes instead of objects (and the request's parsed body behind them) keeps the young generation
 * small, and the bytes lie outside the JS heap (ADR 0008).
 */
export interface FiringWrite {
	request: FiringRequest;
	/** The rows' fingerprints, in order, distinct. */
	fingerprints: string[];
	/** The rows as a JSON array, in UTF-8: off the JS heap while the request waits, as its body is. */
	rowsJson: Buffer;
}

/** Serializes a request's rows for the upsert (`rows` must have distinct fingerprints). */
export function firingWrite(request: FiringRequest, rows: FiringRow[]): FiringWrite {
	return { request, fingerprints: rows.map((row) => row.fingerprint), rowsJson: Buffer.from(jsonText(rows)) };
}

const tables = (db: Db, schema: string): Kysely<AlertTables> => db.withSchema(schema).withTables<AlertTables>();

const alertFromRow = (row: Selectable<AlertTables["alerts"]>): Alert => ({
	id: row.id,
	source: row.source,
	fingerprint: row.fingerprint,
	status: row.status,
	severity: row.severity,
	title: row.title,
	description: row.description,
	labels: row.labels,
	annotations: row.annotations,
	startsAt: row.starts_at,
	endsAt: row.ends_at,
	generatorUrl: row.generator_url,
	occurrences: row.occurrences,
	firstSeenAt: row.first_seen_at,
	lastSeenAt: row.last_seen_at,
	acknowledgedAt: row.acknowledged_at,
	acknowledgedBy: row.acknowledged_by,
	resolvedAt: row.resolved_at,
	resolvedBy: row.resolved_by,
	resolutionNotes: row.resolution_notes,
	kbIncidentId: row.kb_incident_id,
	raw: row.raw,
});

/**
 * jsonb refuses the NUL character, which a sender may put into a field we don't validate.
 * The raw payload is kept for humans, so a replacement character is a faithful enough copy.
 */
function jsonText(value: unknown): string {
	const text = JSON.stringify(value);
	// The scan is for the rare payload with a NUL; the replace would copy every large batch.
	if (!text.includes("\\u0000")) return text;
	// An escaped NUL is `\\u0000` after an even number of backslashes; after an odd number it is literal text.
	return text.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, "$1\\ufffd");
}

const jsonb = (value: unknown): RawBuilder<unknown> => sql`${jsonText(value)}::jsonb`;

export interface UpsertResult {
	id: string;
	fingerprint: string;
	severity: Severity;
	status: AlertStatus;
	/** True when this write opened a new alert; false when it counted a repeat of an open one. */
	inserted: boolean;
}

/**
 * A webhook's request body, kept verbatim once for all its alerts (migration 0015): the alerts
 * point at their objects in it instead of each storing a copy. It was received when its request
 * was seen.
 */
export interface WebhookPayload {
	id: string;
	body: Buffer;
}

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** A statement's text for each tenant schema (given quoted), built on first use and kept. */
function textPerSchema(build: (quotedSchema: string) => string): (schema: string) => string {
	const texts = new Map<string, string>();
	return (schema) => {
		let text = texts.get(schema);
		if (text === undefined) {
			text = build(quoteIdent(schema));
			texts.set(schema, text);
		}
		return text;
	};
}

/**
 * The upsert after the kept bodies. The rows arrive as one JSON parameter (`json_to_recordset`),
 * what their requests share as four arrays ($2–$5) indexed by each row's request ($6, by the row's
 * ordinality), so this text never depends on the batch: the same statement whatever its size.
 * json, not jsonb: json is only checked, where jsonb would build and sort the whole batch, and
 * since the raw payloads left the rows (migration 0015) only the label maps are parsed into jsonb
 * (PostgreSQL's CPU per alert −8% in bench:ingest; while every row carried its raw payload, jsonb
 * had been 8% faster). Rows go in fingerprint order so concurrent batches take the unique index's
 * locks in the same order and cannot deadlock.
 */
const upsertSqlFor = textPerSchema(
	(s) => `
input as (
	select r.*, ($2::timestamptz[])[q.request] as seen_at, ($3::text[])[q.request] as actor,
		($4::text[])[q.request] as source, ($5::uuid[])[q.request] as payload_id
	from rows from (json_to_recordset($1::json) as (
		fingerprint text, severity text, title text, description text, labels jsonb,
		annotations jsonb, starts_at timestamptz, generator_url text, occurrences integer,
		kb_incident_id uuid, raw jsonb, payload_path text[])) with ordinality as r
	cross join lateral (select ($6::int[])[r.ordinality] as request) as q
),
up as (
	insert into ${s}.alerts as a (source, fingerprint, status, severity, title, description, labels, annotations,
		starts_at, generator_url, occurrences, first_seen_at, last_seen_at, kb_incident_id, raw, payload_id,
		payload_path, created_by)
	select source, fingerprint, 'firing', severity, title, description, labels, annotations,
		starts_at, generator_url, occurrences, seen_at, seen_at, kb_incident_id, raw, payload_id, payload_path, actor
	from input order by fingerprint
	on conflict (fingerprint) where status <> 'resolved' do update set
		occurrences = a.occurrences + excluded.occurrences,
		-- As for a counted repeat (addOccurrences): it moves once it is a second behind, never back.
		last_seen_at = case when a.last_seen_at <= excluded.last_seen_at - interval '1 second'
			then excluded.last_seen_at else a.last_seen_at end,
		-- The newest text is the most useful (a value in a description may have changed).
		title = excluded.title, description = excluded.description, annotations = excluded.annotations,
		raw = excluded.raw, payload_id = excluded.payload_id, payload_path = excluded.payload_path
	returning a.id, a.fingerprint, a.severity, a.status, (a.xmax = 0) as inserted
)
select * from up`,
);

/** Parameters before the kept bodies' (see `upsertSqlFor`). */
const sharedParameters = 6;

/**
 * The statement's first part, when bodies are kept: each body is its own parameter after the
 * requests' ($7, $8, $9 for the first), so it is never escaped into the rows' JSON or parsed. It is
 * bytes, which pg sends in binary format: for a text column, that is the text itself.
 */
function payloadsSql(schema: string, payloads: number): string {
	if (payloads === 0) return "";
	const values = Array.from({ length: payloads }, (_, i) => {
		const p = sharedParameters + 3 * i;
		return `($${p + 1}::uuid, $${p + 2}::timestamptz, $${p + 3})`;
	});
	return `kept as (
	insert into ${quoteIdent(schema)}.webhook_payloads (id, received_at, body) values ${values.join(", ")}
),`;
}

/** The JSON arrays of several requests' rows as one. */
function concatenatedRows(writes: FiringWrite[]): Buffer {
	if (writes.length === 1) return writes[0]!.rowsJson;
	const parts = writes.flatMap((write) => [COMMA, write.rowsJson.subarray(1, -1)]);
	parts[0] = OPEN;
	return Buffer.concat([...parts, CLOSE]);
}

const [OPEN, COMMA, CLOSE] = ["[", ",", "]"].map((text) => Buffer.from(text)) as [Buffer, Buffer, Buffer];

/**
 * Opens an alert per row, or counts a repeat of the open alert with the same fingerprint, and
 * keeps the webhook bodies the rows point at, in one statement: atomic without a transaction, one
 * round trip. Returns each write's results, its rows' in order.
 * The partial unique index \`alerts_open_fingerprint_key\` makes concurrent deliveries of the same
 * alert safe. \`xmax = 0\` tells an inserted row from an updated one
 * (https://www.postgresql.org/docs/current/sql-insert.html#SQL-ON-CONFLICT).
 * The rows of all writes must have distinct fingerprints.
 */
export async function upsertFiring(trx: Db, schema: string, writes: FiringWrite[]): Promise<UpsertResult[][]> {
	const requests = writes.filter((write) => write.fingerprints.length > 0);
	if (requests.length === 0) return writes.map(() => []);
	const shared = requests.map((write) => write.request);
	const seenAt = shared.map((request) => request.seenAt.toISOString());
	const requestOfRow = requests.flatMap((write, i) => write.fingerprints.map(() => i + 1));
	const parameters: unknown[] = [
		concatenatedRows(requests),
		seenAt,
		shared.map((request) => request.actor),
		shared.map((request) => request.source),
		shared.map((request) => request.payload?.id ?? null),
		requestOfRow,
	];
	let payloads = 0;
	shared.forEach(({ payload }, i) => {
		if (!payload) return;
		parameters.push(payload.id, seenAt[i], payload.body);
		payloads++;
	});
	const { rows: written } = await trx.executeQuery<UpsertResult>(
		CompiledQuery.raw(`with ${payloadsSql(schema, payloads)}${upsertSqlFor(schema)}`, parameters),
	);
	const byFingerprint = new Map(written.map((row) => [row.fingerprint, row]));
	return writes.map((write) => write.fingerprints.map((fingerprint) => byFingerprint.get(fingerprint)!));
}

/**
 * Counts repeats of open alerts by id. Returns the ids it counted (an alert closed meanwhile is not).
 *
 * The hot path of an alert storm, so three things make it cheap for PostgreSQL (ADR 0008):
 * - `last_seen_at` moves only once it is a second behind: an UPDATE that changes no indexed column
 *   is a HOT update, which writes none of the alert's five indexes (1.5× the updates per second).
 *   So a repeat's `last_seen_at` is exact to the second.
 * - The transaction commits without waiting for its WAL flush (`synchronous_commit` off for it
 *   alone): a PostgreSQL crash can lose the last fraction of a second of counts, never an alert.
 *   The statement sets it for its own implicit transaction, so it stays one round trip.
 * - Its text is the same for any batch (the ids and counts are two arrays), so it is a prepared
 *   statement, parsed and planned once per connection.
 * Concurrent statements over the same alerts must take their rows' locks in the same order, or they
 * can deadlock. A join promises no order: over a small table PostgreSQL scans the table and meets
 * the rows where they lie, which each update moves. So this statement, and those that resolve and
 * acknowledge by fingerprint, lock their rows first in fingerprint order, as the upsert does. That
 * costs PostgreSQL ~30% more per counting statement (13 alerts of 20,000; one connection). Finding
 * the locked rows again by `ctid` instead of by id was cheaper, and lost counts: a row updated by
 * another transaction since this statement's snapshot is locked in its new version, and the update
 * then fails `ctid = locked.ctid` on it (store.test.ts caught it).
 */
export async function addOccurrences(
	db: Db,
	schema: string,
	counts: { id: string; count: number }[],
	at: Date,
): Promise<string[]> {
	if (counts.length === 0) return [];
	const { rows } = await db.executeQuery<{ id: string }>(
		CompiledQuery.raw(countSqlFor(schema), [counts.map((c) => c.id), counts.map((c) => c.count), at.toISOString()]),
	);
	return rows.map((row) => row.id);
}

const countSqlFor = textPerSchema((s) =>
	prepared(`
		with locked as materialized (
			select id from ${s}.alerts
			where id = any($1::uuid[]) and status <> 'resolved'
			order by fingerprint
			for no key update
		)
		update ${s}.alerts as a
		set occurrences = a.occurrences + v.n,
			last_seen_at = case when a.last_seen_at <= $3::timestamptz - interval '1 second'
				then $3::timestamptz else a.last_seen_at end
		from unnest($1::uuid[], $2::int[]) as v(id, n), locked,
			(select set_config('synchronous_commit', 'off', true)) as relaxed
		where a.id = v.id and a.id = locked.id
		returning a.id`),
);

/** Closes the open alerts with these fingerprints. Returns those it closed. */
export async function resolveOpenByFingerprint(
	trx: Db,
	schema: string,
	/** `endsAt`: RFC 3339 text, as the sender wrote it. */
	items: { fingerprint: string; endsAt: string | null }[],
	at: Date,
	by: string,
): Promise<Alert[]> {
	if (items.length === 0) return [];
	const values = sql.join(items.map((i) => sql`(${i.fingerprint}::text, ${i.endsAt}::timestamptz)`));
	const { rows } = await sql<Selectable<AlertTables["alerts"]>>`
		with ${lockedInFingerprintOrder(
			schema,
			items.map((i) => i.fingerprint),
			sql`status <> 'resolved'`,
		)}
		update ${sql.id(schema, "alerts")} as a
		set status = 'resolved', ends_at = coalesce(v.ends_at, ${at}), resolved_at = ${at},
			resolved_by = ${by}, last_seen_at = ${at}
		from (values ${values}) as v(fingerprint, ends_at), locked
		where a.fingerprint = v.fingerprint and a.id = locked.id
		returning a.*`.execute(trx);
	return rows.map(alertFromRow);
}

/** Links an alert to the knowledge-base entry it turned out to be. */
export async function linkIncident(db: Db, schema: string, alertId: string, incidentId: string): Promise<void> {
	await tables(db, schema)
		.updateTable("alerts")
		.set({ kb_incident_id: incidentId, kb_learned: true })
		.where("id", "=", alertId)
		.execute();
}

/** What the admin statistics say about a tenant's alerts first seen in [since, until). */
export interface AlertStats {
	total: number;
	bySeverity: Record<string, number>;
	bySource: Record<string, number>;
	/** Mean seconds from first seen to acknowledged, over the acknowledged ones; null when none. */
	meanTimeToAcknowledgeSeconds: number | null;
	/** Mean seconds from first seen to resolved, over the resolved ones. */
	meanTimeToResolveSeconds: number | null;
	/** Share of alerts that arrived with a known fix (0–1); null when there were no alerts. */
	knowledgeBaseHitRate: number | null;
}

export async function alertStats(db: Db, schema: string, since: Date, until: Date): Promise<AlertStats> {
	const alerts = sql.id(schema, "alerts");
	const window = sql`first_seen_at >= ${since} and first_seen_at < ${until}`;
	const [{ rows: totals }, { rows: groups }] = await Promise.all([
		sql<{ total: string; mtta: number | null; mttr: number | null; hits: string }>`
			select count(*) as total,
				avg(extract(epoch from acknowledged_at - first_seen_at))::float8 as mtta,
				avg(extract(epoch from resolved_at - first_seen_at))::float8 as mttr,
				count(*) filter (where kb_incident_id is not null and not kb_learned) as hits
			from ${alerts} where ${window}`.execute(db),
		sql<{ severity: string | null; source: string | null; n: string }>`
			select severity, source, count(*) as n from ${alerts} where ${window}
			group by grouping sets ((severity), (source))`.execute(db),
	]);
	const row = totals[0]!;
	const total = Number(row.total);
	const bySeverity: Record<string, number> = {};
	const bySource: Record<string, number> = {};
	for (const group of groups) {
		if (group.severity !== null) bySeverity[group.severity] = Number(group.n);
		if (group.source !== null) bySource[group.source] = Number(group.n);
	}
	const rounded = (seconds: number | null) => (seconds === null ? null : Math.round(seconds * 10) / 10);
	return {
		total,
		bySeverity,
		bySource,
		meanTimeToAcknowledgeSeconds: rounded(row.mtta),
		meanTimeToResolveSeconds: rounded(row.mttr),
		knowledgeBaseHitRate: total === 0 ? null : Math.round((Number(row.hits) / total) * 1000) / 1000,
	};
}

/** Acknowledges the firing alerts with these fingerprints (senders such as PagerDuty's API). */
export async function acknowledgeOpenByFingerprint(
	trx: Db,
	schema: string,
	fingerprints: string[],
	at: Date,
	by: string,
): Promise<{ id: string; fingerprint: string }[]> {
	if (fingerprints.length === 0) return [];
	const { rows } = await sql<{ id: string; fingerprint: string }>`
		with ${lockedInFingerprintOrder(schema, fingerprints, sql`status = 'firing'`)}
		update ${sql.id(schema, "alerts")} as a
		set status = 'acknowledged', acknowledged_at = ${at}, acknowledged_by = ${by}
		from locked
		where a.id = locked.id
		returning a.id, a.fingerprint`.execute(trx);
	return rows;
}

/**
 * `locked`: the ids of the alerts with these fingerprints that match `condition`, locked in
 * fingerprint order, the order every statement that writes alerts in batches takes its locks in
 * (see {@link addOccurrences}).
 */
function lockedInFingerprintOrder(schema: string, fingerprints: string[], condition: RawBuilder<unknown>) {
	return sql`locked as materialized (
		select id from ${sql.id(schema, "alerts")}
		where fingerprint = any(${textArray(fingerprints)}) and ${condition}
		order by fingerprint
		for no key update
	)`;
}

export async function insertEvents(
	trx: Db,
	schema: string,
	events: { alertId: string; type: AlertEventType; at: Date; actor: string | null; details?: unknown }[],
): Promise<void> {
	if (events.length === 0) return;
	await tables(trx, schema)
		.insertInto("alert_events")
		.values(
			events.map((e) => ({
				alert_id: e.alertId,
				type: e.type,
				at: e.at,
				actor: e.actor,
				details: jsonb(e.details ?? {}),
			})),
		)
		.execute();
}

export async function findAlerts(db: Db, schema: string, ids: string[]): Promise<Alert[]> {
	if (ids.length === 0) return [];
	const rows = await tables(db, schema).selectFrom("alerts").selectAll().where("id", "in", ids).execute();
	return rows.map(alertFromRow);
}

/** The alert, with its original object (from its kept webhook body, where it lies there). */
export async function findAlert(db: Db, schema: string, id: string): Promise<Alert | undefined> {
	const row = await tables(db, schema)
		.selectFrom("alerts as a")
		.leftJoin("webhook_payloads as p", "p.id", "a.payload_id")
		.selectAll("a")
		.select("p.body as kept_body")
		.where("a.id", "=", id)
		.executeTakeFirst();
	if (!row) return undefined;
	const { kept_body, ...alert } = row;
	return alertFromRow({ ...alert, raw: alert.raw ?? objectAt(kept_body, alert.payload_path) });
}

/**
 * The alert's object in its kept webhook body. Parsed here, not with PostgreSQL's `::jsonb #>`:
 * JSON allows a NUL (`\u0000`) in a field no receiver checks, and jsonb refuses it, which would
 * make the alert unreadable.
 */
function objectAt(body: string | null, path: string[] | null): unknown {
	if (body === null || path === null) return null;
	let value: unknown = JSON.parse(body);
	for (const key of path) value = (value as Record<string, unknown> | null | undefined)?.[key];
	return value ?? null;
}

/** The alert, locked for a status change in the caller's transaction. */
export async function findAlertForUpdate(trx: Db, schema: string, id: string): Promise<Alert | undefined> {
	const row = await tables(trx, schema)
		.selectFrom("alerts")
		.selectAll()
		.where("id", "=", id)
		.forUpdate()
		.executeTakeFirst();
	return row && alertFromRow(row);
}

export async function updateAlertStatus(
	trx: Db,
	schema: string,
	id: string,
	change:
		| { status: "acknowledged"; at: Date; by: string }
		| { status: "resolved"; at: Date; by: string; notes: string | null },
): Promise<Alert> {
	const set =
		change.status === "acknowledged"
			? { status: change.status, acknowledged_at: change.at, acknowledged_by: change.by }
			: {
					status: change.status,
					resolved_at: change.at,
					resolved_by: change.by,
					resolution_notes: change.notes,
					ends_at: change.at,
				};
	const row = await tables(trx, schema)
		.updateTable("alerts")
		.set(set)
		.where("id", "=", id)
		.returningAll()
		.executeTakeFirstOrThrow();
	return alertFromRow(row);
}

/** The "deduplicated" entry's id: one per alert, the same on every read (a name-based UUID). */
const repeatsEntryId = (alertId: string) => uuidv5(`${alertId}/deduplicated`, timelineNamespace);
/** OpsWatch's own namespace for the ids of timeline entries read from an alert's row. */
const timelineNamespace = "fd13b1eb-583c-497d-a7db-f07e27d832b1";

/**
 * An alert's timeline, oldest first. Its "created" entry is read from the alert row (first seen, by
 * whom), unless the alert predates that and has the entry stored. So is its "deduplicated" entry:
 * repeats are counted on the row, not written one event each, and the entry says how many there
 * were (`details.repeats`) and when the last came (`at`, to the second).
 */
export async function listEvents(db: Db, schema: string, alertId: string): Promise<AlertEvent[]> {
	const { rows } = await sql<{
		id: string;
		alert_id: string;
		at: Date;
		type: AlertEventType;
		actor: string | null;
		details: unknown;
		rank: number;
	}>`
		select a.id, a.id as alert_id, a.first_seen_at as at, 'created' as type, a.created_by as actor,
			'{}'::jsonb as details, 0 as rank
		from ${sql.id(schema, "alerts")} a
		where a.id = ${alertId} and a.created_by is not null
		union all
		select a.id, a.id as alert_id, a.last_seen_at as at, 'deduplicated' as type, null as actor,
			jsonb_build_object('repeats', a.occurrences - 1) as details, 2 as rank
		from ${sql.id(schema, "alerts")} a
		where a.id = ${alertId} and a.occurrences > 1
		union all
		select e.id, e.alert_id, e.at, e.type, e.actor, e.details, 1 as rank
		from ${sql.id(schema, "alert_events")} e
		where e.alert_id = ${alertId}
		order by at, rank, id`.execute(db);
	return rows.map((row) => ({
		id: row.rank === 2 ? repeatsEntryId(row.alert_id) : row.id,
		alertId: row.alert_id,
		at: row.at,
		type: row.type,
		actor: row.actor,
		details: row.details,
	}));
}

/** How a list of alerts is ordered: ties by last activity (severity, occurrences), then by id. */
export const alertSorts = ["last_seen", "first_seen", "severity", "occurrences"] as const;
export type AlertSort = (typeof alertSorts)[number];
export const sortOrders = ["desc", "asc"] as const;
export type SortOrder = (typeof sortOrders)[number];

/** Critical 5 … info 1: the severity sort's key, in SQL and for an alert's cursor. */
const severityRank = (severity: Severity) => severities.length - severities.indexOf(severity);
const severityRankSql = sql<number>`array_position(${sql.raw(
	`array[${severities.toReversed().map((severity) => `'${severity}'`)}]::text[]`,
)}, severity)`;

/**
 * Each sort's keyset before the id: its columns, all ordered in the request's direction, so that
 * one row comparison continues a page after the cursor's values.
 */
export const sortKeys: Record<
	AlertSort,
	{ sql: RawBuilder<unknown>; type: "timestamptz" | "int"; of: (alert: Alert) => Date | number }[]
> = {
	last_seen: [{ sql: sql`last_seen_at`, type: "timestamptz", of: (a) => a.lastSeenAt }],
	first_seen: [{ sql: sql`first_seen_at`, type: "timestamptz", of: (a) => a.firstSeenAt }],
	severity: [
		{ sql: severityRankSql, type: "int", of: (a) => severityRank(a.severity) },
		{ sql: sql`last_seen_at`, type: "timestamptz", of: (a) => a.lastSeenAt },
	],
	occurrences: [
		{ sql: sql`occurrences`, type: "int", of: (a) => a.occurrences },
		{ sql: sql`last_seen_at`, type: "timestamptz", of: (a) => a.lastSeenAt },
	],
};

export interface AlertFilter {
	status?: AlertStatus[];
	severity?: Severity[];
	source?: AlertSource[];
	/** Every pair must match a label exactly. */
	labels?: Record<string, string>;
	/** Case-insensitive substring of title or description. */
	text?: string;
	/** Last activity at or after `since`, before `until`. */
	since?: Date;
	until?: Date;
	sort: AlertSort;
	order: SortOrder;
	/** Continue after the alert with these sort keys (`sortKeys[sort]`) and this id. */
	after?: { keys: (Date | number)[]; id: string };
	limit: number;
}

/** In the filter's order, keyset-paginated so pages stay stable while alerts arrive. */
export async function listAlerts(db: Db, schema: string, filter: AlertFilter): Promise<Alert[]> {
	let query = tables(db, schema).selectFrom("alerts").selectAll();
	if (filter.status?.length) query = query.where("status", "in", filter.status);
	if (filter.severity?.length) query = query.where("severity", "in", filter.severity);
	if (filter.source?.length) query = query.where("source", "in", filter.source);
	if (filter.labels && Object.keys(filter.labels).length > 0) {
		query = query.where(sql<boolean>`labels @> ${jsonb(filter.labels)}`);
	}
	if (filter.text) {
		const pattern = `%${filter.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
		query = query.where((eb) => eb.or([eb("title", "ilike", pattern), eb("description", "ilike", pattern)]));
	}
	if (filter.since) query = query.where("last_seen_at", ">=", filter.since);
	if (filter.until) query = query.where("last_seen_at", "<", filter.until);
	const keys = sortKeys[filter.sort];
	if (filter.after) {
		const { keys: values, id } = filter.after;
		const columns = sql.join([...keys.map((key) => key.sql), sql`id`]);
		const after = sql.join([...keys.map((key, i) => sql`${values[i]}::${sql.raw(key.type)}`), sql`${id}::uuid`]);
		query = query.where(sql<boolean>`(${columns}) ${sql.raw(filter.order === "desc" ? "<" : ">")} (${after})`);
	}
	for (const key of keys) query = query.orderBy(key.sql, filter.order);
	const rows = await query.orderBy("id", filter.order).limit(filter.limit).execute();
	return rows.map(alertFromRow);
}
