#!/usr/bin/env bash
# Starts or stops a throwaway nats-server with JetStream for the test suites; the URL goes to <dir>/nats.url.
#
#   tests/servers/nats.sh start <dir>   # writes <dir>/nats.url (and <dir>/nats.base)
#   tests/servers/nats.sh stop  <dir>   # stops the server, removes its data
#
# With TXOUTBOX_TEST_NATS_URL set, `start` writes that URL and starts nothing. Without
# nats-server installed, `start` fails under CI (CI=true) and otherwise writes no URL, so
# the tests skip. The server listens on 127.0.0.1 only, JetStream on, file storage in a
# private mktemp dir under /tmp. Tests that restart a server start their own.
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

log() { echo "nats.sh: $*" >&2; }

under_ci() {
  case "${CI:-}" in
    true | TRUE | True | 1 | yes) return 0 ;;
    *) return 1 ;;
  esac
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

find_server() {
  command -v nats-server 2>/dev/null && return 0
  [[ -x /usr/sbin/nats-server ]] && echo /usr/sbin/nats-server && return 0
  [[ -x /usr/bin/nats-server ]] && echo /usr/bin/nats-server && return 0
  return 1
}

# Stops the instance recorded in <dir>/nats.base (if any) and removes its files.
stop_recorded() {
  local base pid i
  if [[ -f $dir/nats.base ]]; then
    base=$(<"$dir/nats.base")
    if [[ -n $base && -f $base/nats.pid ]]; then
      pid=$(<"$base/nats.pid")
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
    if [[ $base == /tmp/txoutbox-nats.* ]]; then
      rm -rf -- "$base"
    fi
    rm -f -- "$dir/nats.base"
  fi
  rm -f -- "$dir/nats.url"
}

start() {
  stop_recorded

  if [[ -n ${TXOUTBOX_TEST_NATS_URL:-} ]]; then
    printf '%s\n' "$TXOUTBOX_TEST_NATS_URL" >"$dir/nats.url"
    log "using TXOUTBOX_TEST_NATS_URL (no server started)"
    return 0
  fi

  local server
  if ! server=$(find_server); then
    if under_ci; then
      log "nats-server not found (install nats-server); failing under CI"
      return 1
    fi
    log "nats-server not found; NATS tests will skip"
    return 0
  fi

  local base
  base=$(mktemp -d /tmp/txoutbox-nats.XXXXXX)
  printf '%s\n' "$base" >"$dir/nats.base"
  mkdir -p "$base/js"
  cd "$base"

  local port=$((${TXOUTBOX_TEST_NATS_PORT:-$((20000 + RANDOM % 30000))} - 1)) attempt i pid
  for attempt in $(seq 1 25); do
    port=$((port + 1))
    if port_in_use "$port"; then
      continue
    fi
    rm -f -- "$base/nats.pid"
    # setsid: the server outlives this script and ctest's process group.
    setsid "$server" -a 127.0.0.1 -p "$port" -js -sd "$base/js" -P "$base/nats.pid" \
      >"$base/nats.log" 2>&1 </dev/null &
    pid=$!
    for i in $(seq 1 100); do
      if ! kill -0 "$pid" 2>/dev/null; then
        break
      fi
      if port_in_use "$port" && grep -q 'Server is ready' "$base/nats.log" 2>/dev/null; then
        local url="nats://127.0.0.1:$port"
        printf '%s\n' "$url" >"$dir/nats.url.tmp"
        mv -f -- "$dir/nats.url.tmp" "$dir/nats.url"
        log "nats-server $("$server" --version 2>&1 | awk '{print $NF}') at $url (data $base/js)"
        return 0
      fi
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    if grep -qiE 'address already in use' "$base/nats.log" 2>/dev/null; then
      log "port $port busy, trying another (attempt $attempt)"
      continue
    fi
    log "nats-server did not start:"
    cat "$base/nats.log" >&2 2>/dev/null || true
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
