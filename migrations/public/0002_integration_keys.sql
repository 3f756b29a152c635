-- A key may be limited to one integration's webhook (e.g. "alertmanager"), for senders that can
-- set no header and carry the key in the URL: such a key can send alerts there and do nothing else.
alter table api_keys add column integration text;
