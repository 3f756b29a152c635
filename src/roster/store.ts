import type { ColumnType, Generated, Kysely, RawBuilder, Selectable } from "kysely";
import { sql } from "kysely";
import { type Db, jsonb, uuidArray } from "../platform/db/index.ts";
import type { Layer, Override, Restriction, ShiftUnit } from "./types.ts";

/** The tables this store owns: the tenant's rosters, and the public calendar-feed index. */
type RosterTables = {
	rosters: {
		id: Generated<string>;
		name: string;
		description: string;
		time_zone: string;
		version: Generated<number>;
		created_at: Generated<Date>;
		updated_at: Date;
	};
	roster_layers: {
		id: Generated<string>;
		roster_id: string;
		name: string;
		position: number;
		participants: ColumnType<string[], RawBuilder<string[]>, RawBuilder<string[]>>;
		shift_unit: ShiftUnit;
		shift_count: number;
		handoff_time: string;
		time_zone: string | null;
		starts_at: Date;
		restrictions: ColumnType<Restriction[], RawBuilder<unknown>, RawBuilder<unknown>>;
		calendar: ColumnType<
			{ memberId: string; start: string; end: string }[] | null,
			RawBuilder<unknown>,
			RawBuilder<unknown>
		>;
	};
	roster_overrides: {
		id: Generated<string>;
		roster_id: string;
		member_id: string;
		starts_at: Date;
		ends_at: Date;
		created_by: string;
		created_at: Generated<Date>;
	};
	roster_handoffs: {
		roster_id: string;
		at: Date;
		incoming_member_id: string | null;
		outgoing_member_id: string | null;
		shift_end: Date | null;
		recorded_at: Generated<Date>;
	};
};

type FeedTables = {
	calendar_feeds: { token_hash: string; tenant_id: string; roster_id: string; created_at: Generated<Date> };
};

export interface RosterRecord {
	id: string;
	name: string;
	description: string;
	timeZone: string;
	version: number;
	createdAt: Date;
	updatedAt: Date;
	layers: Layer[];
}

export type RosterFields = Pick<RosterRecord, "name" | "description" | "timeZone">;
export type LayerInput = Omit<Layer, "id">;

export interface OverrideRecord extends Override {
	createdBy: string;
	createdAt: Date;
}

export interface HandoffRecord {
	at: Date;
	incomingMemberId: string | null;
	outgoingMemberId: string | null;
	shiftEnd: Date | null;
}

const tables = (db: Db, schema: string): Kysely<RosterTables> => db.withSchema(schema).withTables<RosterTables>();
const feeds = (db: Db): Kysely<FeedTables> => db.withSchema("public").withTables<FeedTables>();

const layerFromRow = (row: Selectable<RosterTables["roster_layers"]>): Layer => ({
	id: row.id,
	name: row.name,
	position: row.position,
	participants: row.participants,
	shiftLength: { unit: row.shift_unit, count: row.shift_count },
	handoffTime: row.handoff_time,
	timeZone: row.time_zone,
	start: row.starts_at,
	restrictions: row.restrictions,
	calendar:
		row.calendar?.map((s) => ({ memberId: s.memberId, start: new Date(s.start), end: new Date(s.end) })) ?? null,
});

const overrideFromRow = (row: Selectable<RosterTables["roster_overrides"]>): OverrideRecord => ({
	id: row.id,
	memberId: row.member_id,
	from: row.starts_at,
	until: row.ends_at,
	createdBy: row.created_by,
	createdAt: row.created_at,
});

async function layersOf(db: Db, schema: string, rosterIds: string[]): Promise<Map<string, Layer[]>> {
	const byRoster = new Map<string, Layer[]>(rosterIds.map((id) => [id, []]));
	if (rosterIds.length === 0) return byRoster;
	const rows = await tables(db, schema)
		.selectFrom("roster_layers")
		.selectAll()
		.where("roster_id", "in", rosterIds)
		.orderBy("position")
		.execute();
	for (const row of rows) byRoster.get(row.roster_id)?.push(layerFromRow(row));
	return byRoster;
}

const rosterFromRow = (row: Selectable<RosterTables["rosters"]>, layers: Layer[]): RosterRecord => ({
	id: row.id,
	name: row.name,
	description: row.description,
	timeZone: row.time_zone,
	version: row.version,
	createdAt: row.created_at,
	updatedAt: row.updated_at,
	layers,
});

export async function listRosters(db: Db, schema: string): Promise<RosterRecord[]> {
	const rows = await tables(db, schema).selectFrom("rosters").selectAll().orderBy("name").execute();
	const layers = await layersOf(
		db,
		schema,
		rows.map((r) => r.id),
	);
	return rows.map((row) => rosterFromRow(row, layers.get(row.id) ?? []));
}

export async function findRoster(db: Db, schema: string, id: string): Promise<RosterRecord | undefined> {
	const row = await tables(db, schema).selectFrom("rosters").selectAll().where("id", "=", id).executeTakeFirst();
	if (!row) return undefined;
	return rosterFromRow(row, (await layersOf(db, schema, [id])).get(id) ?? []);
}

export async function insertRoster(db: Db, schema: string, fields: RosterFields, at: Date): Promise<string> {
	const row = await tables(db, schema)
		.insertInto("rosters")
		.values({ name: fields.name, description: fields.description, time_zone: fields.timeZone, updated_at: at })
		.returning("id")
		.executeTakeFirstOrThrow();
	return row.id;
}

/** Applies the change only at `version`; false when someone changed it meanwhile. */
export async function updateRoster(
	db: Db,
	schema: string,
	id: string,
	version: number,
	fields: RosterFields,
	at: Date,
): Promise<boolean> {
	const result = await tables(db, schema)
		.updateTable("rosters")
		.set((eb) => ({
			name: fields.name,
			description: fields.description,
			time_zone: fields.timeZone,
			updated_at: at,
			version: eb("version", "+", 1),
		}))
		.where("id", "=", id)
		.where("version", "=", version)
		.executeTakeFirst();
	return result.numUpdatedRows > 0n;
}

export async function deleteRoster(db: Db, schema: string, id: string): Promise<boolean> {
	const result = await tables(db, schema).deleteFrom("rosters").where("id", "=", id).executeTakeFirst();
	return result.numDeletedRows > 0n;
}

/** Replaces the roster's layers (a roster is edited as a whole). */
export async function replaceLayers(db: Db, schema: string, rosterId: string, layers: LayerInput[]): Promise<void> {
	const t = tables(db, schema);
	await t.deleteFrom("roster_layers").where("roster_id", "=", rosterId).execute();
	if (layers.length === 0) return;
	await t
		.insertInto("roster_layers")
		.values(
			layers.map((layer) => ({
				roster_id: rosterId,
				name: layer.name,
				position: layer.position,
				participants: uuidArray(layer.participants),
				shift_unit: layer.shiftLength.unit,
				shift_count: layer.shiftLength.count,
				handoff_time: layer.handoffTime,
				time_zone: layer.timeZone,
				starts_at: layer.start,
				restrictions: jsonb(layer.restrictions),
				calendar: jsonb(layer.calendar),
			})),
		)
		.execute();
}

/** Overrides that overlap [from, to). */
export async function listOverrides(
	db: Db,
	schema: string,
	rosterId: string,
	from: Date,
	to: Date,
): Promise<OverrideRecord[]> {
	const rows = await tables(db, schema)
		.selectFrom("roster_overrides")
		.selectAll()
		.where("roster_id", "=", rosterId)
		.where("ends_at", ">", from)
		.where("starts_at", "<", to)
		.orderBy("starts_at")
		.execute();
	return rows.map(overrideFromRow);
}

export async function insertOverride(
	db: Db,
	schema: string,
	rosterId: string,
	override: Omit<Override, "id">,
	by: string,
): Promise<OverrideRecord> {
	const row = await tables(db, schema)
		.insertInto("roster_overrides")
		.values({
			roster_id: rosterId,
			member_id: override.memberId,
			starts_at: override.from,
			ends_at: override.until,
			created_by: by,
		})
		.returningAll()
		.executeTakeFirstOrThrow();
	return overrideFromRow(row);
}

export async function deleteOverride(
	db: Db,
	schema: string,
	rosterId: string,
	id: string,
): Promise<OverrideRecord | undefined> {
	const row = await tables(db, schema)
		.deleteFrom("roster_overrides")
		.where("roster_id", "=", rosterId)
		.where("id", "=", id)
		.returningAll()
		.executeTakeFirst();
	return row && overrideFromRow(row);
}

/** The name of a roster a member takes part in (a layer or an override still to come), if any. */
export async function rosterUsingMember(
	db: Db,
	schema: string,
	memberId: string,
	now: Date,
): Promise<string | undefined> {
	const t = tables(db, schema);
	const row = await t
		.selectFrom("rosters as r")
		.select("r.name")
		.where((eb) =>
			eb.or([
				eb.exists(
					t
						.selectFrom("roster_layers as l")
						.select("l.id")
						.where(sql<boolean>`l.roster_id = r.id`)
						.where(sql<boolean>`l.participants @> ${uuidArray([memberId])}`),
				),
				eb.exists(
					t
						.selectFrom("roster_overrides as o")
						.select("o.id")
						.where(sql<boolean>`o.roster_id = r.id`)
						.where("o.member_id", "=", memberId)
						.where("o.ends_at", ">", now),
				),
			]),
		)
		.orderBy("r.name")
		.executeTakeFirst();
	return row?.name;
}

/** Records a handoff once; true when this call recorded it (another worker may have). */
export async function insertHandoff(
	db: Db,
	schema: string,
	rosterId: string,
	handoff: HandoffRecord,
): Promise<boolean> {
	const row = await tables(db, schema)
		.insertInto("roster_handoffs")
		.values({
			roster_id: rosterId,
			at: handoff.at,
			incoming_member_id: handoff.incomingMemberId,
			outgoing_member_id: handoff.outgoingMemberId,
			shift_end: handoff.shiftEnd,
		})
		.onConflict((oc) => oc.columns(["roster_id", "at"]).doNothing())
		.returning("at")
		.executeTakeFirst();
	return row !== undefined;
}

export async function listHandoffs(db: Db, schema: string, rosterId: string, limit: number): Promise<HandoffRecord[]> {
	const rows = await tables(db, schema)
		.selectFrom("roster_handoffs")
		.selectAll()
		.where("roster_id", "=", rosterId)
		.orderBy("at", "desc")
		.limit(limit)
		.execute();
	return rows.map((row) => ({
		at: row.at,
		incomingMemberId: row.incoming_member_id,
		outgoingMemberId: row.outgoing_member_id,
		shiftEnd: row.shift_end,
	}));
}

export async function insertFeed(db: Db, tokenHash: string, tenantId: string, rosterId: string): Promise<void> {
	await feeds(db)
		.insertInto("calendar_feeds")
		.values({ token_hash: tokenHash, tenant_id: tenantId, roster_id: rosterId })
		.execute();
}

export async function deleteFeeds(db: Db, tenantId: string, rosterId: string): Promise<void> {
	await feeds(db)
		.deleteFrom("calendar_feeds")
		.where("tenant_id", "=", tenantId)
		.where("roster_id", "=", rosterId)
		.execute();
}

export async function findFeed(db: Db, tokenHash: string): Promise<{ tenantId: string; rosterId: string } | undefined> {
	const row = await feeds(db)
		.selectFrom("calendar_feeds")
		.select(["tenant_id", "roster_id"])
		.where("token_hash", "=", tokenHash)
		.executeTakeFirst();
	return row && { tenantId: row.tenant_id, rosterId: row.roster_id };
}
