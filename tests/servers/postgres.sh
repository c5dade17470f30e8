#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL for the test suites; the URL goes to <dir>/pg.url.
#
#   tests/servers/postgres.sh start <dir>   # writes <dir>/pg.url (and <dir>/pg.base)
#   tests/servers/postgres.sh stop  <dir>   # stops the server, removes its data
#
# With TXOUTBOX_TEST_PG_URL set, `start` writes that URL and starts nothing (point the
# tests at your own server); TXOUTBOX_TEST_PG_PORT sets the first port tried. Without
# PostgreSQL installed, `start` fails under CI (CI=true) and otherwise writes no URL, so
# the tests skip. A server that is installed but does not start is always a failure. The
# data lives in a private mktemp dir under /tmp (owned by the `postgres` user when run as
# root: PostgreSQL refuses to run as root), served on 127.0.0.1 and a unix socket in that
# dir, with fsync off: tests that need durability start their own instance.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

# Runs a command as the server's owner: `postgres` when we are root, else ourselves.
as_owner() {
  if as_root; then
    local runuser
    runuser=$(command -v runuser || echo /usr/sbin/runuser)
    "$runuser" -u postgres -- "$@"
  else
    "$@"
  fi
}

# The directory holding initdb/pg_ctl: pg_config's bindir, else the newest Debian install.
find_bindir() {
  local candidate
  if command -v pg_config >/dev/null 2>&1; then
    candidate=$(pg_config --bindir 2>/dev/null || true)
    if [[ -n $candidate && -x $candidate/initdb && -x $candidate/pg_ctl ]]; then
      echo "$candidate"
      return 0
    fi
  fi
  # shellcheck disable=SC2012 # Debian's version dirs are plain numbers
  for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x $candidate/initdb && -x $candidate/pg_ctl ]]; then
      echo "$candidate"
      return 0
    fi
  done
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return 0
  fi
  return 1
}

# Stops the PostgreSQL running from the private dir $1, if any (pg_ctl stop -m fast).
stop_server() {
  if [[ -d $1/data ]]; then
    local bindir
    bindir=$(find_bindir) || bindir=""
    if [[ -n $bindir ]]; then
      (cd "$1" && as_owner "$bindir/pg_ctl" -D "$1/data" -m fast -w -t 60 stop) \
        >/dev/null 2>&1 || true
    fi
  fi
}

# Finds the binaries, makes a new private dir and a cluster in <base>/data, and starts it.
start_server() {
  if ! bindir=$(find_bindir); then
    missing_server "PostgreSQL server binaries not found" postgresql PostgreSQL
    return
  fi
  need_user postgres
  make_base
  give_to postgres "$base"
  if ! as_owner "$bindir/initdb" -D "$base/data" -U postgres -A trust -E UTF8 --locale=C \
    --no-sync >"$base/initdb.log" 2>&1; then
    log "initdb failed:"
    cat "$base/initdb.log" >&2
    return 1
  fi
  cat >>"$base/data/postgresql.conf" <<CONF

# txoutbox test server (tests/servers/postgres.sh)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$base'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
logging_collector = off
CONF
  start_on_free_port
}

# Starts the cluster on port $1 (see start_on_free_port); port taken when the log says so.
start_on() {
  local port=$1
  : >"$base/server.log"
  give_to postgres "$base/server.log"
  if as_owner "$bindir/pg_ctl" -D "$base/data" -l "$base/server.log" -w -t 60 \
    -o "-p $port" start >/dev/null 2>&1; then
    local url="postgresql://postgres@127.0.0.1:$port/postgres"
    write_url "$url"
    log "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') at $url (data $base)"
    return 0
  fi
  if grep -qiE 'could not (bind|create listen)|address already in use' "$base/server.log"; then
    port_taken=1
    return 0
  fi
  log "pg_ctl start failed:"
  cat "$base/server.log" >&2
  return 1
}

server_main pg PG /tmp/txoutbox-pg. "$@"
