import type { Generated, Kysely, Selectable } from "kysely";
import { sql } from "kysely";
import { type Db, textArray } from "../platform/db/index.ts";
import type { Runbook, RunbookInput, RunbookVersion } from "./types.ts";

/** The tenant-schema tables this store owns. */
type RunbookTables = {
	runbooks: {
		id: Generated<string>;
		title: string;
		body: string;
		tags: string[];
		template_id: string | null;
		version: Generated<number>;
		created_by: string;
		updated_by: string;
		created_at: Date;
		updated_at: Date;
	};
	runbook_versions: {
		runbook_id: string;
		version: number;
		title: string;
		body: string;
		tags: string[];
		changed_by: string;
		changed_at: Date;
	};
};

const tables = (db: Db, schema: string): Kysely<RunbookTables> => db.withSchema(schema).withTables<RunbookTables>();

const runbookFromRow = (row: Selectable<RunbookTables["runbooks"]>): Runbook => ({
	id: row.id,
	title: row.title,
	body: row.body,
	tags: row.tags,
	templateId: row.template_id,
	version: row.version,
	createdBy: row.created_by,
	updatedBy: row.updated_by,
	createdAt: row.created_at,
	updatedAt: row.updated_at,
});

export async function insertRunbook(
	db: Db,
	schema: string,
	input: RunbookInput & { templateId: string | null },
	by: string,
	at: Date,
): Promise<Runbook> {
	const row = await tables(db, schema)
		.insertInto("runbooks")
		.values({
			title: input.title,
			body: input.body,
			tags: textArray(input.tags),
			template_id: input.templateId,
			created_by: by,
			updated_by: by,
			created_at: at,
			updated_at: at,
		})
		.returningAll()
		.executeTakeFirstOrThrow();
	return runbookFromRow(row);
}

/** Applies the change only at `version`; undefined when someone changed it meanwhile. */
export async function updateRunbook(
	db: Db,
	schema: string,
	id: string,
	version: number,
	input: RunbookInput,
	by: string,
	at: Date,
): Promise<Runbook | undefined> {
	const row = await tables(db, schema)
		.updateTable("runbooks")
		.set((eb) => ({
			title: input.title,
			body: input.body,
			tags: textArray(input.tags),
			updated_by: by,
			updated_at: at,
			version: eb("version", "+", 1),
		}))
		.where("id", "=", id)
		.where("version", "=", version)
		.returningAll()
		.executeTakeFirst();
	return row && runbookFromRow(row);
}

export async function findRunbook(db: Db, schema: string, id: string): Promise<Runbook | undefined> {
	const row = await tables(db, schema).selectFrom("runbooks").selectAll().where("id", "=", id).executeTakeFirst();
	return row && runbookFromRow(row);
}

/** The ids among `ids` that exist (to check an entry's runbook links). */
export async function existingRunbookIds(db: Db, schema: string, ids: string[]): Promise<Set<string>> {
	if (ids.length === 0) return new Set();
	const rows = await tables(db, schema).selectFrom("runbooks").select("id").where("id", "in", ids).execute();
	return new Set(rows.map((row) => row.id));
}

export async function listRunbooks(
	db: Db,
	schema: string,
	filter: { tag?: string; limit: number },
): Promise<Runbook[]> {
	let query = tables(db, schema).selectFrom("runbooks").selectAll();
	if (filter.tag) query = query.where(sql<boolean>`tags @> ${textArray([filter.tag])}`);
	const rows = await query.orderBy("updated_at", "desc").orderBy("id", "desc").limit(filter.limit).execute();
	return rows.map(runbookFromRow);
}

export async function deleteRunbook(db: Db, schema: string, id: string): Promise<Runbook | undefined> {
	const row = await tables(db, schema).deleteFrom("runbooks").where("id", "=", id).returningAll().executeTakeFirst();
	return row && runbookFromRow(row);
}

export async function insertRunbookVersion(db: Db, schema: string, runbook: Runbook): Promise<void> {
	await tables(db, schema)
		.insertInto("runbook_versions")
		.values({
			runbook_id: runbook.id,
			version: runbook.version,
			title: runbook.title,
			body: runbook.body,
			tags: textArray(runbook.tags),
			changed_by: runbook.updatedBy,
			changed_at: runbook.updatedAt,
		})
		.execute();
}

export async function listRunbookVersions(db: Db, schema: string, id: string): Promise<RunbookVersion[]> {
	const rows = await tables(db, schema)
		.selectFrom("runbook_versions")
		.selectAll()
		.where("runbook_id", "=", id)
		.orderBy("version")
		.execute();
	return rows.map((row) => ({
		runbookId: row.runbook_id,
		version: row.version,
		title: row.title,
		body: row.body,
		tags: row.tags,
		changedBy: row.changed_by,
		changedAt: row.changed_at,
	}));
}
