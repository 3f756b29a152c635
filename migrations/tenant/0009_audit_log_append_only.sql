-- The audit log is append-only: no API alters or deletes its rows, and neither may a bug or a
-- hand-written statement. Dropping the tenant's schema (deleting the tenant) still removes it.
create function audit_log_append_only() returns trigger
language plpgsql as $$
begin
	raise exception 'audit_log is append-only: % is not allowed', tg_op using errcode = '42501';
end;
$$;

create trigger audit_log_append_only
	before update or delete or truncate on audit_log
	for each statement execute function audit_log_append_only();
