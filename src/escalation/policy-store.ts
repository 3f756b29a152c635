import type { ColumnType, Generated, Kysely, RawBuilder, Selectable } from "kysely";
import { type Db, jsonb } from "../platform/db/index.ts";
import type { Policy, PolicyInput, Tier } from "./types.ts";

/** The tenant-schema table this store owns. */
type PolicyTables = {
	escalation_policies: {
		id: Generated<string>;
		name: string;
		description: string;
		tiers: ColumnType<Tier[], RawBuilder<unknown>, RawBuilder<unknown>>;
		repeat: number;
		emergency_channel: string | null;
		version: Generated<number>;
		created_at: Generated<Date>;
		updated_at: Date;
	};
};

const tables = (db: Db, schema: string): Kysely<PolicyTables> => db.withSchema(schema).withTables<PolicyTables>();

const policyFromRow = (row: Selectable<PolicyTables["escalation_policies"]>): Policy => ({
	id: row.id,
	name: row.name,
	description: row.description,
	tiers: row.tiers,
	repeat: row.repeat,
	emergencyChannel: row.emergency_channel,
	version: row.version,
	createdAt: row.created_at,
	updatedAt: row.updated_at,
});

const writable = (input: PolicyInput) => ({
	name: input.name,
	description: input.description,
	tiers: jsonb(input.tiers),
	repeat: input.repeat,
	emergency_channel: input.emergencyChannel,
});

export async function listPolicies(db: Db, schema: string): Promise<Policy[]> {
	const rows = await tables(db, schema).selectFrom("escalation_policies").selectAll().orderBy("name").execute();
	return rows.map(policyFromRow);
}

export async function findPolicy(db: Db, schema: string, id: string): Promise<Policy | undefined> {
	const row = await tables(db, schema)
		.selectFrom("escalation_policies")
		.selectAll()
		.where("id", "=", id)
		.executeTakeFirst();
	return row && policyFromRow(row);
}

export async function insertPolicy(db: Db, schema: string, input: PolicyInput, at: Date): Promise<Policy> {
	const row = await tables(db, schema)
		.insertInto("escalation_policies")
		.values({ ...writable(input), updated_at: at })
		.returningAll()
		.executeTakeFirstOrThrow();
	return policyFromRow(row);
}

/** Applies the change only at `version`; undefined when someone changed it meanwhile. */
export async function updatePolicy(
	db: Db,
	schema: string,
	id: string,
	version: number,
	input: PolicyInput,
	at: Date,
): Promise<Policy | undefined> {
	const row = await tables(db, schema)
		.updateTable("escalation_policies")
		.set((eb) => ({ ...writable(input), updated_at: at, version: eb("version", "+", 1) }))
		.where("id", "=", id)
		.where("version", "=", version)
		.returningAll()
		.executeTakeFirst();
	return row && policyFromRow(row);
}
