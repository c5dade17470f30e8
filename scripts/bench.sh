#!/usr/bin/env bash
# Runs the txoutbox benchmarks end to end on a private PostgreSQL 15 with fsync on; prints the table.
#
#   scripts/bench.sh [--quick] [--only writer,drain,latency,backlog,kafka,sqlite,hotkey,recovery]
#                    [--build-dir DIR] [--markdown FILE] [--no-install] [--reps N]
#
#   --quick        reduced sizes, to try every path in a few minutes (not for docs)
#   --only LIST    run only these sections (comma separated)
#   --build-dir    where to configure and build (default build/bench)
#   --markdown F   also write the results table as Markdown to F
#   --no-install   never call apt-get (fail if something is missing)
#   --reps N       repetitions per figure (default 3; each figure is the median)
#
# As root on Debian 12 it installs what it needs with apt-get, then starts a private
# PostgreSQL (as the `postgres` user, on a free port, data under /tmp) with fsync=on,
# synchronous_commit=on, shared_buffers=256MB, max_wal_size=4GB; configures a Release
# build with the benchmarks on and the tests off; builds txoutbox_bench; runs it; stops
# the server and deletes its data directory, also on failure or Ctrl-C.
set -euo pipefail

cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."

build_dir=build/bench
install=1
bench_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick)
      bench_args+=(--quick)
      shift
      ;;
    --only | --markdown | --reps)
      [[ $# -ge 2 ]] || { echo "scripts/bench.sh: $1 needs a value" >&2; exit 2; }
      value=$2
      [[ $1 == --markdown ]] && value=$(realpath -m -- "$2")
      bench_args+=("$1" "$value")
      shift 2
      ;;
    --build-dir)
      build_dir=$2
      shift 2
      ;;
    --no-install)
      install=0
      shift
      ;;
    -h | --help)
      sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "scripts/bench.sh: unknown argument '$1' (see --help)" >&2
      exit 2
      ;;
  esac
done

# -- packages ------------------------------------------------------------------------------
packages=(g++ cmake ninja-build pkg-config postgresql libpq-dev libpqxx-dev libboost-dev
  libboost-system-dev rapidjson-dev libsoci-dev libsqlite3-dev librdkafka-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ $install -eq 1 && $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "== installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "scripts/bench.sh: missing packages: ${missing[*]} (run as root to install)" >&2
    exit 3
  fi
fi

# -- private PostgreSQL ----------------------------------------------------------------------
pg_bin=$(pg_config --bindir 2>/dev/null || true)
[[ -x $pg_bin/initdb ]] || pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x $pg_bin/initdb ]] || { echo "scripts/bench.sh: PostgreSQL server binaries not found" >&2; exit 3; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=""
for _ in $(seq 1 50); do
  candidate=$((20000 + RANDOM % 30000))
  if port_free "$candidate"; then
    port=$candidate
    break
  fi
done
[[ -n $port ]] || { echo "scripts/bench.sh: no free port found" >&2; exit 3; }

pg_dir=$(mktemp -d /tmp/txoutbox-bench.XXXXXX)
as_pg=()
if [[ $(id -u) -eq 0 ]]; then
  chown postgres: "$pg_dir"
  as_pg=(runuser -u postgres --)
fi
stop_server() {
  if [[ -f $pg_dir/data/postmaster.pid ]]; then
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf -- "$pg_dir"
}
trap stop_server EXIT
trap 'exit 130' INT TERM

echo "== starting PostgreSQL ($("$pg_bin/postgres" --version)) on 127.0.0.1:$port, data in $pg_dir"
"${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U postgres -A trust --no-sync >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 start -o \
  "-c port=$port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$pg_dir \
   -c fsync=on -c synchronous_commit=on -c full_page_writes=on \
   -c shared_buffers=256MB -c max_wal_size=4GB -c max_connections=100 \
   -c maintenance_work_mem=512MB" >/dev/null
url="postgresql://postgres@127.0.0.1:$port/postgres"

# -- build -------------------------------------------------------------------------------------
# -Werror off: g++ 12 at -O3 reports a false -Wrestrict inside std::string (GCC bug 105329).
configure=(cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DTXOUTBOX_BUILD_BENCH=ON
  -DTXOUTBOX_BUILD_TESTS=OFF -DTXOUTBOX_BUILD_EXAMPLES=OFF
  -DTXOUTBOX_WERROR=OFF)
if [[ ! -f $build_dir/CMakeCache.txt ]] && command -v ninja >/dev/null; then
  configure+=(-G Ninja)
fi
if command -v ccache >/dev/null; then
  configure+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
echo "== building txoutbox_bench in $build_dir"
"${configure[@]}" >/dev/null
cmake --build "$build_dir" -j "${TXOUTBOX_JOBS:-2}" --target txoutbox_bench

# -- run ----------------------------------------------------------------------------------------
echo "== machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB memory," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC')," \
  "$(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
start=$(date +%s)
status=0
"$build_dir/bench/txoutbox_bench" --pg "$url" --work-dir "$pg_dir" "${bench_args[@]}" || status=$?
echo "== bench finished in $(($(date +%s) - start)) s; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status
