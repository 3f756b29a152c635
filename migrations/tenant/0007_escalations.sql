-- Tiers now time out in seconds (the API said minutes): short tiers make the engine testable and
-- benchmarkable, and the UI shows minutes anyway.
update escalation_policies
set tiers = (
	select coalesce(jsonb_agg(
		(tier - 'timeoutMinutes') || jsonb_build_object('timeoutSeconds', (tier ->> 'timeoutMinutes')::integer * 60)
		order by position), '[]'::jsonb)
	from jsonb_array_elements(tiers) with ordinality as t (tier, position)
)
where tiers::text like '%timeoutMinutes%';

-- A member's own follow-ups whenever a page reaches them ([{channel, afterMinutes}]): push at 0,
-- SMS after 1 minute, a call after 3, unless someone acknowledged.
alter table members add column notification_rules jsonb not null default '[]'::jsonb;

-- Which policy pages for an alert: routes are tried by position, the first whose label matchers all
-- match wins; the row with no matchers is the tenant's default.
create table escalation_routes (
	position integer primary key,
	matchers jsonb not null,
	policy_id uuid not null references escalation_policies (id)
);

-- One escalation per alert. The policy is copied in when it starts, so editing the policy later
-- does not change pages already in flight.
create table escalations (
	id uuid primary key default gen_random_uuid(),
	alert_id uuid not null constraint escalations_alert_key unique references alerts (id) on delete cascade,
	policy_id uuid references escalation_policies (id) on delete set null,
	policy jsonb not null,
	status text not null default 'active'
		constraint escalations_status_check check (status in ('active', 'acknowledged', 'resolved', 'exhausted')),
	-- The next thing to do: tier `tier` of pass `attempt`, at next_action_at.
	attempt integer not null default 0,
	tier integer not null default 0,
	next_action_at timestamptz,
	started_at timestamptz not null,
	stopped_at timestamptz
);
create index escalations_active_idx on escalations (next_action_at) where status = 'active';

-- The outbox: every page is a row before it is sent. The idempotency key (escalation, pass, tier,
-- person, channel) makes a repeated tier impossible; status 'sending' marks a send that may have
-- happened, so a worker that finds one left by a dead worker asks the provider before sending again.
create table notifications (
	id uuid primary key default gen_random_uuid(),
	idempotency_key text not null constraint notifications_key unique,
	escalation_id uuid references escalations (id) on delete cascade,
	alert_id uuid not null,
	member_id uuid references members (id) on delete set null,
	attempt integer not null,
	tier integer not null,
	channel text not null constraint notifications_channel_check
		check (channel in ('slack_dm', 'slack_channel', 'push', 'sms', 'phone', 'inbox')),
	-- A Slack user or channel id, or a phone number; null for the inbox.
	destination text,
	ack_code text,
	-- What the page says (title, severity, labels, known fix), fixed when the tier fired.
	message jsonb not null,
	status text not null default 'pending'
		constraint notifications_status_check check (status in ('pending', 'sending', 'sent', 'failed', 'cancelled')),
	tries integer not null default 0,
	provider_ref text,
	last_error text,
	created_at timestamptz not null,
	-- When it is to go out: the tier's instant, or later for a member's follow-up rule.
	scheduled_at timestamptz not null,
	sent_at timestamptz,
	read_at timestamptz
);
create index notifications_member_idx on notifications (member_id, created_at desc);
create index notifications_escalation_idx on notifications (escalation_id);
-- The throttle counts what reached a phone number lately.
create index notifications_destination_idx on notifications (destination, channel, sent_at) where status = 'sent';

-- Browsers and installed web apps a member subscribed to Web Push (VAPID). A push service that
-- answers 404/410 for an endpoint has dropped it, and the row is deleted.
create table push_subscriptions (
	id uuid primary key default gen_random_uuid(),
	member_id uuid not null references members (id) on delete cascade,
	endpoint text not null constraint push_subscriptions_endpoint_key unique,
	p256dh text not null,
	auth text not null,
	created_at timestamptz not null
);
create index push_subscriptions_member_idx on push_subscriptions (member_id);
