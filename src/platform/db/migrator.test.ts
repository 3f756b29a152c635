import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backendName } from "../../../test/harness/backend.ts";
import { createTestDatabase, type TestDatabase } from "../../../test/harness/database.ts";
import { loadMigrations, type Migration, migrateSchema } from "./index.ts";

let database: TestDatabase;
beforeAll(async () => {
	database = await createTestDatabase();
});
afterAll(() => database?.close());

const migration = (version: string, name: string, text: string): Migration => ({
	version,
	name,
	sql: text,
	checksum: `sum-${version}-${text.length}`,
});

async function recorded(schema: string): Promise<string[]> {
	const { rows } = await sql<{ version: string }>`
		select version from ${sql.id(schema, "schema_migrations")} order by version`.execute(database.db);
	return rows.map((row) => row.version);
}

async function tableExists(schema: string, table: string): Promise<boolean> {
	const { rows } = await sql<{ n: number }>`
		select count(*)::int as n from information_schema.tables
		where table_schema = ${schema} and table_name = ${table}`.execute(database.db);
	return rows[0]!.n === 1;
}

describe(`migrations (${backendName})`, () => {
	it("are idempotent: a second run applies nothing and records each file once", async () => {
		const publicSet = loadMigrations("public");
		expect(await migrateSchema(database.db, { schema: "public", migrations: publicSet })).toEqual([]);
		expect(await recorded("public")).toEqual(publicSet.map((m) => m.version));

		const tenantSet = loadMigrations("tenant");
		const first = await migrateSchema(database.db, { schema: "tenant_idem", migrations: tenantSet });
		expect(first).toEqual(tenantSet.map((m) => `${m.version}_${m.name}`));
		expect(await migrateSchema(database.db, { schema: "tenant_idem", migrations: tenantSet })).toEqual([]);
		expect(await recorded("tenant_idem")).toEqual(tenantSet.map((m) => m.version));
		expect(await tableExists("tenant_idem", "audit_log")).toBe(true);
		// Unqualified names in tenant migrations landed in the tenant schema, not in public.
		expect(await tableExists("public", "audit_log")).toBe(false);
	});

	it("are safe when many run at once on the same schema", async () => {
		const set = [
			migration("0001", "one", "create table things (id int primary key);"),
			migration("0002", "two", "alter table things add column name text; create index things_name on things (name);"),
		];
		const results = await Promise.all(
			Array.from({ length: 6 }, () => migrateSchema(database.db, { schema: "race", migrations: set })),
		);
		expect(results.flat().sort()).toEqual(["0001_one", "0002_two"]);
		expect(results.filter((applied) => applied.length > 0)).toHaveLength(1);
		expect(await recorded("race")).toEqual(["0001", "0002"]);
	});

	it("roll back a failing migration whole, recording nothing of the run", async () => {
		const set = [
			migration("0001", "good", "create table good_one (id int);"),
			migration("0002", "bad", "create table bad_one (id int); select no_such_function();"),
		];
		await expect(migrateSchema(database.db, { schema: "failing", migrations: set })).rejects.toThrow(
			/no_such_function/,
		);
		expect(await tableExists("failing", "good_one")).toBe(false);
		expect(await tableExists("failing", "bad_one")).toBe(false);
	});

	it("refuse an applied migration whose file changed", async () => {
		const original = migration("0001", "base", "create table base (id int);");
		await migrateSchema(database.db, { schema: "edited", migrations: [original] });
		const edited = { ...original, sql: "create table base (id bigint);", checksum: "different" };
		await expect(migrateSchema(database.db, { schema: "edited", migrations: [edited] })).rejects.toMatchObject({
			code: "database.migration_changed",
		});
	});

	it("refuse a database migrated by a newer version", async () => {
		const set = [migration("0001", "a", "select 1;"), migration("0002", "b", "select 2;")];
		await migrateSchema(database.db, { schema: "newer", migrations: set });
		await expect(migrateSchema(database.db, { schema: "newer", migrations: [set[0]!] })).rejects.toMatchObject({
			code: "database.migration_unknown",
		});
	});

	it("refuse a schema name that is not a plain identifier", async () => {
		await expect(migrateSchema(database.db, { schema: 'x"; drop schema public; --', migrations: [] })).rejects.toThrow(
			/invalid schema name/,
		);
	});
});
