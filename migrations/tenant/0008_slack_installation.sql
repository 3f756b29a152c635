-- The tenant's Slack workspace: at most one row. Secrets are stored encrypted (AES-256-GCM with the
-- deployment's secret key); a null bot token means the deployment's OPSWATCH_SLACK_BOT_TOKEN, a null
-- signing secret the OpsWatch app's (a tenant that brings its own Slack app sets its own).
create table slack_installation (
	singleton boolean primary key default true constraint slack_installation_singleton check (singleton),
	team_id text not null,
	team_name text,
	bot_user_id text,
	bot_token_encrypted text,
	signing_secret_encrypted text,
	alert_channel text,
	emergency_channel text,
	installed_by text not null,
	created_at timestamptz not null,
	updated_at timestamptz not null
);
