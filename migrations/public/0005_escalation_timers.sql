-- Due work of every tenant's escalations and notification outbox, in one index. The state lives in
-- the tenant's schema; a row here only says "look at that row of that tenant at due_at", so a
-- worker finds what is due across all tenants with one query and claims it with
-- FOR UPDATE SKIP LOCKED (https://www.postgresql.org/docs/current/sql-select.html#SQL-FOR-UPDATE-SHARE).
-- due_at doubles as the row's version: a worker acts only if it is still the due_at it read.
create table escalation_timers (
	tenant_id uuid not null references tenants (id) on delete cascade,
	kind text not null constraint escalation_timers_kind_check check (kind in ('escalation', 'notification')),
	ref_id uuid not null,
	due_at timestamptz not null,
	primary key (tenant_id, kind, ref_id)
);
create index escalation_timers_due_idx on escalation_timers (due_at);

-- Codes people reply with by SMS (`ACK 123456`). Inbound SMS reach one webhook for every tenant, so
-- the code names the tenant and the notification it answers; it expires.
create table sms_ack_codes (
	code text primary key,
	tenant_id uuid not null references tenants (id) on delete cascade,
	notification_id uuid not null,
	expires_at timestamptz not null
);
create index sms_ack_codes_expiry_idx on sms_ack_codes (expires_at);
