#!/usr/bin/env bash
# Starts or stops a throwaway nats-server with JetStream for the test suites; the URL goes to <dir>/nats.url.
#
#   tests/servers/nats.sh start <dir>   # writes <dir>/nats.url (and <dir>/nats.base)
#   tests/servers/nats.sh stop  <dir>   # stops the server, removes its data
#
# With TXOUTBOX_TEST_NATS_URL set, `start` writes that URL and starts nothing;
# TXOUTBOX_TEST_NATS_PORT sets the first port tried. Without nats-server installed, `start`
# fails under CI (CI=true) and otherwise writes no URL, so the tests skip. The server
# listens on 127.0.0.1 only, JetStream on, file storage in a private mktemp dir under /tmp.
# Tests that restart a server start their own.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

# nats-server on PATH, else in /usr/sbin or /usr/bin.
find_server() {
  command -v nats-server 2>/dev/null && return 0
  [[ -x /usr/sbin/nats-server ]] && echo /usr/sbin/nats-server && return 0
  [[ -x /usr/bin/nats-server ]] && echo /usr/bin/nats-server && return 0
  return 1
}

# Stops the nats-server running from the private dir $1, if any.
stop_server() {
  stop_pid_file "$1/nats.pid" 100
}

# Finds nats-server and starts it in a new private dir (JetStream files in <base>/js).
start_server() {
  if ! server=$(find_server); then
    missing_server "nats-server not found" nats-server NATS
    return
  fi
  make_base
  mkdir -p "$base/js"
  start_on_free_port
}

# Starts nats-server on port $1 (see start_on_free_port): ready when it listens and says
# so, port taken when it exited saying the address is in use.
start_on() {
  local port=$1 pid
  rm -f -- "$base/nats.pid"
  # setsid: the server outlives this script and ctest's process group.
  setsid "$server" -a 127.0.0.1 -p "$port" -js -sd "$base/js" -P "$base/nats.pid" \
    >"$base/nats.log" 2>&1 </dev/null &
  pid=$!
  for _ in $(seq 1 100); do
    if ! kill -0 "$pid" 2>/dev/null; then
      break
    fi
    if port_in_use "$port" && grep -q 'Server is ready' "$base/nats.log" 2>/dev/null; then
      local url="nats://127.0.0.1:$port"
      write_url "$url"
      log "nats-server $("$server" --version 2>&1 | awk '{print $NF}') at $url (data $base/js)"
      return 0
    fi
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  if grep -qiE 'address already in use' "$base/nats.log" 2>/dev/null; then
    port_taken=1
    return 0
  fi
  log "nats-server did not start:"
  cat "$base/nats.log" >&2 2>/dev/null || true
  return 1
}

server_main nats NATS /tmp/txoutbox-nats. "$@"
