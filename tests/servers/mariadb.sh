#!/usr/bin/env bash
# Starts or stops a throwaway MariaDB for the test suites; the URL goes to <dir>/mysql.url.
#
#   tests/servers/mariadb.sh start <dir>   # writes <dir>/mysql.url (and <dir>/mysql.base)
#   tests/servers/mariadb.sh stop  <dir>   # stops the server, removes its data
#
# With TXOUTBOX_TEST_MYSQL_URL set, `start` writes that URL and starts nothing (point the
# tests at your own server); TXOUTBOX_TEST_MYSQL_PORT sets the first port tried. Without
# MariaDB installed, `start` fails under CI (CI=true) and otherwise writes no URL, so the
# tests skip. A server that is installed but does not start is always a failure. The data
# lives in a private mktemp dir under /tmp (owned by the `mysql` user when run as root),
# served on 127.0.0.1 and a unix socket in that dir, with durability off (no doublewrite,
# no flush at commit): tests that need durability start their own instance.
# The URL names the database txoutbox_test (created here); tests create their own.
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

log() { echo "mariadb.sh: $*" >&2; }

under_ci() {
  case "${CI:-}" in
    true | TRUE | True | 1 | yes) return 0 ;;
    *) return 1 ;;
  esac
}

# The server binary: mariadbd, else mysqld (older packaging), on PATH or in /usr/sbin.
find_server() {
  local candidate
  for candidate in mariadbd mysqld; do
    if command -v "$candidate" >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
    if [[ -x /usr/sbin/$candidate ]]; then
      echo "/usr/sbin/$candidate"
      return 0
    fi
  done
  return 1
}

find_tool() {
  local candidate
  for candidate in "$@"; do
    if command -v "$candidate" >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Stops the instance recorded in <dir>/mysql.base (if any) and removes its files.
stop_recorded() {
  local base pid i
  if [[ -f $dir/mysql.base ]]; then
    base=$(<"$dir/mysql.base")
    if [[ -n $base && -f $base/mariadbd.pid ]]; then
      pid=$(<"$base/mariadbd.pid")
      # Only signal the process this script started (its pid file, its datadir).
      if [[ -n $pid ]] && grep -qa -- "$base/data" "/proc/$pid/cmdline" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for i in $(seq 1 600); do
          kill -0 "$pid" 2>/dev/null || break
          sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
          kill -9 "$pid" 2>/dev/null || true
        fi
      fi
    fi
    # Only ever remove a directory this script created.
    if [[ $base == /tmp/txoutbox-mariadb.* ]]; then
      rm -rf -- "$base"
    fi
    rm -f -- "$dir/mysql.base"
  fi
  rm -f -- "$dir/mysql.url"
}

start() {
  # Never trust state from an earlier run: stop whatever it recorded, drop its URL.
  stop_recorded

  if [[ -n ${TXOUTBOX_TEST_MYSQL_URL:-} ]]; then
    printf '%s\n' "$TXOUTBOX_TEST_MYSQL_URL" >"$dir/mysql.url"
    log "using TXOUTBOX_TEST_MYSQL_URL (no server started)"
    return 0
  fi

  local server install client
  if ! server=$(find_server) || ! install=$(find_tool mariadb-install-db mysql_install_db) ||
    ! client=$(find_tool mariadb mysql); then
    if under_ci; then
      log "MariaDB server binaries not found (install mariadb-server); failing under CI"
      return 1
    fi
    log "MariaDB server binaries not found; MariaDB tests will skip"
    return 0
  fi
  local user_opt=()
  if [[ $(id -u) -eq 0 ]]; then
    if ! id mysql >/dev/null 2>&1; then
      log "running as root but there is no 'mysql' user to run the server as"
      return 1
    fi
    user_opt=(--user=mysql)
  fi

  local base
  base=$(mktemp -d /tmp/txoutbox-mariadb.XXXXXX)
  printf '%s\n' "$base" >"$dir/mysql.base"
  chmod 700 "$base"
  if [[ $(id -u) -eq 0 ]]; then
    chown mysql:mysql "$base"
  fi

  # Run from inside the private dir: the caller's cwd may be unreadable to `mysql`.
  cd "$base"
  if ! "$install" --no-defaults "${user_opt[@]}" --datadir="$base/data" \
    --auth-root-authentication-method=normal --skip-test-db >"$base/install.log" 2>&1; then
    log "mariadb-install-db failed:"
    cat "$base/install.log" >&2
    return 1
  fi

  # Try ports from a random start; another process may take a port between probe and bind,
  # so a failed start on a busy port moves on to the next one.
  local port=$((${TXOUTBOX_TEST_MYSQL_PORT:-$((20000 + RANDOM % 30000))} - 1)) attempt i pid
  for attempt in $(seq 1 25); do
    port=$((port + 1))
    if port_in_use "$port"; then
      continue
    fi
    : >"$base/err.log"
    if [[ $(id -u) -eq 0 ]]; then
      chown mysql:mysql "$base/err.log"
    fi
    setsid "$server" --no-defaults "${user_opt[@]}" --datadir="$base/data" \
      --socket="$base/mysqld.sock" --port="$port" --bind-address=127.0.0.1 \
      --pid-file="$base/mariadbd.pid" --log-error="$base/err.log" \
      --skip-name-resolve --max-connections=500 --character-set-server=utf8mb4 \
      --collation-server=utf8mb4_bin --innodb-flush-log-at-trx-commit=0 \
      --innodb-doublewrite=0 --innodb-buffer-pool-size=128M --innodb-log-file-size=64M \
      --innodb-lock-wait-timeout=20 </dev/null >/dev/null 2>&1 &
    pid=$!
    for i in $(seq 1 600); do
      if "$client" --no-defaults -S "$base/mysqld.sock" -uroot -e 'SELECT 1' >/dev/null 2>&1; then
        break
      fi
      if ! kill -0 "$pid" 2>/dev/null; then
        break
      fi
      sleep 0.1
    done
    if "$client" --no-defaults -S "$base/mysqld.sock" -uroot \
      -e 'CREATE DATABASE IF NOT EXISTS txoutbox_test CHARACTER SET utf8mb4' >/dev/null 2>&1; then
      local url="mysql://root@127.0.0.1:$port/txoutbox_test"
      printf '%s\n' "$url" >"$dir/mysql.url.tmp"
      mv -f -- "$dir/mysql.url.tmp" "$dir/mysql.url"
      log "MariaDB $("$server" --version | awk '{print $3}') at $url (data $base)"
      return 0
    fi
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
    if grep -qiE "can't start server|address already in use|bind on tcp" "$base/err.log"; then
      log "port $port busy, trying another (attempt $attempt)"
      continue
    fi
    log "mariadbd did not start:"
    cat "$base/err.log" >&2
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
