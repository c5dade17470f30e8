-- txoutbox PostgreSQL least-privilege grants: a template, NOT applied by migrate().
--
-- Placeholders: {{schema}} the quoted schema; {{writer_role}}, {{relay_role}},
-- {{consumer_role}} the quoted names of roles you created beforehand, for example
--   CREATE ROLE orders_writer LOGIN PASSWORD '...';   -- services that enqueue
--   CREATE ROLE outbox_relay LOGIN PASSWORD '...';    -- the relay (and the txoutbox CLI)
--   CREATE ROLE orders_consumer LOGIN PASSWORD '...'; -- consumers using the inbox
-- Render it with sed, e.g.
--   sed -e 's/{{schema}}/"txoutbox"/g' -e 's/{{writer_role}}/orders_writer/g' ... roles.sql | psql
-- Statements are separated by marker lines like the migrations, so the same tools apply it.
--
-- The writer needs INSERT only: the library generates ids client-side and uses no
-- RETURNING, and NOTIFY needs no privilege. It cannot read the outbox.
GRANT USAGE ON SCHEMA {{schema}} TO {{writer_role}}
-- txoutbox:statement
GRANT INSERT ON {{schema}}.outbox TO {{writer_role}}
-- txoutbox:statement
-- The identity column's sequence (harmless where identity columns need no grant).
GRANT USAGE ON SEQUENCE {{schema}}.outbox_seq_seq TO {{writer_role}}
-- txoutbox:statement
-- The relay claims, acknowledges (deletes) and retries (updates) outbox rows, moves
-- failures to dead letters, requeues them (INSERT into the outbox), keeps its membership
-- and leases, and reads the partition count and schema version.
GRANT USAGE ON SCHEMA {{schema}} TO {{relay_role}}
-- txoutbox:statement
GRANT SELECT, INSERT, UPDATE, DELETE ON {{schema}}.outbox TO {{relay_role}}
-- txoutbox:statement
GRANT USAGE ON SEQUENCE {{schema}}.outbox_seq_seq TO {{relay_role}}
-- txoutbox:statement
GRANT SELECT, INSERT, DELETE ON {{schema}}.outbox_dead_letter TO {{relay_role}}
-- txoutbox:statement
GRANT SELECT, UPDATE ON {{schema}}.outbox_lease TO {{relay_role}}
-- txoutbox:statement
GRANT SELECT, INSERT, UPDATE, DELETE ON {{schema}}.outbox_member TO {{relay_role}}
-- txoutbox:statement
GRANT SELECT ON {{schema}}.outbox_config, {{schema}}.outbox_schema_version TO {{relay_role}}
-- txoutbox:statement
-- Consumers record processed ids and purge old ones.
GRANT USAGE ON SCHEMA {{schema}} TO {{consumer_role}}
-- txoutbox:statement
GRANT SELECT, INSERT, DELETE ON {{schema}}.outbox_inbox TO {{consumer_role}}
