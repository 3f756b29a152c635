-- An alert linked to a knowledge-base entry only when its resolution taught the knowledge base
-- (an agent's fix) was not a hit: the admin statistics' hit rate counts alerts that arrived with a
-- known fix.
alter table alerts add column kb_learned boolean not null default false;
