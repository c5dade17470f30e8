# The shipped SQLite migrations, in apply order (embedded and installed; no glob).
set(TXOUTBOX_MIGRATIONS_sqlite
  0001_outbox.sql
)
