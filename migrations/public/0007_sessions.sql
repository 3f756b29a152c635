-- Browser sessions of deployments without Redis (the embedded default): the session survives a
-- restart. Only a SHA-256 of the session id is stored, so a copy of the table opens no session.
create table sessions (
	id_hash text primary key,
	data jsonb not null,
	expires_at timestamptz not null
);
create index sessions_expiry_idx on sessions (expires_at);
