-- pg_trgm: typo-tolerant knowledge-base search (similarity of titles). A trusted extension since
-- PostgreSQL 13, so a database owner may create it; PGlite ships it compiled in.
create extension if not exists pg_trgm with schema public;

-- A key for an automated responder (an AI SRE agent, a remediation bot). When such a key resolves an
-- alert with notes, the knowledge base learns an entry from them, marked for human review.
alter table api_keys add column agent boolean not null default false;
