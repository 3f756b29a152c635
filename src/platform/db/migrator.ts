import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Kysely, sql, type Transaction } from "kysely";
import { AppError } from "../errors.ts";
import { projectRoot } from "../paths.ts";
import type { Db } from "./database.ts";

/**
 * Forward-only SQL migrations, recorded per schema in `<schema>.schema_migrations`.
 * The same files run on PGlite and PostgreSQL, so they are written at the PostgreSQL 15 level.
 */
export interface Migration {
	/** The file's numeric prefix, e.g. `0001`. */
	version: string;
	name: string;
	sql: string;
	checksum: string;
}

export type MigrationSet = "public" | "tenant";

const migrationsRoot = join(projectRoot, "migrations");
const fileNamePattern = /^(\d{4})_([a-z0-9_]+)\.sql$/;
const schemaNamePattern = /^[a-z_][a-z0-9_]{0,62}$/;

const cache = new Map<MigrationSet, readonly Migration[]>();

/** The migrations of one set, in order; read from disk once per process. */
export function loadMigrations(set: MigrationSet): readonly Migration[] {
	let migrations = cache.get(set);
	if (!migrations) {
		const dir = join(migrationsRoot, set);
		migrations = readdirSync(dir)
			.filter((file) => file.endsWith(".sql"))
			.sort()
			.map((file) => {
				const match = fileNamePattern.exec(file);
				if (!match) throw new Error(`Migration file ${join(dir, file)} must be named NNNN_name.sql`);
				const text = readFileSync(join(dir, file), "utf8");
				return {
					version: match[1]!,
					name: match[2]!,
					sql: text,
					checksum: createHash("sha256").update(text).digest("hex"),
				};
			});
		cache.set(set, migrations);
	}
	return migrations;
}

export interface MigrateOptions {
	schema: string;
	migrations: readonly Migration[];
}

/** Migrates one schema in its own transaction. Returns the versions it applied. */
export async function migrateSchema(db: Db, options: MigrateOptions): Promise<string[]> {
	return db.transaction().execute((trx) => migrateSchemaInTransaction(trx, options));
}

/**
 * Migrates one schema inside the caller's transaction (tenant creation uses this so the tenant
 * row, its schema and its tables appear together or not at all).
 *
 * A transaction-scoped advisory lock per schema serialises concurrent starts: the second
 * process waits, then finds everything applied. Unqualified names in the SQL files resolve
 * to the target schema through a transaction-local search_path.
 * See https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS
 */
export async function migrateSchemaInTransaction(
	trx: Transaction<object>,
	{ schema, migrations }: MigrateOptions,
): Promise<string[]> {
	if (!schemaNamePattern.test(schema)) throw new Error(`Refusing to migrate invalid schema name ${schema}`);
	const db = trx as unknown as Kysely<object>;
	await sql`select pg_advisory_xact_lock(hashtext('opswatch.migrate'), hashtext(${schema}))`.execute(db);
	await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
	await sql`
		create table if not exists ${sql.id(schema, "schema_migrations")} (
			version text primary key,
			name text not null,
			checksum text not null,
			applied_at timestamptz not null default now()
		)`.execute(db);

	const { rows: applied } = await sql<{ version: string; name: string; checksum: string }>`
		select version, name, checksum from ${sql.id(schema, "schema_migrations")} order by version`.execute(db);

	const known = new Map(migrations.map((m) => [m.version, m]));
	for (const row of applied) {
		const migration = known.get(row.version);
		if (!migration) {
			throw new AppError(
				"unavailable",
				"database.migration_unknown",
				`Schema ${schema} has migration ${row.version}_${row.name}, which this OpsWatch does not know: ` +
					"the database was migrated by a newer version. Run that version (migrations are forward-only).",
			);
		}
		if (migration.checksum !== row.checksum) {
			throw new AppError(
				"unavailable",
				"database.migration_changed",
				`Migration ${row.version}_${row.name} in schema ${schema} was changed after it was applied. ` +
					"Applied migrations are immutable: add a new migration instead.",
			);
		}
	}

	const appliedVersions = new Set(applied.map((row) => row.version));
	const pending = migrations.filter((m) => !appliedVersions.has(m.version));
	if (pending.length === 0) return [];

	const { rows } = await sql<{ path: string }>`select current_setting('search_path') as path`.execute(db);
	await sql`select set_config('search_path', ${`${quoteIdent(schema)}, public`}, true)`.execute(db);
	for (const migration of pending) {
		await sql.raw(migration.sql).execute(db);
		await sql`
			insert into ${sql.id(schema, "schema_migrations")} (version, name, checksum)
			values (${migration.version}, ${migration.name}, ${migration.checksum})`.execute(db);
	}
	await sql`select set_config('search_path', ${rows[0]!.path}, true)`.execute(db);
	return pending.map((m) => `${m.version}_${m.name}`);
}

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;
