# The shipped MariaDB migrations, in apply order (embedded and installed; no glob).
set(TXOUTBOX_MIGRATIONS_mysql
  0001_outbox.sql
)
