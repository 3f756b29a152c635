import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { type DataDirLock, lockDataDir } from "./data-dir-lock.ts";
import { preparingPool } from "./prepared.ts";

/**
 * The database handle every store receives. Stores narrow it to their own tables with
 * `db.withTables<Tables>()`, so no module sees tables it does not own.
 */
export type Db = Kysely<object>;

export type Backend = "postgres" | "pglite";

export interface Database {
	readonly db: Db;
	readonly backend: Backend;
	/** Round-trips a trivial query; throws when the database is unreachable. */
	ping(): Promise<void>;
	close(): Promise<void>;
	/** PGlite only: the whole data dir as a tarball, to start other in-memory databases from. */
	dumpDataDir?: () => Promise<Blob>;
}

export type DatabaseOptions =
	| { backend: "postgres"; url: string; poolSize: number; onError?: (error: Error) => void }
	/** `dataDir` persists; `loadDataDir` starts an in-memory database from a dump (tests). */
	| { backend: "pglite"; dataDir?: string; loadDataDir?: Blob; onError?: (error: Error) => void };

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
	return options.backend === "postgres" ? openPostgres(options) : openPglite(options);
}

async function openPostgres(options: Extract<DatabaseOptions, { backend: "postgres" }>): Promise<Database> {
	// A bounded wait for a connection: an exhausted pool answers 503 instead of hanging the request.
	const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize, connectionTimeoutMillis: 5000 });
	// An idle client losing its connection emits on the pool; unhandled, it would crash the process.
	pool.on("error", (error) => options.onError?.(error));
	// Kysely's destroy() ends the pool.
	return wrap("postgres", pool, async () => {});
}

/**
 * PGlite (PostgreSQL compiled to WASM, in-process) behind its own node-postgres adapter, so
 * Kysely's stock PostgresDialect and every query run unchanged on both backends.
 */
async function openPglite(options: Extract<DatabaseOptions, { backend: "pglite" }>): Promise<Database> {
	// Loaded only when used: a PostgreSQL deployment never pays for the WASM build's memory.
	const [{ PGlite }, { pg_trgm }, { createPgConfig }] = await Promise.all([
		import("@electric-sql/pglite"),
		import("@electric-sql/pglite/contrib/pg_trgm"),
		import("@electric-sql/pglite/node-postgres"),
	]);
	let lock: DataDirLock | undefined;
	let pglite: PGlite;
	if (options.dataDir) {
		mkdirSync(options.dataDir, { recursive: true });
		// PGlite is a single process's database: a second opener would corrupt it.
		lock = await lockDataDir(options.dataDir, options.onError);
		pglite = new PGlite(join(options.dataDir, "pgdata"), { extensions: { pg_trgm } });
	} else {
		pglite = new PGlite({ extensions: { pg_trgm }, loadDataDir: options.loadDataDir });
	}
	try {
		await pglite.waitReady;
	} catch (error) {
		await lock?.release();
		throw error;
	}
	const pool = new pg.Pool({ ...(createPgConfig(pglite) as pg.PoolConfig), max: 1 });
	pool.on("error", (error) => options.onError?.(error));
	const database = wrap("pglite", pool, async () => {
		// Ending the pool (Kysely's destroy) does not close PGlite; without close() the next open runs crash recovery.
		await pglite.close();
		await lock?.release();
	});
	return { ...database, dumpDataDir: () => pglite.dumpDataDir("gzip") };
}

function wrap(backend: Backend, pool: pg.Pool, closeAll: () => Promise<void>): Database {
	const db = new Kysely<object>({ dialect: new PostgresDialect({ pool: preparingPool(pool) }) });
	let closed: Promise<void> | undefined;
	return {
		db,
		backend,
		ping: async () => {
			await sql`select 1`.execute(db);
		},
		close: () => {
			closed ??= db.destroy().then(closeAll);
			return closed;
		},
	};
}
