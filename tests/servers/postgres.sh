#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL for the test suites; the URL goes to <dir>/pg.url.
#
#   tests/servers/postgres.sh start <dir>   # writes <dir>/pg.url (and <dir>/pg.base)
#   tests/servers/postgres.sh stop  <dir>   # stops the server, removes its data
#
# With TXOUTBOX_TEST_PG_URL set, `start` writes that URL and starts nothing (point the
# tests at your own server); TXOUTBOX_TEST_PG_PORT sets the first port tried. Without PostgreSQL installed, `start` fails under CI (CI=true)
# and otherwise writes no URL, so the tests skip. A server that is installed but does not
# start is always a failure. The data lives in a private mktemp dir under /tmp (owned by
# the `postgres` user when run as root: PostgreSQL refuses to run as root), served on
# 127.0.0.1 and a unix socket in that dir, with fsync off: tests that need durability start
# their own instance.
set -euo pipefail

usage() {
  echo "usage: $0 start|stop <dir>" >&2
  exit 2
}

[[ $# -eq 2 ]] || usage
action=$1
dir=$2
if [[ $action == start ]]; then
  mkdir -p -- "$dir"
elif [[ ! -d $dir ]]; then
  exit 0
fi
dir=$(cd -- "$dir" && pwd)

log() { echo "postgres.sh: $*" >&2; }

under_ci() {
  case "${CI:-}" in
    true | TRUE | True | 1 | yes) return 0 ;;
    *) return 1 ;;
  esac
}

# Runs a command as the server's owner: `postgres` when we are root, else ourselves.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
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

# True when something accepts TCP connections on 127.0.0.1:$1.
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Stops the instance recorded in <dir>/pg.base (if any) and removes its files.
stop_recorded() {
  local base
  if [[ -f $dir/pg.base ]]; then
    base=$(<"$dir/pg.base")
    if [[ -n $base && -d $base/data ]]; then
      local bindir
      bindir=$(find_bindir) || bindir=""
      if [[ -n $bindir ]]; then
        (cd "$base" && as_owner "$bindir/pg_ctl" -D "$base/data" -m fast -w -t 60 stop) \
          >/dev/null 2>&1 || true
      fi
    fi
    # Only ever remove a directory this script created.
    if [[ $base == /tmp/txoutbox-pg.* ]]; then
      rm -rf -- "$base"
    fi
    rm -f -- "$dir/pg.base"
  fi
  rm -f -- "$dir/pg.url"
}

start() {
  # Never trust state from an earlier run: stop whatever it recorded, drop its URL.
  stop_recorded

  if [[ -n ${TXOUTBOX_TEST_PG_URL:-} ]]; then
    printf '%s\n' "$TXOUTBOX_TEST_PG_URL" >"$dir/pg.url"
    log "using TXOUTBOX_TEST_PG_URL (no server started)"
    return 0
  fi

  local bindir
  if ! bindir=$(find_bindir); then
    if under_ci; then
      log "PostgreSQL server binaries not found (install postgresql); failing under CI"
      return 1
    fi
    log "PostgreSQL server binaries not found; PostgreSQL tests will skip"
    return 0
  fi
  if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
    log "running as root but there is no 'postgres' user to run the server as"
    return 1
  fi

  local base
  base=$(mktemp -d /tmp/txoutbox-pg.XXXXXX)
  printf '%s\n' "$base" >"$dir/pg.base"
  chmod 700 "$base"
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres:postgres "$base"
  fi

  # Run from inside the private dir: the caller's cwd (under /root, say) may be unreadable.
  cd "$base"
  if ! as_owner "$bindir/initdb" -D "$base/data" -U postgres -A trust -E UTF8 --locale=C \
    --no-sync >"$base/initdb.log" 2>&1; then
    log "initdb failed:"
    cat "$base/initdb.log" >&2
    return 1
  fi
  cat >>"$base/data/postgresql.conf" <<EOF

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
EOF

  # Try ports from a random start; another process may take a port between probe and bind,
  # so a failed start on a busy port moves on to the next one.
  local port=$((${TXOUTBOX_TEST_PG_PORT:-$((20000 + RANDOM % 30000))} - 1)) attempt
  for attempt in $(seq 1 25); do
    port=$((port + 1))
    if port_in_use "$port"; then
      continue
    fi
    : >"$base/server.log"
    if [[ $(id -u) -eq 0 ]]; then
      chown postgres:postgres "$base/server.log"
    fi
    if as_owner "$bindir/pg_ctl" -D "$base/data" -l "$base/server.log" -w -t 60 \
      -o "-p $port" start >/dev/null 2>&1; then
      local url="postgresql://postgres@127.0.0.1:$port/postgres"
      printf '%s\n' "$url" >"$dir/pg.url.tmp"
      mv -f -- "$dir/pg.url.tmp" "$dir/pg.url"
      log "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') at $url (data $base)"
      return 0
    fi
    if grep -qiE 'could not (bind|create listen)|address already in use' "$base/server.log"; then
      log "port $port busy, trying another (attempt $attempt)"
      continue
    fi
    log "pg_ctl start failed:"
    cat "$base/server.log" >&2
    return 1
  done
  log "no free port found after $attempt attempts"
  return 1
}

case "$action" in
  start)
    # In a subshell outside any `if`, so that `set -e` still applies inside start().
    set +e
    (
      set -e
      start
    )
    status=$?
    set -e
    if [[ $status -ne 0 ]]; then
      # Leave nothing behind: a failed start must not leave a half-made server or URL.
      stop_recorded
      exit 1
    fi
    ;;
  stop) stop_recorded ;;
  *) usage ;;
esac
