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
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

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

# The first of the named programs found on PATH.
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

# Stops the mariadbd running from the private dir $1, if any: only the process this
# script started (its pid file, its datadir on the command line).
stop_server() {
  stop_pid_file "$1/mariadbd.pid" 600 "$1/data"
}

# Finds the binaries, makes a new private dir with a fresh datadir, and starts mariadbd.
start_server() {
  if ! server=$(find_server) || ! install=$(find_tool mariadb-install-db mysql_install_db) ||
    ! client=$(find_tool mariadb mysql); then
    missing_server "MariaDB server binaries not found" mariadb-server MariaDB
    return
  fi
  user_opt=()
  if as_root; then
    need_user mysql
    user_opt=(--user=mysql)
  fi
  make_base
  give_to mysql "$base"
  if ! "$install" --no-defaults "${user_opt[@]}" --datadir="$base/data" \
    --auth-root-authentication-method=normal --skip-test-db >"$base/install.log" 2>&1; then
    log "mariadb-install-db failed:"
    cat "$base/install.log" >&2
    return 1
  fi
  start_on_free_port
}

# Starts mariadbd on port $1 (see start_on_free_port): ready when it creates the
# txoutbox_test database, port taken when its log says the bind failed.
start_on() {
  local port=$1 pid
  : >"$base/err.log"
  give_to mysql "$base/err.log"
  setsid "$server" --no-defaults "${user_opt[@]}" --datadir="$base/data" \
    --socket="$base/mysqld.sock" --port="$port" --bind-address=127.0.0.1 \
    --pid-file="$base/mariadbd.pid" --log-error="$base/err.log" \
    --skip-name-resolve --max-connections=500 --character-set-server=utf8mb4 \
    --collation-server=utf8mb4_bin --innodb-flush-log-at-trx-commit=0 \
    --innodb-doublewrite=0 --innodb-buffer-pool-size=128M --innodb-log-file-size=64M \
    --innodb-lock-wait-timeout=20 </dev/null >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do
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
    write_url "$url"
    log "MariaDB $("$server" --version | awk '{print $3}') at $url (data $base)"
    return 0
  fi
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if grep -qiE "can't start server|address already in use|bind on tcp" "$base/err.log"; then
    port_taken=1
    return 0
  fi
  log "mariadbd did not start:"
  cat "$base/err.log" >&2
  return 1
}

server_main mysql MYSQL /tmp/txoutbox-mariadb. "$@"
