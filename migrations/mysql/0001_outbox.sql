-- txoutbox MariaDB schema, version 1 - outbox, dead letters, config, membership, leases, inbox.
-- Template - {{schema}} is the quoted database, {{partitions}} the partition count N.
-- Statements are separated by marker lines and sent one at a time (MariaDB refuses several
-- statements in one string). DDL commits implicitly, so every statement is idempotent
-- (IF NOT EXISTS, INSERT IGNORE) and a run cut short can simply be repeated.
-- No colon appears in this file - SOCI's MariaDB backend reads a colon as a bind parameter.
-- Times are DATETIME(6) in UTC from UTC_TIMESTAMP(6), the database clock.
-- Text keys use utf8mb4_nopad_bin - byte-exact, so 'a' and 'a ' are different keys.
CREATE DATABASE IF NOT EXISTS {{schema}} CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin
-- txoutbox:statement
CREATE TABLE IF NOT EXISTS {{schema}}.outbox_config (
  singleton   TINYINT NOT NULL DEFAULT 1 PRIMARY KEY CHECK (singleton = 1),
  partitions  INT NOT NULL CHECK (partitions BETWEEN 1 AND 4096)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin
-- txoutbox:statement
INSERT IGNORE INTO {{schema}}.outbox_config (singleton, partitions) VALUES (1, {{partitions}})
-- txoutbox:statement
-- Debezium's outbox columns (id, aggregatetype, aggregateid, type, payload) keep their
-- names; an INSERT of just those five is a complete enqueue from any language - the
-- partition is computed by the database, exactly as in PostgreSQL and C++ (the first 8
-- hex digits of md5(aggregateid) as an unsigned 32-bit integer, modulo N).
-- payload is JSON kept byte for byte (LONGTEXT checked by json_valid).
-- seq is AUTO_INCREMENT (persistent in InnoDB, never reused) - a requeued row goes last.
-- aggregateid is at most 255 characters here (index key length).
CREATE TABLE IF NOT EXISTS {{schema}}.outbox (
  id             CHAR(36) NOT NULL DEFAULT (UUID()) PRIMARY KEY,
  aggregatetype  VARCHAR(1024) NOT NULL CHECK (aggregatetype <> ''),
  aggregateid    VARCHAR(255) NOT NULL CHECK (aggregateid <> ''),
  type           VARCHAR(1024) NOT NULL CHECK (type <> ''),
  payload        LONGTEXT NOT NULL CHECK (json_valid(payload)),
  headers        LONGTEXT NOT NULL DEFAULT '{}' CHECK (json_valid(headers)),
  seq            BIGINT NOT NULL AUTO_INCREMENT UNIQUE,
  partition_no   INT AS (CAST(CONV(SUBSTR(MD5(aggregateid), 1, 8), 16, 10) AS UNSIGNED) % {{partitions}}) STORED,
  created_at     DATETIME(6) NOT NULL DEFAULT (UTC_TIMESTAMP(6)),
  available_at   DATETIME(6) NOT NULL DEFAULT (UTC_TIMESTAMP(6)),
  attempts       INT NOT NULL DEFAULT 0,
  last_error     TEXT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin
-- txoutbox:statement
-- The claim walks one partition in seq order.
CREATE UNIQUE INDEX IF NOT EXISTS outbox_partition_seq ON {{schema}}.outbox (partition_no, seq)
-- txoutbox:statement
-- The head-of-line rule - is there an earlier row of the same key still here?
CREATE INDEX IF NOT EXISTS outbox_partition_key_seq ON {{schema}}.outbox (partition_no, aggregateid, seq)
-- txoutbox:statement
CREATE TABLE IF NOT EXISTS {{schema}}.outbox_dead_letter (
  id             CHAR(36) NOT NULL PRIMARY KEY,
  aggregatetype  VARCHAR(1024) NOT NULL,
  aggregateid    VARCHAR(255) NOT NULL,
  type           VARCHAR(1024) NOT NULL,
  payload        LONGTEXT NOT NULL,
  headers        LONGTEXT NOT NULL DEFAULT '{}',
  seq            BIGINT NOT NULL,
  partition_no   INT NOT NULL,
  created_at     DATETIME(6) NOT NULL,
  attempts       INT NOT NULL,
  reason         TEXT NOT NULL,
  last_error     TEXT NULL,
  failed_at      DATETIME(6) NOT NULL DEFAULT (UTC_TIMESTAMP(6))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin
-- txoutbox:statement
CREATE INDEX IF NOT EXISTS outbox_dead_letter_failed_at ON {{schema}}.outbox_dead_letter (failed_at)
-- txoutbox:statement
CREATE TABLE IF NOT EXISTS {{schema}}.outbox_member (
  owner       VARCHAR(255) NOT NULL PRIMARY KEY,
  expires_at  DATETIME(6) NOT NULL,
  joined_at   DATETIME(6) NOT NULL DEFAULT (UTC_TIMESTAMP(6))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin
-- txoutbox:statement
-- One row per partition, created here - leases are only ever updated, never inserted.
-- expires_at 1970-01-01 stands for PostgreSQL's -infinity (free).
-- batch_* and suspect_through are the relay's per-batch crash-loop bookkeeping.
CREATE TABLE IF NOT EXISTS {{schema}}.outbox_lease (
  partition_no     INT NOT NULL PRIMARY KEY,
  owner            VARCHAR(255) NULL,
  epoch            BIGINT NOT NULL DEFAULT 0,
  expires_at       DATETIME(6) NOT NULL DEFAULT '1970-01-01',
  batch_head_seq   BIGINT NOT NULL DEFAULT 0,
  batch_last_seq   BIGINT NOT NULL DEFAULT 0,
  batch_starts     INT NOT NULL DEFAULT 0,
  suspect_through  BIGINT NOT NULL DEFAULT 0
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin
-- txoutbox:statement
INSERT IGNORE INTO {{schema}}.outbox_lease (partition_no)
WITH RECURSIVE p(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM p WHERE n + 1 < {{partitions}})
SELECT n FROM p
-- txoutbox:statement
CREATE TABLE IF NOT EXISTS {{schema}}.outbox_inbox (
  consumer      VARCHAR(255) NOT NULL,
  message_id    VARCHAR(255) NOT NULL,
  processed_at  DATETIME(6) NOT NULL DEFAULT (UTC_TIMESTAMP(6)),
  PRIMARY KEY (consumer, message_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin
-- txoutbox:statement
CREATE INDEX IF NOT EXISTS outbox_inbox_processed_at ON {{schema}}.outbox_inbox (processed_at)
