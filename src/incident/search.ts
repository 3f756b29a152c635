import { sql } from "kysely";
import type { Db } from "../platform/db/index.ts";
import { incidentColumns, incidentFromRow } from "./store.ts";
import type { Incident } from "./types.ts";

/**
 * Knowledge-base search in PostgreSQL, identical on PGlite, with bounded work per query so it stays
 * fast at 100k entries (`npm run bench:kb`):
 * - full text: a weighted tsvector (title and tags A, symptoms B, root cause and solution C, kept by
 *   a trigger) queried with `websearch_to_tsquery`, which accepts anything a person types (quotes,
 *   `-word`, `or`) and never fails on syntax. At most {@link RANKED_CANDIDATES} matches are ranked,
 *   the first the index yields: a query matching more is too broad for its order to mean much, and
 *   reading every match of a common word would make it slow.
 * - typos: when the words find nothing, each is replaced by the most similar word the knowledge base
 *   uses (pg_trgm over a table of its words, as the pg_trgm documentation suggests), words it has
 *   nothing like are left out, and the search runs again. So "certficate expiry" finds "certificate",
 *   in any field.
 * - alert titles: an entry matches an alert whose title contains all of the entry title's words
 *   (stemmed, stop words ignored); the most specific such entry wins. Looked up by each entry's
 *   rarest title word, so common words cost nothing.
 */

/** How many full-text matches are ranked, at most (the first found; a broader query should add words). */
export const RANKED_CANDIDATES = 200;
/** How similar (pg_trgm similarity) a known word must be to stand in for a misspelled one. */
export const TYPO_SIMILARITY_THRESHOLD = 0.4;

const columns = sql.raw(incidentColumns.map((c) => `i.${c}`).join(", "));

/** Raw rows carry the same columns the store selects. */
const toIncident = (row: Record<string, unknown>) =>
	incidentFromRow(row as unknown as Parameters<typeof incidentFromRow>[0]);

export interface SearchHit {
	incident: Incident;
	/** Full-text rank; higher is better. */
	score: number;
}

async function fullText(db: Db, schema: string, text: string, limit: number): Promise<SearchHit[]> {
	const { rows } = await sql<Record<string, unknown> & { score: number }>`
		select ${columns}, ts_rank(i.search, q.query) as score
		from websearch_to_tsquery('english', ${text}) as q(query),
			lateral (
				-- No order here: the scan stops after this many matches instead of reading them all.
				select * from ${sql.id(schema, "incidents")}
				where search @@ q.query and merged_into is null
				limit ${RANKED_CANDIDATES}
			) as i
		order by score desc, i.updated_at desc
		limit ${limit}`.execute(db);
	return rows.map((row) => ({ incident: toIncident(row), score: Number(row.score) }));
}

/**
 * The query with each word replaced by the most similar word the knowledge base uses, and words it
 * has nothing like dropped (so "dsik full" still finds what "full" finds); undefined when nothing changes.
 */
async function correctWords(db: Db, schema: string, text: string): Promise<string | undefined> {
	const words = [...new Set(text.toLowerCase().match(/[a-z]{3,40}/g) ?? [])];
	if (words.length === 0) return undefined;
	const { rows } = await sql<{ original: string; known: string }>`
		select w.original, best.word as known
		from unnest(${words}::text[]) as w(original)
		cross join lateral (
			select word from ${sql.id(schema, "incident_words")}
			where word % w.original and similarity(word, w.original) >= ${TYPO_SIMILARITY_THRESHOLD}
			order by similarity(word, w.original) desc, word
			limit 1
		) as best`.execute(db);
	const known = new Map(rows.map((r) => [r.original, r.known]));
	const corrected = text.replace(/[a-z]{3,40}/gi, (word) => known.get(word.toLowerCase()) ?? "");
	const changed = corrected.toLowerCase() !== text.toLowerCase();
	return changed && /[a-z]{3}/i.test(corrected) ? corrected : undefined;
}

/** What a person searches for: ranked full text, and on no result, the same with typos corrected. */
export async function searchText(db: Db, schema: string, text: string, limit: number): Promise<SearchHit[]> {
	const hits = await fullText(db, schema, text, limit);
	if (hits.length > 0) return hits;
	const corrected = await correctWords(db, schema, text);
	return corrected ? fullText(db, schema, corrected, limit) : [];
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
 * For each alert title, the most specific entry whose title words all appear in it. Candidates are
 * the entries anchored on one of the alert's words (each entry's rarest title word), so the work
 * stays small however many entries share common words.
 */
export async function matchTitles(db: Db, schema: string, titles: string[]): Promise<(Incident | undefined)[]> {
	if (titles.length === 0) return [];
	const { rows } = await sql<Record<string, unknown> & { n: string }>`
		select t.n, best.*
		from unnest(${titles}::text[]) with ordinality as t(title, n)
		cross join lateral (select tsvector_to_array(to_tsvector('english', t.title)) as terms) as a
		cross join lateral (
			select ${columns}
			from ${sql.id(schema, "incidents")} as i
			where i.title_anchor = any(a.terms) and i.title_lexemes <@ a.terms and i.merged_into is null
			order by cardinality(i.title_lexemes) desc, i.updated_at desc
			limit 1
		) as best`.execute(db);
	const byIndex = new Map(rows.map((row) => [Number(row.n), toIncident(row)]));
	return titles.map((_, i) => byIndex.get(i + 1));
}
