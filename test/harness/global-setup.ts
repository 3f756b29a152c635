import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { loadMigrations, migrateSchema, openDatabase } from "../../src/platform/db/index.ts";
import { testDatabaseUrl } from "./backend.ts";

declare module "vitest" {
	export interface ProvidedContext {
		/** A PGlite data dir with the public schema migrated, for each test file to start from. */
		pgliteDumpPath: string;
	}
}

/**
 * A fresh PGlite costs seconds and hundreds of MB (initdb); loading a migrated dump costs a
 * fraction. So migrate once here and let every test file start from the dump.
 */
export default async function setup(project: TestProject): Promise<() => void> {
	const dir = mkdtempSync(join(tmpdir(), "opswatch-test-"));
	const dumpPath = join(dir, "public-migrated.tar.gz");
	if (!testDatabaseUrl) {
		const database = await openDatabase({ backend: "pglite" });
		await migrateSchema(database.db, { schema: "public", migrations: loadMigrations("public") });
		const dump = await database.dumpDataDir!();
		writeFileSync(dumpPath, Buffer.from(await dump.arrayBuffer()));
		await database.close();
	}
	project.provide("pgliteDumpPath", dumpPath);
	return () => rmSync(dir, { recursive: true, force: true });
}
