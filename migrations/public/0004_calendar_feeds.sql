-- Calendar feeds: a calendar client fetches a roster's shifts with a secret in the URL, and no other
-- credential. Only a SHA-256 of the secret is kept; it names the tenant and roster it opens.
create table calendar_feeds (
	token_hash text primary key,
	tenant_id uuid not null references tenants (id) on delete cascade,
	roster_id uuid not null,
	created_at timestamptz not null default now()
);
create index calendar_feeds_roster_idx on calendar_feeds (tenant_id, roster_id);
