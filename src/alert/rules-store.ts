import type { ColumnType, Generated, Kysely, RawBuilder, Selectable } from "kysely";
import { type Db, jsonb } from "../platform/db/index.ts";
import type { LabelMatcher, SeverityRule } from "./rules.ts";
import type { Severity } from "./types.ts";

/** The tenant-schema table this store owns. */
type RuleTables = {
	alert_rules: {
		id: Generated<string>;
		name: string;
		position: number;
		matchers: ColumnType<LabelMatcher[], RawBuilder<unknown>, RawBuilder<unknown>>;
		severity: Severity;
		enabled: boolean;
		created_at: Generated<Date>;
		updated_at: Generated<Date>;
		version: Generated<number>;
	};
};

export type RuleInput = Pick<SeverityRule, "name" | "position" | "matchers" | "severity" | "enabled">;

const tables = (db: Db, schema: string): Kysely<RuleTables> => db.withSchema(schema).withTables<RuleTables>();

const ruleFromRow = (row: Selectable<RuleTables["alert_rules"]>): SeverityRule => ({
	id: row.id,
	name: row.name,
	position: row.position,
	matchers: row.matchers,
	severity: row.severity,
	enabled: row.enabled,
	version: row.version,
	createdAt: row.created_at,
	updatedAt: row.updated_at,
});

export async function listRules(db: Db, schema: string): Promise<SeverityRule[]> {
	const rows = await tables(db, schema)
		.selectFrom("alert_rules")
		.selectAll()
		.orderBy("position")
		.orderBy("created_at")
		.execute();
	return rows.map(ruleFromRow);
}

export async function findRule(db: Db, schema: string, id: string): Promise<SeverityRule | undefined> {
	const row = await tables(db, schema).selectFrom("alert_rules").selectAll().where("id", "=", id).executeTakeFirst();
	return row && ruleFromRow(row);
}

export async function insertRule(db: Db, schema: string, rule: RuleInput): Promise<SeverityRule> {
	const row = await tables(db, schema)
		.insertInto("alert_rules")
		.values({ ...rule, matchers: jsonb(rule.matchers) })
		.returningAll()
		.executeTakeFirstOrThrow();
	return ruleFromRow(row);
}

/** Updates only when `version` is still current (optimistic concurrency); undefined otherwise. */
export async function updateRule(
	db: Db,
	schema: string,
	id: string,
	version: number,
	rule: RuleInput,
	at: Date,
): Promise<SeverityRule | undefined> {
	const row = await tables(db, schema)
		.updateTable("alert_rules")
		.set((eb) => ({ ...rule, matchers: jsonb(rule.matchers), updated_at: at, version: eb("version", "+", 1) }))
		.where("id", "=", id)
		.where("version", "=", version)
		.returningAll()
		.executeTakeFirst();
	return row && ruleFromRow(row);
}

export async function deleteRule(db: Db, schema: string, id: string): Promise<SeverityRule | undefined> {
	const row = await tables(db, schema).deleteFrom("alert_rules").where("id", "=", id).returningAll().executeTakeFirst();
	return row && ruleFromRow(row);
}
