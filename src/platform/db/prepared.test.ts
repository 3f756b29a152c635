import { CompiledQuery, sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test/harness/database.ts";
import { prepared } from "./prepared.ts";

describe("prepared statements", () => {
	let database: TestDatabase;
	beforeAll(async () => {
		database = await createTestDatabase();
	});
	afterAll(() => database.close());

	/** The statements prepared in the session `run` ran in: one connection, pinned. */
	const preparedIn = (run: (db: TestDatabase["db"]) => Promise<unknown>) =>
		database.db.connection().execute(async (db) => {
			await run(db);
			const { rows } = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(db);
			return rows.map((row) => row.statement);
		});

	it("runs a registered text as a named statement, prepared once per connection, with its own parameters each time", async () => {
		const text = prepared("select $1::int + 1 as next /* prepared.test */");
		const statements = await preparedIn(async (db) => {
			for (const n of [1, 41]) {
				const { rows } = await db.executeQuery<{ next: number }>(CompiledQuery.raw(text, [n]));
				expect(rows).toEqual([{ next: n + 1 }]);
			}
		});
		expect(statements.filter((statement) => statement === text)).toHaveLength(1);
	});

	it("leaves any other query unnamed: nothing piles up in the connection", async () => {
		const statements = await preparedIn((db) => sql`select ${7}::int as seven /* unprepared.test */`.execute(db));
		expect(statements.some((statement) => statement.includes("unprepared.test"))).toBe(false);
	});
});
