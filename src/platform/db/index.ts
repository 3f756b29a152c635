export { type Backend, type Database, type DatabaseOptions, type Db, openDatabase } from "./database.ts";
export {
	loadMigrations,
	type Migration,
	type MigrationSet,
	migrateSchema,
	migrateSchemaInTransaction,
} from "./migrator.ts";
export { jsonb, textArray, uuidArray } from "./params.ts";
export { prepared } from "./prepared.ts";
export { isTransactionConflict, retrySerializable } from "./retry.ts";
