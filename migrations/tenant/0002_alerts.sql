-- Alerts and their timeline. One row per alert (never per Alertmanager group).

create table alerts (
	id uuid primary key default gen_random_uuid(),
	source text not null,
	fingerprint text not null,
	status text not null constraint alerts_status_check check (status in ('firing', 'acknowledged', 'resolved')),
	severity text not null
		constraint alerts_severity_check check (severity in ('critical', 'major', 'minor', 'warning', 'info')),
	title text not null,
	description text not null default '',
	labels jsonb not null default '{}'::jsonb,
	annotations jsonb not null default '{}'::jsonb,
	starts_at timestamptz not null,
	ends_at timestamptz,
	generator_url text,
	occurrences integer not null default 1,
	first_seen_at timestamptz not null,
	last_seen_at timestamptz not null,
	acknowledged_at timestamptz,
	acknowledged_by text,
	resolved_at timestamptz,
	resolved_by text,
	resolution_notes text,
	-- The knowledge-base entry matched at ingest (owned by the incident domain; no FK across domains).
	kb_incident_id uuid,
	raw jsonb not null
);

-- At most one open alert per fingerprint: dedup stays right when Redis is absent, restarted or flushed.
create unique index alerts_open_fingerprint_key on alerts (fingerprint) where status <> 'resolved';
create index alerts_last_seen_idx on alerts (last_seen_at desc, id desc);
create index alerts_status_last_seen_idx on alerts (status, last_seen_at desc, id desc);
create index alerts_labels_idx on alerts using gin (labels jsonb_path_ops);

create table alert_events (
	id uuid primary key default gen_random_uuid(),
	alert_id uuid not null references alerts (id) on delete cascade,
	at timestamptz not null,
	type text not null constraint alert_events_type_check
		check (type in ('created', 'deduplicated', 'acknowledged', 'resolved', 'escalated', 'notified', 'commented')),
	actor text,
	details jsonb not null default '{}'::jsonb
);
create index alert_events_alert_idx on alert_events (alert_id, at);
