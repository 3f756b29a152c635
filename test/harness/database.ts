import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import pg from "pg";
import { inject } from "vitest";
import { type Database, loadMigrations, migrateSchema, openDatabase } from "../../src/platform/db/index.ts";
import { testDatabaseUrl } from "./backend.ts";

export interface TestDatabase extends Database {
	/** PostgreSQL only: the URL of this file's own database (for child processes). */
	url?: string;
}

/** Runs `sql` on the PostgreSQL server's maintenance connection (TEST_DATABASE_URL). */
async function onServer<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
	const client = new pg.Client({ connectionString: testDatabaseUrl });
	await client.connect();
	try {
		return await work(client);
	} finally {
		await client.end();
	}
}

/** A new, empty PostgreSQL database on the test server; dropped by the returned function. */
export async function createEmptyPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
	const name = `opswatch_test_${randomBytes(6).toString("hex")}`;
	await onServer((client) => client.query(`create database ${name}`));
	const url = new URL(testDatabaseUrl!);
	url.pathname = `/${name}`;
	return {
		url: url.toString(),
		drop: () => onServer((client) => client.query(`drop database if exists ${name} with (force)`)).then(() => {}),
	};
}

/**
 * This test file's own database with the public schema migrated: a new database on the
 * PostgreSQL server, or an in-memory PGlite started from the pre-migrated dump.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
	if (testDatabaseUrl) {
		const { url, drop } = await createEmptyPostgresDatabase();
		const database = await openDatabase({ backend: "postgres", url, poolSize: 5 });
		await migrateSchema(database.db, { schema: "public", migrations: loadMigrations("public") });
		return {
			...database,
			url,
			close: async () => {
				await database.close();
				await drop();
			},
		};
	}
	const dump = new Blob([readFileSync(inject("pgliteDumpPath"))]);
	return openDatabase({ backend: "pglite", loadDataDir: dump });
}
