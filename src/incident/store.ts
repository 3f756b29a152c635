import { type ColumnType, type Generated, type Kysely, type RawBuilder, type Selectable, sql } from "kysely";
import type { LabelMatcher, Severity } from "../alert/index.ts";
import { type Db, jsonb, textArray, uuidArray } from "../platform/db/index.ts";
import type { Incident, IncidentInput, IncidentSource, IncidentVersion, KbPrompt } from "./types.ts";

type Json<T> = ColumnType<T, RawBuilder<unknown>, RawBuilder<unknown>>;

/** The tenant-schema tables this store owns. */
export type IncidentTables = {
	incidents: {
		id: Generated<string>;
		title: string;
		fingerprints: string[];
		matchers: Json<LabelMatcher[]>;
		symptoms: string;
		root_cause: string;
		solution: string;
		runbook_ids: string[];
		tags: string[];
		severity: Severity | null;
		source: IncidentSource;
		needs_review: boolean;
		merged_into: string | null;
		version: Generated<number>;
		created_by: string;
		updated_by: string;
		created_at: Generated<Date>;
		updated_at: Generated<Date>;
		times_seen: Generated<number>;
		last_seen_at: Date | null;
		acknowledged_count: Generated<number>;
		acknowledge_seconds_total: Generated<number>;
		resolved_count: Generated<number>;
		resolve_seconds_total: Generated<number>;
	};
	incident_versions: {
		incident_id: string;
		version: number;
		action: IncidentVersion["action"];
		snapshot: Json<Record<string, unknown>>;
		changes: Json<IncidentVersion["changes"]>;
		changed_by: string;
		changed_at: Date;
	};
	kb_prompts: {
		id: Generated<string>;
		alert_id: string;
		fingerprint: string;
		title: string;
		labels: Json<Record<string, string>>;
		resolved_by: string;
		resolution_notes: string | null;
		status: Generated<KbPrompt["status"]>;
		incident_id: string | null;
		created_at: Generated<Date>;
	};
};

type IncidentRow = Selectable<IncidentTables["incidents"]>;

export const tables = (db: Db, schema: string): Kysely<IncidentTables> =>
	db.withSchema(schema).withTables<IncidentTables>();

/** The columns every read selects: all but the search vector, which is the database's business. */
export const incidentColumns = [
	"id",
	"title",
	"fingerprints",
	"matchers",
	"symptoms",
	"root_cause",
	"solution",
	"runbook_ids",
	"tags",
	"severity",
	"source",
	"needs_review",
	"merged_into",
	"version",
	"created_by",
	"updated_by",
	"created_at",
	"updated_at",
	"times_seen",
	"last_seen_at",
	"acknowledged_count",
	"acknowledge_seconds_total",
	"resolved_count",
	"resolve_seconds_total",
] as const;

const mean = (total: number, count: number) => (count > 0 ? Math.round(total / count) : null);

export const incidentFromRow = (row: IncidentRow): Incident => ({
	id: row.id,
	title: row.title,
	fingerprints: row.fingerprints,
	matchers: row.matchers,
	symptoms: row.symptoms,
	rootCause: row.root_cause,
	solution: row.solution,
	runbookIds: row.runbook_ids,
	tags: row.tags,
	severity: row.severity,
	source: row.source,
	needsReview: row.needs_review,
	mergedInto: row.merged_into,
	version: row.version,
	createdBy: row.created_by,
	updatedBy: row.updated_by,
	createdAt: row.created_at,
	updatedAt: row.updated_at,
	stats: {
		timesSeen: row.times_seen,
		lastSeenAt: row.last_seen_at,
		meanTimeToAcknowledgeSeconds: mean(row.acknowledge_seconds_total, row.acknowledged_count),
		meanTimeToResolveSeconds: mean(row.resolve_seconds_total, row.resolved_count),
	},
});

const writable = (input: IncidentInput) => ({
	title: input.title,
	fingerprints: textArray(input.fingerprints),
	matchers: jsonb(input.matchers),
	symptoms: input.symptoms,
	root_cause: input.rootCause,
	solution: input.solution,
	runbook_ids: uuidArray(input.runbookIds),
	tags: textArray(input.tags),
	severity: input.severity,
});

export async function insertIncident(
	db: Db,
	schema: string,
	input: IncidentInput,
	meta: { source: IncidentSource; needsReview: boolean; by: string; at: Date },
): Promise<Incident> {
	const row = await tables(db, schema)
		.insertInto("incidents")
		.values({
			...writable(input),
			source: meta.source,
			needs_review: meta.needsReview,
			merged_into: null,
			created_by: meta.by,
			updated_by: meta.by,
			created_at: meta.at,
			updated_at: meta.at,
			last_seen_at: null,
		})
		.returning(incidentColumns)
		.executeTakeFirstOrThrow();
	return incidentFromRow(row);
}

/** Applies the change only at `version` (optimistic concurrency); undefined when it moved on. */
export async function updateIncident(
	db: Db,
	schema: string,
	id: string,
	version: number,
	input: IncidentInput & { needsReview: boolean },
	by: string,
	at: Date,
): Promise<Incident | undefined> {
	const row = await tables(db, schema)
		.updateTable("incidents")
		.set((eb) => ({
			...writable(input),
			needs_review: input.needsReview,
			updated_by: by,
			updated_at: at,
			version: eb("version", "+", 1),
		}))
		.where("id", "=", id)
		.where("version", "=", version)
		.where("merged_into", "is", null)
		.returning(incidentColumns)
		.executeTakeFirst();
	return row && incidentFromRow(row);
}

export async function findIncident(
	db: Db,
	schema: string,
	id: string,
	options: { forUpdate?: boolean } = {},
): Promise<Incident | undefined> {
	let query = tables(db, schema).selectFrom("incidents").select(incidentColumns).where("id", "=", id);
	if (options.forUpdate) query = query.forUpdate();
	const row = await query.executeTakeFirst();
	return row && incidentFromRow(row);
}

export interface IncidentFilter {
	tag?: string;
	source?: IncidentSource;
	needsReview?: boolean;
	/** Newest first; continue after this (updated_at, id). */
	after?: { updatedAt: Date; id: string };
	limit: number;
}

/** Active entries (merged ones are reachable by id only), newest change first, keyset-paginated. */
export async function listIncidents(db: Db, schema: string, filter: IncidentFilter): Promise<Incident[]> {
	let query = tables(db, schema).selectFrom("incidents").select(incidentColumns).where("merged_into", "is", null);
	if (filter.tag) query = query.where(sql<boolean>`tags @> ${textArray([filter.tag])}`);
	if (filter.source) query = query.where("source", "=", filter.source);
	if (filter.needsReview !== undefined) query = query.where("needs_review", "=", filter.needsReview);
	if (filter.after) {
		const { updatedAt, id } = filter.after;
		query = query.where(sql<boolean>`(updated_at, id) < (${updatedAt}, ${id}::uuid)`);
	}
	const rows = await query.orderBy("updated_at", "desc").orderBy("id", "desc").limit(filter.limit).execute();
	return rows.map(incidentFromRow);
}

/** Active entries that claim any of these fingerprints, other than `except`. */
export async function findByFingerprints(
	db: Db,
	schema: string,
	fingerprints: string[],
	except?: string,
): Promise<Incident[]> {
	if (fingerprints.length === 0) return [];
	let query = tables(db, schema)
		.selectFrom("incidents")
		.select(incidentColumns)
		.where(sql<boolean>`fingerprints && ${textArray(fingerprints)}`)
		.where("merged_into", "is", null);
	if (except) query = query.where("id", "<>", except);
	return (await query.orderBy("created_at").execute()).map(incidentFromRow);
}

/** Active entries with label matchers (the enrichment's second step, evaluated in memory). */
export async function listWithMatchers(db: Db, schema: string): Promise<Incident[]> {
	const rows = await tables(db, schema)
		.selectFrom("incidents")
		.select(incidentColumns)
		.where("merged_into", "is", null)
		.where(sql<boolean>`jsonb_array_length(matchers) > 0`)
		.orderBy("created_at")
		.execute();
	return rows.map(incidentFromRow);
}

export async function countActive(db: Db, schema: string): Promise<number> {
	const row = await tables(db, schema)
		.selectFrom("incidents")
		.select((eb) => eb.fn.countAll<string>().as("n"))
		.where("merged_into", "is", null)
		.executeTakeFirstOrThrow();
	return Number(row.n);
}

/** Moves the source's fingerprints and stats onto the target and points the source at it. */
export async function mergeInto(db: Db, schema: string, source: Incident, targetId: string, by: string, at: Date) {
	const t = tables(db, schema);
	const target = await t
		.updateTable("incidents")
		.set((eb) => ({
			fingerprints: sql<
				string[]
			>`(select coalesce(array_agg(distinct f order by f), '{}') from unnest(fingerprints || ${textArray(source.fingerprints)}) as f)`,
			tags: sql<
				string[]
			>`(select coalesce(array_agg(distinct t order by t), '{}') from unnest(tags || ${textArray(source.tags)}) as t)`,
			times_seen: eb("times_seen", "+", source.stats.timesSeen),
			last_seen_at: sql<Date | null>`greatest(last_seen_at, ${source.stats.lastSeenAt})`,
			acknowledged_count: sql<number>`acknowledged_count + (select acknowledged_count from ${sql.id(schema, "incidents")} where id = ${source.id})`,
			acknowledge_seconds_total: sql<number>`acknowledge_seconds_total + (select acknowledge_seconds_total from ${sql.id(schema, "incidents")} where id = ${source.id})`,
			resolved_count: sql<number>`resolved_count + (select resolved_count from ${sql.id(schema, "incidents")} where id = ${source.id})`,
			resolve_seconds_total: sql<number>`resolve_seconds_total + (select resolve_seconds_total from ${sql.id(schema, "incidents")} where id = ${source.id})`,
			updated_by: by,
			updated_at: at,
			version: eb("version", "+", 1),
		}))
		.where("id", "=", targetId)
		.returning(incidentColumns)
		.executeTakeFirstOrThrow();
	const merged = await t
		.updateTable("incidents")
		.set((eb) => ({
			merged_into: targetId,
			fingerprints: textArray([]),
			matchers: jsonb([]),
			times_seen: 0,
			last_seen_at: null,
			acknowledged_count: 0,
			acknowledge_seconds_total: 0,
			resolved_count: 0,
			resolve_seconds_total: 0,
			updated_by: by,
			updated_at: at,
			version: eb("version", "+", 1),
		}))
		.where("id", "=", source.id)
		.returning(incidentColumns)
		.executeTakeFirstOrThrow();
	// Entries merged into the source earlier now point at the target directly.
	await t.updateTable("incidents").set({ merged_into: targetId }).where("merged_into", "=", source.id).execute();
	return { target: incidentFromRow(target), merged: incidentFromRow(merged) };
}

/** Adds one resolved occurrence to an entry's stats. */
export async function recordOccurrence(
	db: Db,
	schema: string,
	id: string,
	occurrence: { seenAt: Date; acknowledgeSeconds: number | null; resolveSeconds: number },
): Promise<void> {
	const { seenAt, acknowledgeSeconds, resolveSeconds } = occurrence;
	await tables(db, schema)
		.updateTable("incidents")
		.set((eb) => ({
			times_seen: eb("times_seen", "+", 1),
			last_seen_at: sql<Date>`greatest(last_seen_at, ${seenAt})`,
			acknowledged_count: eb("acknowledged_count", "+", acknowledgeSeconds === null ? 0 : 1),
			acknowledge_seconds_total: eb("acknowledge_seconds_total", "+", acknowledgeSeconds ?? 0),
			resolved_count: eb("resolved_count", "+", 1),
			resolve_seconds_total: eb("resolve_seconds_total", "+", resolveSeconds),
		}))
		.where("id", "=", id)
		.execute();
}

export async function insertVersion(db: Db, schema: string, version: IncidentVersion): Promise<void> {
	await tables(db, schema)
		.insertInto("incident_versions")
		.values({
			incident_id: version.incidentId,
			version: version.version,
			action: version.action,
			snapshot: jsonb(version.snapshot),
			changes: jsonb(version.changes),
			changed_by: version.changedBy,
			changed_at: version.changedAt,
		})
		.execute();
}

/** The entry's versions and those of every entry merged into it, oldest first. */
export async function listVersions(db: Db, schema: string, id: string): Promise<IncidentVersion[]> {
	const t = tables(db, schema);
	const rows = await t
		.selectFrom("incident_versions")
		.selectAll()
		.where((eb) =>
			eb.or([
				eb("incident_id", "=", id),
				eb("incident_id", "in", t.selectFrom("incidents").select("id").where("merged_into", "=", id)),
			]),
		)
		.orderBy("changed_at")
		.orderBy("version")
		.execute();
	return rows.map((row) => ({
		incidentId: row.incident_id,
		version: row.version,
		action: row.action,
		snapshot: row.snapshot,
		changes: row.changes,
		changedBy: row.changed_by,
		changedAt: row.changed_at,
	}));
}

const promptFromRow = (row: Selectable<IncidentTables["kb_prompts"]>): KbPrompt => ({
	id: row.id,
	alertId: row.alert_id,
	fingerprint: row.fingerprint,
	title: row.title,
	labels: row.labels,
	resolvedBy: row.resolved_by,
	resolutionNotes: row.resolution_notes,
	status: row.status,
	incidentId: row.incident_id,
	createdAt: row.created_at,
});

/** Records a prompt once per alert (a second resolution of the same alert adds nothing). */
export async function insertPrompt(
	db: Db,
	schema: string,
	prompt: Pick<KbPrompt, "alertId" | "fingerprint" | "title" | "labels" | "resolvedBy" | "resolutionNotes">,
): Promise<KbPrompt | undefined> {
	const row = await tables(db, schema)
		.insertInto("kb_prompts")
		.values({
			alert_id: prompt.alertId,
			fingerprint: prompt.fingerprint,
			title: prompt.title,
			labels: jsonb(prompt.labels),
			resolved_by: prompt.resolvedBy,
			resolution_notes: prompt.resolutionNotes,
			incident_id: null,
		})
		.onConflict((oc) => oc.column("alert_id").doNothing())
		.returningAll()
		.executeTakeFirst();
	return row && promptFromRow(row);
}

export async function listPrompts(db: Db, schema: string, status: KbPrompt["status"], limit: number) {
	const rows = await tables(db, schema)
		.selectFrom("kb_prompts")
		.selectAll()
		.where("status", "=", status)
		.orderBy("created_at", "desc")
		.limit(limit)
		.execute();
	return rows.map(promptFromRow);
}

export async function findPrompt(db: Db, schema: string, id: string): Promise<KbPrompt | undefined> {
	const row = await tables(db, schema)
		.selectFrom("kb_prompts")
		.selectAll()
		.where("id", "=", id)
		.forUpdate()
		.executeTakeFirst();
	return row && promptFromRow(row);
}

export async function findPendingPromptOfAlert(db: Db, schema: string, alertId: string): Promise<KbPrompt | undefined> {
	const row = await tables(db, schema)
		.selectFrom("kb_prompts")
		.selectAll()
		.where("alert_id", "=", alertId)
		.where("status", "=", "pending")
		.executeTakeFirst();
	return row && promptFromRow(row);
}

export async function closePrompt(
	db: Db,
	schema: string,
	id: string,
	status: "accepted" | "dismissed",
	incidentId: string | null,
): Promise<KbPrompt> {
	const row = await tables(db, schema)
		.updateTable("kb_prompts")
		.set({ status, incident_id: incidentId })
		.where("id", "=", id)
		.returningAll()
		.executeTakeFirstOrThrow();
	return promptFromRow(row);
}
