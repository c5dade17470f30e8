#!/usr/bin/env bash
# Starts or stops a throwaway redis-server for the test suites; the URL goes to <dir>/redis.url.
#
#   tests/servers/redis.sh start <dir>   # writes <dir>/redis.url (and <dir>/redis.base)
#   tests/servers/redis.sh stop  <dir>   # stops the server, removes its data
#
# With TXOUTBOX_TEST_REDIS_URL set, `start` writes that URL and starts nothing;
# TXOUTBOX_TEST_REDIS_PORT sets the first port tried. Without redis-server installed,
# `start` fails under CI (CI=true) and otherwise writes no URL, so the tests skip. The
# server listens on 127.0.0.1 only, with appendonly on (no RDB snapshots) in a private
# mktemp dir under /tmp. Tests that kill a server start their own.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

# Stops the redis-server running from the private dir $1, if any.
stop_server() {
  stop_pid_file "$1/redis.pid" 100
}

# Finds redis-server and starts it in a new private dir.
start_server() {
  if ! server=$(command -v redis-server); then
    missing_server "redis-server not found" redis-server Redis
    return
  fi
  make_base
  start_on_free_port
}

# Starts redis-server on port $1 (see start_on_free_port): ready when it answers PING,
# port taken when its bind failed.
start_on() {
  local port=$1
  rm -f -- "$base/redis.pid" "$base/redis.log"
  if ! "$server" --port "$port" --bind 127.0.0.1 --save '' --appendonly yes --dir "$base" \
    --daemonize yes --pidfile "$base/redis.pid" --logfile "$base/redis.log" >/dev/null 2>&1; then
    log "redis-server failed to start:"
    cat "$base/redis.log" >&2 2>/dev/null || true
    return 1
  fi
  for _ in $(seq 1 100); do
    if [[ $(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null || true) == PONG ]]; then
      local url="redis://127.0.0.1:$port"
      write_url "$url"
      log "$("$server" --version | awk '{print $1, $2, $3}') at $url (data $base)"
      return 0
    fi
    if grep -qiE 'address already in use|could not create server' "$base/redis.log" 2>/dev/null; then
      break
    fi
    sleep 0.1
  done
  if grep -qiE 'address already in use' "$base/redis.log" 2>/dev/null; then
    if [[ -f $base/redis.pid ]]; then
      kill -KILL "$(<"$base/redis.pid")" 2>/dev/null || true
    fi
    port_taken=1
    return 0
  fi
  log "redis-server did not answer PING:"
  cat "$base/redis.log" >&2 2>/dev/null || true
  return 1
}

server_main redis REDIS /tmp/txoutbox-redis. "$@"
