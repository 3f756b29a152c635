-- Local accounts, for teams without an identity provider and for the embedded default: a member may
-- sign in with their e-mail address and a password, stored only as a scrypt hash.
alter table members add column password_hash text;
