-- txoutbox SQLite schema, version 1: outbox, dead letters, config, membership, leases, inbox.
-- Template: {{schema}} is the quoted database name ("main" or an attached one),
-- {{partitions}} the partition count N. Statements are separated by marker lines.
-- Times are INTEGER unix milliseconds computed by SQLite itself (the database clock):
--   CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)
CREATE TABLE {{schema}}.outbox_config (
  singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
  partitions  INTEGER NOT NULL CHECK (partitions BETWEEN 1 AND 4096)
)
-- txoutbox:statement
INSERT INTO {{schema}}.outbox_config (singleton, partitions) VALUES (1, {{partitions}})
-- txoutbox:statement
-- Debezium's outbox columns (id, aggregatetype, aggregateid, type, payload) keep their
-- names; an INSERT of just those five (id may be left out: a UUIDv4 text is generated) is
-- a complete enqueue from any language. Such a row lands in partition 0: SQLite computes
-- no md5, so the txoutbox writer sets partition_no itself and N defaults to 1 here.
-- seq is the rowid (AUTOINCREMENT: never reused, so a requeued row goes behind all others).
-- payload keeps the bytes written (TEXT), headers is a JSON object of strings.
CREATE TABLE {{schema}}.outbox (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  id             TEXT NOT NULL UNIQUE DEFAULT (
                   lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' ||
                   substr(lower(hex(randomblob(2))), 2) || '-' ||
                   substr('89ab', 1 + (abs(random()) % 4), 1) ||
                   substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
  aggregatetype  TEXT NOT NULL CHECK (aggregatetype <> ''),
  aggregateid    TEXT NOT NULL CHECK (aggregateid <> ''),
  type           TEXT NOT NULL CHECK (type <> ''),
  payload        TEXT NOT NULL CHECK (json_valid(payload)),
  headers        TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(headers)),
  partition_no   INTEGER NOT NULL DEFAULT 0 CHECK (partition_no >= 0),
  created_at     INTEGER NOT NULL DEFAULT (CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)),
  available_at   INTEGER NOT NULL DEFAULT (CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)),
  attempts       INTEGER NOT NULL DEFAULT 0,
  last_error     TEXT
)
-- txoutbox:statement
-- The claim walks one partition in seq order.
CREATE UNIQUE INDEX {{schema}}.outbox_partition_seq ON outbox (partition_no, seq)
-- txoutbox:statement
-- The head-of-line rule: is there an earlier row of the same key still here?
CREATE INDEX {{schema}}.outbox_partition_key_seq ON outbox (partition_no, aggregateid, seq)
-- txoutbox:statement
CREATE TABLE {{schema}}.outbox_dead_letter (
  id             TEXT PRIMARY KEY,
  aggregatetype  TEXT NOT NULL,
  aggregateid    TEXT NOT NULL,
  type           TEXT NOT NULL,
  payload        TEXT NOT NULL,
  headers        TEXT NOT NULL DEFAULT '{}',
  seq            INTEGER NOT NULL,
  partition_no   INTEGER NOT NULL,
  created_at     INTEGER NOT NULL,
  attempts       INTEGER NOT NULL,
  reason         TEXT NOT NULL,
  last_error     TEXT,
  failed_at      INTEGER NOT NULL DEFAULT (CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER))
)
-- txoutbox:statement
CREATE INDEX {{schema}}.outbox_dead_letter_failed_at ON outbox_dead_letter (failed_at)
-- txoutbox:statement
CREATE TABLE {{schema}}.outbox_member (
  owner       TEXT PRIMARY KEY,
  expires_at  INTEGER NOT NULL,
  joined_at   INTEGER NOT NULL DEFAULT (CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER))
)
-- txoutbox:statement
-- One row per partition, created here: leases are only ever updated, never inserted.
-- expires_at 0 (1970) stands for PostgreSQL's -infinity: free.
-- batch_* and suspect_through are the relay's per-batch crash-loop bookkeeping.
CREATE TABLE {{schema}}.outbox_lease (
  partition_no     INTEGER PRIMARY KEY,
  owner            TEXT,
  epoch            INTEGER NOT NULL DEFAULT 0,
  expires_at       INTEGER NOT NULL DEFAULT 0,
  batch_head_seq   INTEGER NOT NULL DEFAULT 0,
  batch_last_seq   INTEGER NOT NULL DEFAULT 0,
  batch_starts     INTEGER NOT NULL DEFAULT 0,
  suspect_through  INTEGER NOT NULL DEFAULT 0
)
-- txoutbox:statement
INSERT INTO {{schema}}.outbox_lease (partition_no)
WITH RECURSIVE p(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM p WHERE n + 1 < {{partitions}})
SELECT n FROM p
-- txoutbox:statement
CREATE TABLE {{schema}}.outbox_inbox (
  consumer      TEXT NOT NULL,
  message_id    TEXT NOT NULL,
  processed_at  INTEGER NOT NULL DEFAULT (CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)),
  PRIMARY KEY (consumer, message_id)
)
-- txoutbox:statement
CREATE INDEX {{schema}}.outbox_inbox_processed_at ON outbox_inbox (processed_at)
