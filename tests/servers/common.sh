# shellcheck shell=bash
# Shared by the fixture scripts in this directory (postgres.sh, mariadb.sh, redis.sh,
# nats.sh); sourced, never run. It owns what the four do alike: the `start|stop <dir>`
# command line, the URL override, the private data dir and its removal, free-port picking
# with retries, stopping a recorded pid, and the clean-up after a failed start.
#
# A script sets `set -euo pipefail`, sources this file, defines three functions and ends
# with `server_main FILE ENV PREFIX "$@"` (see server_main):
#   start_server       finds the binaries (or calls missing_server), calls make_base,
#                      prepares the data, then start_on_free_port, which calls start_on
#   start_on PORT      starts the server on PORT from "$base"; see start_on_free_port
#   stop_server BASE   stops the server running from the private dir BASE, if any
# Globals: server_file, server_env, base_prefix (server_main's arguments), dir (the <dir>
# argument, absolute) and base (the private dir, once make_base made it).

# Prints the command line and exits 2.
usage() {
  echo "usage: $0 start|stop <dir>" >&2
  exit 2
}

# Logs a line to stderr, prefixed with the script's name (postgres.sh: ...).
log() { echo "${0##*/}: $*" >&2; }

# True when CI is set to a true value: then a missing server fails instead of skipping.
under_ci() {
  case "${CI:-}" in
    true | TRUE | True | 1 | yes) return 0 ;;
    *) return 1 ;;
  esac
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# True when we are root (the server then runs as its own user).
as_root() {
  [[ $(id -u) -eq 0 ]]
}

# Reports a server that is not installed ($1: what was not found, $2: the package to
# install, $3: whose tests skip): returns 1 under CI, else 0 with no URL written, so the
# tests skip. Use as `missing_server ...; return` in start_server.
missing_server() {
  if under_ci; then
    log "$1 (install $2); failing under CI"
    return 1
  fi
  log "$1; $3 tests will skip"
  return 0
}

# Fails when we are root and there is no user $1 to run the server as.
need_user() {
  if as_root && ! id "$1" >/dev/null 2>&1; then
    log "running as root but there is no '$1' user to run the server as"
    return 1
  fi
}

# Hands the files $2... to user $1 when we are root (the server then runs as that user).
give_to() {
  local user=$1
  shift
  if as_root; then
    chown "$user:$user" "$@"
  fi
}

# Makes the private data dir (mode 700), records it in <dir>/<server_file>.base, sets
# `base` and enters it: the caller's cwd (under /root, say) may be unreadable to the
# server's user (a server run as its own user then needs `give_to USER "$base"`).
make_base() {
  base=$(mktemp -d "${base_prefix}XXXXXX")
  printf '%s\n' "$base" >"$dir/$server_file.base"
  chmod 700 "$base"
  cd "$base"
}

# Writes URL $1 to <dir>/<server_file>.url in one step (a reader never sees half of it).
write_url() {
  printf '%s\n' "$1" >"$dir/$server_file.url.tmp"
  mv -f -- "$dir/$server_file.url.tmp" "$dir/$server_file.url"
}

# Stops process $1: TERM, up to $2 tenths of a second for it to exit, then KILL.
stop_pid() {
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 1 "$2"); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$1" 2>/dev/null || true
}

# Stops the process whose pid is in file $1 (if the file names a live process) as
# stop_pid does, waiting up to $2 tenths of a second; with $3, only when that process's
# command line contains $3 (so a reused pid is never signalled).
stop_pid_file() {
  local pid
  [[ -f $1 ]] || return 0
  pid=$(<"$1")
  if [[ ! $pid =~ ^[0-9]+$ ]] || ! kill -0 "$pid" 2>/dev/null; then
    return 0
  fi
  if [[ -n ${3:-} ]] && ! grep -qa -- "$3" "/proc/$pid/cmdline" 2>/dev/null; then
    return 0
  fi
  stop_pid "$pid" "$2"
}

# Stops the instance recorded in <dir>/<server_file>.base (if any), removes its private
# dir (only one this script made) and the URL.
stop_recorded() {
  local base
  if [[ -f $dir/$server_file.base ]]; then
    base=$(<"$dir/$server_file.base")
    if [[ -n $base ]]; then
      stop_server "$base"
    fi
    if [[ $base == "$base_prefix"* ]]; then
      rm -rf -- "$base"
    fi
    rm -f -- "$dir/$server_file.base"
  fi
  rm -f -- "$dir/$server_file.url"
}

# Tries up to 25 ports upwards from TXOUTBOX_TEST_<server_env>_PORT (else from a random
# one in 20000-49999), skipping any that something listens on. Another process may take a
# port between probe and bind, so for each port start_on PORT either starts the server
# (writes the URL, returns 0), or sets port_taken=1 and returns 0 when its bind lost that
# race (then the next port is tried), or returns non-zero, which ends the start.
start_on_free_port() {
  local first_var="TXOUTBOX_TEST_${server_env}_PORT"
  local port=$((${!first_var:-$((20000 + RANDOM % 30000))} - 1)) attempt
  for attempt in $(seq 1 25); do
    port=$((port + 1))
    if port_in_use "$port"; then
      continue
    fi
    port_taken=0
    start_on "$port"
    if [[ $port_taken -eq 0 ]]; then
      return 0
    fi
    log "port $port busy, trying another (attempt $attempt)"
  done
  log "no free port found after $attempt attempts"
  return 1
}

# The start action: never trusts state from an earlier run (stops whatever it recorded,
# drops its URL), then writes TXOUTBOX_TEST_<server_env>_URL if set (starting nothing),
# else runs start_server.
start() {
  stop_recorded
  local url_var="TXOUTBOX_TEST_${server_env}_URL"
  if [[ -n ${!url_var:-} ]]; then
    printf '%s\n' "${!url_var}" >"$dir/$server_file.url"
    log "using $url_var (no server started)"
    return 0
  fi
  start_server
}

# The script's entry point: server_main FILE ENV PREFIX start|stop <dir>, where FILE names
# <dir>/FILE.url and <dir>/FILE.base (pg), ENV is the middle of TXOUTBOX_TEST_<ENV>_URL and
# _PORT (PG), and PREFIX is the private dir's mktemp prefix (/tmp/txoutbox-pg.): only a dir
# whose name starts with it is ever removed. `start` runs in a subshell outside any `if`,
# so that `set -e` still applies inside it; a failed start leaves nothing behind (no
# half-made server, no URL) and exits 1.
server_main() {
  if [[ $# -lt 3 || -z $1 || -z $2 || $3 != /tmp/txoutbox-?*. ]]; then
    echo "server_main: needs FILE ENV /tmp/txoutbox-NAME. before the arguments" >&2
    exit 2
  fi
  server_file=$1 server_env=$2 base_prefix=$3
  shift 3
  [[ $# -eq 2 ]] || usage
  local action=$1 status
  dir=$2
  if [[ $action == start ]]; then
    mkdir -p -- "$dir"
  elif [[ ! -d $dir ]]; then
    exit 0
  fi
  dir=$(cd -- "$dir" && pwd)
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
}
