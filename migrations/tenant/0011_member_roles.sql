-- A member's role in the tenant (spec §5.2): what they may do when they sign in with the tenant's
-- identity provider and the token grants no role of its own.
alter table members add column role text not null default 'engineer'
	constraint members_role_check check (role in ('admin', 'manager', 'engineer', 'readonly'));
