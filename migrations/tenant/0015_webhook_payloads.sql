-- A webhook's request body, kept verbatim once per request instead of a copy of each alert's object
-- in its own row (docs/adr/0008). An Alertmanager group of 50 alerts used to store 50 objects, each
-- parsed into jsonb by the upsert; now its body is stored once, as the text that arrived, and each
-- alert points at its object in it (`payload_path`, a path for `#>`: {alerts,3}, {0} or {}).
-- Kept as text: never parsed on the write path, and byte for byte what the sender sent.
create table webhook_payloads (
	id uuid primary key,
	received_at timestamptz not null,
	body text not null
);
-- Stored as it is, not compressed: PostgreSQL's pglz cost more CPU per alert than the bytes it
-- saves are worth on the ingest path (bench:ingest, ADR 0008); it is what `raw` took before.
alter table webhook_payloads alter column body set storage external;

-- Alerts from PagerDuty's endpoint keep `raw` (its body holds the routing key, a credential), as do
-- alerts opened before this migration. No foreign key: the upsert writes the payload and the alerts
-- that point at it in one statement, and a key would be checked once per alert.
alter table alerts alter column raw drop not null;
alter table alerts add column payload_id uuid;
alter table alerts add column payload_path text[];
