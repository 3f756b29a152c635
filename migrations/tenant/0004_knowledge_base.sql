-- The knowledge base (spec §4.3): known incidents and how they were fixed, and Markdown runbooks.

create table runbooks (
	id uuid primary key default gen_random_uuid(),
	title text not null,
	body text not null,
	tags text[] not null default '{}',
	-- The pre-seeded template it was made from, if any.
	template_id text,
	version integer not null default 1,
	created_by text not null,
	updated_by text not null,
	created_at timestamptz not null default now(),
	updated_at timestamptz not null default now()
);
create index runbooks_updated_idx on runbooks (updated_at desc, id desc);

-- Every version of every runbook, written in the same transaction as the change.
create table runbook_versions (
	runbook_id uuid not null references runbooks (id) on delete cascade,
	version integer not null,
	title text not null,
	body text not null,
	tags text[] not null,
	changed_by text not null,
	changed_at timestamptz not null,
	primary key (runbook_id, version)
);

create table incidents (
	id uuid primary key default gen_random_uuid(),
	title text not null,
	-- Alerts with one of these fingerprints are this incident (the exact, first match at ingest).
	fingerprints text[] not null default '{}',
	-- Else alerts whose labels satisfy all of these label matchers ([{label, op, value}], as in Alertmanager).
	matchers jsonb not null default '[]'::jsonb,
	symptoms text not null default '',
	root_cause text not null default '',
	-- Markdown.
	solution text not null default '',
	runbook_ids uuid[] not null default '{}',
	tags text[] not null default '{}',
	severity text constraint incidents_severity_check
		check (severity in ('critical', 'major', 'minor', 'warning', 'info')),
	source text not null constraint incidents_source_check check (source in ('human', 'agent', 'auto')),
	-- Entries written by an agent wait for a person to review them.
	needs_review boolean not null default false,
	-- Set when merged into another entry, which then carries its fingerprints, stats and history.
	merged_into uuid references incidents (id),
	version integer not null default 1,
	created_by text not null,
	updated_by text not null,
	created_at timestamptz not null default now(),
	updated_at timestamptz not null default now(),
	-- Learned from resolutions: how often it happened and how long it took.
	times_seen integer not null default 0,
	last_seen_at timestamptz,
	acknowledged_count integer not null default 0,
	acknowledge_seconds_total double precision not null default 0,
	resolved_count integer not null default 0,
	resolve_seconds_total double precision not null default 0,
	-- Maintained by the trigger below: title and tags weigh most, then symptoms, then cause and solution.
	search tsvector not null default ''::tsvector,
	-- The title's lexemes (stemmed, no stop words): an alert whose title contains all of them is this incident.
	title_lexemes text[] not null default '{}',
	-- The rarest of them when written. An alert title can only contain all of an entry's lexemes if it
	-- contains this one, so matching looks up entries by anchor: short lists, however large the base.
	title_anchor text
);
create index incidents_fingerprints_idx on incidents using gin (fingerprints);
create index incidents_search_idx on incidents using gin (search);
create index incidents_title_anchor_idx on incidents (title_anchor);
create index incidents_updated_idx on incidents (updated_at desc, id desc);

-- The words the knowledge base uses, for correcting typos in a search (the pg_trgm documentation's
-- approach): a query word is replaced by the most similar known word, then searched for as usual.
-- Insert-only: a word no entry uses any more only costs a search that finds nothing.
create table incident_words (word text primary key);
create index incident_words_trgm_idx on incident_words using gin (word gin_trgm_ops);

-- How many entry titles use each lexeme (counted when a title is written; an upper bound).
-- Writers of entries hold the tenant's knowledge-base advisory lock, so these upserts never run
-- concurrently (two multi-row inserts locking the same words in different orders could deadlock).
create table incident_title_terms (term text primary key, entries integer not null);

create function incidents_search_vector() returns trigger language plpgsql as $$
begin
	new.search :=
		setweight(to_tsvector('english', new.title), 'A') ||
		setweight(to_tsvector('english', array_to_string(new.tags, ' ')), 'A') ||
		setweight(to_tsvector('english', new.symptoms), 'B') ||
		setweight(to_tsvector('english', new.root_cause), 'C') ||
		setweight(to_tsvector('english', new.solution), 'C');
	-- Triggers run with the caller's search_path: every statement names the entry's own schema.
	if tg_op = 'INSERT' or new.title is distinct from old.title then
		new.title_lexemes := tsvector_to_array(to_tsvector('english', new.title));
		execute format(
			'insert into %I.incident_title_terms as t (term, entries) select unnest($1), 1
			on conflict (term) do update set entries = t.entries + 1', tg_table_schema)
		using new.title_lexemes;
		execute format(
			'select term from %I.incident_title_terms where term = any($1) order by entries, term limit 1',
			tg_table_schema)
		into new.title_anchor using new.title_lexemes;
	end if;
	execute format(
		'insert into %I.incident_words (word) select w from unnest($1) as w where w ~ ''^[a-z]{3,40}$'' on conflict do nothing',
		tg_table_schema)
	using tsvector_to_array(to_tsvector('simple',
		concat_ws(' ', new.title, array_to_string(new.tags, ' '), new.symptoms, new.root_cause, new.solution)));
	return new;
end
$$;
create trigger incidents_search before insert or update of title, tags, symptoms, root_cause, solution
	on incidents for each row execute function incidents_search_vector();

-- Every version of every entry: who, when, what changed.
create table incident_versions (
	incident_id uuid not null references incidents (id) on delete cascade,
	version integer not null,
	-- created | updated | merged (this entry absorbed another) | merged_into (this entry was merged away)
	action text not null,
	-- The entry's fields after this version, and the fields that changed ({field: {from, to}}).
	snapshot jsonb not null,
	changes jsonb not null,
	changed_by text not null,
	changed_at timestamptz not null,
	primary key (incident_id, version)
);

-- "New issue resolved. Add to knowledge base?": one per alert resolved by a person with no known entry.
create table kb_prompts (
	id uuid primary key default gen_random_uuid(),
	alert_id uuid not null constraint kb_prompts_alert_key unique,
	fingerprint text not null,
	title text not null,
	labels jsonb not null,
	resolved_by text not null,
	resolution_notes text,
	status text not null default 'pending' constraint kb_prompts_status_check
		check (status in ('pending', 'accepted', 'dismissed')),
	incident_id uuid references incidents (id),
	created_at timestamptz not null default now()
);
create index kb_prompts_pending_idx on kb_prompts (created_at desc) where status = 'pending';
