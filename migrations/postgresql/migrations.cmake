# The shipped PostgreSQL migrations, in apply order (embedded and installed; no glob).
set(TXOUTBOX_MIGRATIONS_postgresql
  0001_outbox.sql
)
