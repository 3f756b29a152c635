-- Which tenant a Slack workspace (team) belongs to. Slack's requests name only the team, so the
-- lookup must work before the tenant is known; everything else about the installation (its bot
-- token, channels) lives in the tenant's schema (slack_installation).
create table slack_teams (
	team_id text primary key,
	tenant_id uuid not null constraint slack_teams_tenant_key unique references tenants (id) on delete cascade
);
