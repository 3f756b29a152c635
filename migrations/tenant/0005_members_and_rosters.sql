-- Members of a tenant and the on-call rosters they take part in.

-- People who can be on call. Contact methods are tried in order when paging ([{type, value}],
-- type slack | phone | sms | email); phone numbers are personal data and never logged.
create table members (
	id uuid primary key default gen_random_uuid(),
	name text not null,
	email text not null constraint members_email_key unique,
	time_zone text not null,
	contact_methods jsonb not null default '[]'::jsonb,
	version integer not null default 1,
	created_at timestamptz not null default now(),
	updated_at timestamptz not null default now()
);

create table rosters (
	id uuid primary key default gen_random_uuid(),
	name text not null constraint rosters_name_key unique,
	description text not null default '',
	time_zone text not null,
	version integer not null default 1,
	created_at timestamptz not null default now(),
	updated_at timestamptz not null default now()
);

-- A layer is a rotation; where layers overlap, the higher position wins.
create table roster_layers (
	id uuid primary key default gen_random_uuid(),
	roster_id uuid not null references rosters (id) on delete cascade,
	name text not null,
	position integer not null,
	-- Member ids in rotation order.
	participants uuid[] not null,
	shift_unit text not null constraint roster_layers_shift_unit_check check (shift_unit in ('hours', 'days', 'weeks')),
	shift_count integer not null constraint roster_layers_shift_count_check check (shift_count > 0),
	-- Wall-clock "HH:MM" in time_zone, or in the roster's zone when null.
	handoff_time text not null,
	time_zone text,
	starts_at timestamptz not null,
	-- Weekly windows the layer covers ([{days, start, end}]); empty covers all the time.
	restrictions jsonb not null default '[]'::jsonb,
	-- A calendar layer (imported from iCalendar) lists its shifts ([{memberId, start, end}]) instead
	-- of rotating; null for a rotation.
	calendar jsonb
);
create index roster_layers_roster_idx on roster_layers (roster_id, position);

-- Someone else takes over, from .. until; on top of every layer.
create table roster_overrides (
	id uuid primary key default gen_random_uuid(),
	roster_id uuid not null references rosters (id) on delete cascade,
	member_id uuid not null references members (id),
	starts_at timestamptz not null,
	ends_at timestamptz not null,
	created_by text not null,
	created_at timestamptz not null default now(),
	constraint roster_overrides_period_check check (ends_at > starts_at)
);
create index roster_overrides_roster_idx on roster_overrides (roster_id, ends_at);

-- Handoffs the worker has announced ("you are on call from … until …"): one row per handoff, so
-- several workers announce each once.
create table roster_handoffs (
	roster_id uuid not null references rosters (id) on delete cascade,
	at timestamptz not null,
	incoming_member_id uuid references members (id),
	outgoing_member_id uuid references members (id),
	shift_end timestamptz,
	recorded_at timestamptz not null default now(),
	primary key (roster_id, at)
);
