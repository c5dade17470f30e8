#!/usr/bin/env bash
# Starts or stops a throwaway redis-server for the test suites; the URL goes to <dir>/redis.url.
#
#   tests/servers/redis.sh start <dir>   # writes <dir>/redis.url (and <dir>/redis.base)
#   tests/servers/redis.sh stop  <dir>   # stops the server, removes its data
#
# With TXOUTBOX_TEST_REDIS_URL set, `start` writes that URL and starts nothing. Without
# redis-server installed, `start` fails under CI (CI=true) and otherwise writes no URL, so
# the tests skip. The server listens on 127.0.0.1 only, with appendonly on (no RDB
# snapshots) in a private mktemp dir under /tmp. Tests that kill a server start their own.
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

log() { echo "redis.sh: $*" >&2; }

under_ci() {
  case "${CI:-}" in
    true | TRUE | True | 1 | yes) return 0 ;;
    *) return 1 ;;
  esac
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Stops the instance recorded in <dir>/redis.base (if any) and removes its files.
stop_recorded() {
  local base pid i
  if [[ -f $dir/redis.base ]]; then
    base=$(<"$dir/redis.base")
    if [[ -n $base && -f $base/redis.pid ]]; then
      pid=$(<"$base/redis.pid")
      if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 100); do
          kill -0 "$pid" 2>/dev/null || break
          sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
      fi
    fi
    # Only ever remove a directory this script created.
    if [[ $base == /tmp/txoutbox-redis.* ]]; then
      rm -rf -- "$base"
    fi
    rm -f -- "$dir/redis.base"
  fi
  rm -f -- "$dir/redis.url"
}

start() {
  stop_recorded

  if [[ -n ${TXOUTBOX_TEST_REDIS_URL:-} ]]; then
    printf '%s\n' "$TXOUTBOX_TEST_REDIS_URL" >"$dir/redis.url"
    log "using TXOUTBOX_TEST_REDIS_URL (no server started)"
    return 0
  fi

  local server
  if ! server=$(command -v redis-server); then
    if under_ci; then
      log "redis-server not found (install redis-server); failing under CI"
      return 1
    fi
    log "redis-server not found; Redis tests will skip"
    return 0
  fi

  local base
  base=$(mktemp -d /tmp/txoutbox-redis.XXXXXX)
  printf '%s\n' "$base" >"$dir/redis.base"
  cd "$base"

  local port=$((${TXOUTBOX_TEST_REDIS_PORT:-$((20000 + RANDOM % 30000))} - 1)) attempt i pid
  for attempt in $(seq 1 25); do
    port=$((port + 1))
    if port_in_use "$port"; then
      continue
    fi
    rm -f -- "$base/redis.pid" "$base/redis.log"
    if ! "$server" --port "$port" --bind 127.0.0.1 --save '' --appendonly yes --dir "$base" \
      --daemonize yes --pidfile "$base/redis.pid" --logfile "$base/redis.log" >/dev/null 2>&1; then
      log "redis-server failed to start:"
      cat "$base/redis.log" >&2 2>/dev/null || true
      return 1
    fi
    # Ready when it answers PING; gone when its bind failed.
    for i in $(seq 1 100); do
      if [[ $(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null || true) == PONG ]]; then
        local url="redis://127.0.0.1:$port"
        printf '%s\n' "$url" >"$dir/redis.url.tmp"
        mv -f -- "$dir/redis.url.tmp" "$dir/redis.url"
        log "$("$server" --version | awk '{print $1, $2, $3}') at $url (data $base)"
        return 0
      fi
      if grep -qiE 'address already in use|could not create server' "$base/redis.log" 2>/dev/null; then
        break
      fi
      sleep 0.1
    done
    if grep -qiE 'address already in use' "$base/redis.log" 2>/dev/null; then
      log "port $port busy, trying another (attempt $attempt)"
      if [[ -f $base/redis.pid ]]; then
        pid=$(<"$base/redis.pid")
        kill -KILL "$pid" 2>/dev/null || true
      fi
      continue
    fi
    log "redis-server did not answer PING:"
    cat "$base/redis.log" >&2 2>/dev/null || true
    return 1
  done
  log "no free port found after $attempt attempts"
  return 1
}

case "$action" in
  start)
    set +e
    (
      set -e
      start
    )
    status=$?
    set -e
    if [[ $status -ne 0 ]]; then
      stop_recorded
      exit 1
    fi
    ;;
  stop) stop_recorded ;;
  *) usage ;;
esac
