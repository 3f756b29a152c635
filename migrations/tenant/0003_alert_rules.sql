-- Tenant severity rules: when an alert states no severity of its own, the first enabled rule
-- (by position) whose matchers all match its labels decides.

create table alert_rules (
	id uuid primary key default gen_random_uuid(),
	name text not null,
	position integer not null,
	matchers jsonb not null,
	severity text not null
		constraint alert_rules_severity_check check (severity in ('critical', 'major', 'minor', 'warning', 'info')),
	enabled boolean not null default true,
	created_at timestamptz not null default now(),
	updated_at timestamptz not null default now(),
	version integer not null default 1
);
create index alert_rules_position_idx on alert_rules (position, created_at);
