import { sql } from "kysely";
import type { Db } from "../platform/db/index.ts";
import { incidentColumns, incidentFromRow } from "./store.ts";
import type { Incident } from "./types.ts";

/**
 * Knowledge-base search in PostgreSQL, identical on PGlite:
 * - full text: a weighted tsvector (title and tags A, symptoms B, root cause and solution C, kept by
 *   a trigger) queried with `websearch_to_tsquery`, which accepts anything a person types
 *   (quotes, `-`, `or`) and never fails on syntax;
 * - typos: pg_trgm. A query whose words are close to a title's (`<%`, word similarity at least
 *   {@link TYPO_SIMILARITY_THRESHOLD}) matches even when no word is spelled right.
 * Both conditions use GIN indexes, so a search stays fast at 100k entries (`npm run bench:kb`).
 */

/** An alert title matches an entry when the entry's title covers at least this much of it (word similarity). */
export const ALERT_TITLE_MATCH_THRESHOLD = 0.5;

const columns = sql.raw(incidentColumns.map((c) => `i.${c}`).join(", "));

/** Raw rows carry the same columns the store selects. */
const toIncident = (row: Record<string, unknown>) =>
	incidentFromRow(row as unknown as Parameters<typeof incidentFromRow>[0]);

export interface SearchHit {
	incident: Incident;
	/** Full-text rank plus title similarity; higher is better. */
	score: number;
}

/** How close a query's words must be to a title's for a typo to still find it (pg_trgm word similarity). */
export const TYPO_SIMILARITY_THRESHOLD = 0.5;

/** What a person searches for: ranked full text, plus titles that look like the query (typos). */
export async function searchText(db: Db, schema: string, text: string, limit: number): Promise<SearchHit[]> {
	// `<%` uses the index at the session's threshold; set it for this transaction only, so a pooled
	// connection never carries it into another request.
	const { rows } = await db.transaction().execute(async (trx) => {
		await sql`select set_config('pg_trgm.word_similarity_threshold', ${String(TYPO_SIMILARITY_THRESHOLD)}, true)`.execute(
			trx,
		);
		return sql<Record<string, unknown> & { score: number }>`
			select ${columns},
				ts_rank_cd(i.search, q.query, 32) + word_similarity(${text}, i.title) as score
			from ${sql.id(schema, "incidents")} as i, websearch_to_tsquery('english', ${text}) as q(query)
			where i.merged_into is null and (i.search @@ q.query or ${text} <% i.title)
			order by score desc, i.updated_at desc
			limit ${limit}`.execute(trx);
	});
	return rows.map((row) => ({ incident: toIncident(row), score: Number(row.score) }));
}

/** Active entries claiming each fingerprint (exact; GIN index on the array). */
export async function matchFingerprints(
	db: Db,
	schema: string,
	fingerprints: string[],
): Promise<Map<string, Incident>> {
	if (fingerprints.length === 0) return new Map();
	const { rows } = await sql<Record<string, unknown> & { fingerprint: string }>`
		select ${columns}, f.fingerprint
		from ${sql.id(schema, "incidents")} as i, unnest(i.fingerprints) as f(fingerprint)
		where i.fingerprints && ${fingerprints}::text[] and i.merged_into is null
			and f.fingerprint = any(${fingerprints}::text[])
		order by i.created_at`.execute(db);
	const found = new Map<string, Incident>();
	for (const row of rows) if (!found.has(row.fingerprint)) found.set(row.fingerprint, toIncident(row));
	return found;
}

/**
 * The best entry for each alert title, if its title covers enough of it. Candidates share a word
 * (any word: the title's lexemes OR-ed) or look alike as wholes (trigram `%`); the best is the one
 * whose title appears most completely in the alert's.
 */
export async function matchTitles(db: Db, schema: string, titles: string[]): Promise<(Incident | undefined)[]> {
	if (titles.length === 0) return [];
	const { rows } = await sql<Record<string, unknown> & { n: number }>`
		select t.n, best.*
		from unnest(${titles}::text[]) with ordinality as t(title, n)
		cross join lateral (
			select ${columns}, word_similarity(i.title, t.title) as score
			from ${sql.id(schema, "incidents")} as i
			where i.merged_into is null
				and (i.search @@ nullif(replace(plainto_tsquery('english', t.title)::text, ' & ', ' | '), '')::tsquery
					or i.title % t.title)
			order by score desc, i.updated_at desc
			limit 1
		) as best
		where best.score >= ${ALERT_TITLE_MATCH_THRESHOLD}`.execute(db);
	const byIndex = new Map(rows.map((row) => [Number(row.n), toIncident(row)]));
	return titles.map((_, i) => byIndex.get(i + 1));
}
