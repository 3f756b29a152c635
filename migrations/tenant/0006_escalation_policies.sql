-- Escalation policies (spec §4.2): ordered tiers of targets and channels, each with a timeout.
-- Tiers are stored whole (jsonb): a policy is edited as a unit, and a running escalation keeps a
-- snapshot of the version it started with.
create table escalation_policies (
	id uuid primary key default gen_random_uuid(),
	name text not null constraint escalation_policies_name_key unique,
	description text not null default '',
	tiers jsonb not null,
	repeat integer not null default 0 constraint escalation_policies_repeat_check check (repeat between 0 and 10),
	emergency_channel text,
	version integer not null default 1,
	created_at timestamptz not null default now(),
	updated_at timestamptz not null default now()
);
