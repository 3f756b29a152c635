-- Who opened an alert, kept on the alert: its "created" timeline entry is read from the row
-- (first_seen_at, created_by) instead of being written as an event row, a fifth of the database's
-- work per new alert (docs/adr/0008). Alerts opened before keep their stored "created" event.
alter table alerts add column created_by text;
