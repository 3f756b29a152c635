-- Runs inside each tenant's schema (tenant_<slug>): unqualified names land there.

-- Every mutation of a tenant's data writes one row here, in the same transaction as the change.
create table audit_log (
	id uuid primary key default gen_random_uuid(),
	at timestamptz not null default now(),
	actor_type text not null constraint audit_log_actor_type_check
		check (actor_type in ('api_key', 'member', 'platform_admin', 'agent', 'system')),
	actor_id text,
	actor_role text,
	action text not null,
	target_type text not null,
	target_id text,
	before jsonb,
	after jsonb,
	request_id text,
	source_ip text
);
create index audit_log_at_idx on audit_log (at desc);
create index audit_log_target_idx on audit_log (target_type, target_id);
