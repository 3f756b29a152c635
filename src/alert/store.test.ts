import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/harness/database.ts";
import { loadMigrations, migrateSchema } from "../platform/db/index.ts";
import * as store from "./store.ts";

const schema = "tenant_store_test";
let database: TestDatabase;
beforeAll(async () => {
	database = await createTestDatabase();
	await migrateSchema(database.db, { schema, migrations: loadMigrations("tenant") });
});
afterAll(() => database.close());

const seenAt = new Date("2026-12-01T10:00:00Z");
const row = (fingerprint: string): store.FiringRow => ({
	fingerprint,
	severity: "warning",
	title: `Alert ${fingerprint}`,
	description: "",
	labels: { alert: fingerprint },
	annotations: {},
	starts_at: seenAt.toISOString(),
	generator_url: undefined,
	occurrences: 1,
	kb_incident_id: undefined,
	raw: undefined,
	payload_path: undefined,
});
/** Writes firing alerts by fingerprint, as the pipeline does for alerts the dedup window did not know. */
const upsert = async (fingerprints: string[]) =>
	(
		await store.upsertFiring(database.db, schema, [
			store.firingWrite({ seenAt, actor: "source:test", source: "generic" }, fingerprints.map(row)),
		])
	)[0]!;

/** Opens `count` alerts in one statement; returns their ids. */
async function openAlerts(count: number, prefix: string): Promise<string[]> {
	const opened = await upsert(Array.from({ length: count }, (_, i) => `${prefix}-${i}`));
	return opened.map((row) => row.id);
}

describe("counting repeats (store)", () => {
	it("counts concurrent batches of the same alerts without a deadlock, however PostgreSQL plans the join", async () => {
		// A handful of alerts, as a small deployment has during a storm of their repeats: PostgreSQL
		// then scans the table rather than its index, and meets the rows in the order they lie in it.
		const ids = await openAlerts(12, "concurrent");
		const rounds = 600;
		const at = new Date("2026-12-01T10:00:05Z");
		await Promise.all(
			Array.from({ length: 4 }, async () => {
				for (let round = 0; round < rounds; round++) {
					const counted = await store.addOccurrences(
						database.db,
						schema,
						ids.map((id) => ({ id, count: 1 })),
						at,
					);
					expect(counted.toSorted()).toEqual(ids.toSorted());
				}
			}),
		);
		const alerts = await store.findAlerts(database.db, schema, ids);
		expect(alerts.map((alert) => alert.occurrences)).toEqual(ids.map(() => 1 + 4 * rounds));
	});

	it("counts repeats by id while others arrive through the upsert, both locking in the same order", async () => {
		// Opened one at a time from the last fingerprint to the first, so that their time-ordered ids
		// run opposite to their fingerprints: locking by id would meet the upsert head on.
		const fingerprints = Array.from({ length: 12 }, (_, i) => `crossing-${String(i).padStart(2, "0")}`);
		const ids: string[] = [];
		for (const fingerprint of fingerprints.toReversed()) ids.push((await upsert([fingerprint]))[0]!.id);
		const rounds = 200;
		const counting = async () => {
			for (let round = 0; round < rounds; round++) {
				await store.addOccurrences(
					database.db,
					schema,
					ids.map((id) => ({ id, count: 1 })),
					seenAt,
				);
			}
		};
		const upserting = async () => {
			for (let round = 0; round < rounds; round++) {
				const written = await upsert(fingerprints);
				expect(written.every((row) => !row.inserted)).toBe(true);
			}
		};
		await Promise.all([counting(), counting(), upserting(), upserting()]);
		const alerts = await store.findAlerts(database.db, schema, ids);
		expect(alerts.map((alert) => alert.occurrences)).toEqual(ids.map(() => 1 + 4 * rounds));
	});
});
