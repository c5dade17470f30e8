#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/, preset fuzz: clang, ASan + UBSan) and runs
# one, several or all of them; any crash, sanitizer report, leak or timeout fails.
#
#   scripts/fuzz.sh [options] [TARGET...]     # TARGET: envelope, kafka_uri, ... (default: all)
#
#   --time S       run each target for S seconds (default 60)
#   --runs N       run each target for N inputs instead
#   --seed N       libFuzzer's -seed (default: random, printed in the log)
#   --parallel N   targets run at once (default 1)
#   --ci           CI's run: each target for its fixed number of inputs (below) with
#                  -seed=1, two at a time, each from a fresh copy of its seed corpus
#                  (capped at 90 s a target, which only a very slow machine reaches)
#   --no-build     use the build in build/fuzz as it is
#   --list         print the targets this build has and exit
#   -- ARGS        further libFuzzer arguments (e.g. -max_len=100000 -dict=FILE)
#
# New interesting inputs go to build/fuzz/corpus/TARGET (seeded from the committed
# tests/fuzz/corpus/TARGET, which they never touch); crashes to build/fuzz/artifacts/,
# logs to build/fuzz/logs/. To keep a crash as a regression seed, copy it into
# tests/fuzz/corpus/TARGET/ and add a unit test (CONTRIBUTING.md, "Fuzzing").
set -euo pipefail

cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."

# CI's inputs per target (-max_len=1024): about 30 s each on a 2-core machine with two
# targets at a time, from 10 s (idle machine) to 45 s (load 5) as measured; see the commit
# that last changed a number. A target missing here gets ci_default_runs.
declare -A ci_runs=(
  [envelope]=530000
  [validation]=500000
  [headers_json]=400000
  [message_id]=1200000
  [kafka_uri]=450000
  [nats_uri]=450000
  [redis_uri]=400000
  [http_uri]=400000
  [soci_url]=350000
  [cli_database_url]=500000
  [cli_publisher_uri]=600000
  [http_retry_after]=3000000
)
ci_default_runs=400000

build_dir=build/fuzz
time_s=60
runs=
seed=
parallel=1
ci=false
build=true
list=false
targets=()
extra=()

while [[ $# -gt 0 ]]; do
  case "$1" in
    --time) time_s=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --parallel) parallel=$2; shift 2 ;;
    --ci) ci=true; shift ;;
    --no-build) build=false; shift ;;
    --list) list=true; shift ;;
    --) shift; extra=("$@"); break ;;
    -h | --help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "scripts/fuzz.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if $ci; then
  seed=1
  parallel=2
fi

if $build; then
  configure=(cmake --preset fuzz)
  if command -v ccache >/dev/null 2>&1; then
    configure+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  "${configure[@]}"
  cmake --build --preset fuzz -j "${TXOUTBOX_JOBS:-2}"
fi

mapfile -t built < <(grep -v '^$' "$build_dir/tests/fuzz/targets.txt")
if $list; then
  printf '%s\n' "${built[@]}"
  exit 0
fi
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=("${built[@]}")
fi
for t in "${targets[@]}"; do
  if [[ ! " ${built[*]} " =~ " $t " ]]; then
    echo "scripts/fuzz.sh: no target '$t' in this build (have: ${built[*]})" >&2
    exit 2
  fi
done

mkdir -p "$build_dir/artifacts" "$build_dir/logs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# run_target NAME: fuzzes NAME, writes its log, prints one result line; non-zero on failure.
run_target() {
  local name=$1 work log args start status
  work=$build_dir/corpus/$name
  log=$build_dir/logs/$name.log
  if $ci; then
    rm -rf "$work"  # the same inputs every time: a fresh working corpus
  fi
  mkdir -p "$work"
  args=(-timeout=25 -artifact_prefix="$build_dir/artifacts/$name-" -print_final_stats=1)
  if $ci; then
    # Inputs up to 1 KiB (deep enough for nesting, long enough for any URL); the time cap
    # only bites on a machine several times slower than the one measured.
    args+=(-runs="${ci_runs[$name]:-$ci_default_runs}" -max_len=1024 -max_total_time=90)
  elif [[ -n $runs ]]; then
    args+=(-runs="$runs")
  else
    args+=(-max_total_time="$time_s")
  fi
  [[ -z $seed ]] || args+=(-seed="$seed")
  start=$(date +%s.%N)
  set +e
  "$build_dir/tests/fuzz/fuzz_$name" "${args[@]}" "${extra[@]}" "$work" \
    "tests/fuzz/corpus/$name" >"$log" 2>&1
  status=$?
  set -e
  local took inputs
  took=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
  inputs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  if [[ $status -eq 0 ]]; then
    printf '  %-18s %9s runs %7ss  ok\n' "$name" "${inputs:-?}" "$took"
  else
    printf '  %-18s %9s runs %7ss  FAILED (exit %d; log %s)\n' "$name" "${inputs:-?}" "$took" \
      "$status" "$log"
    grep -E 'ERROR|runtime error|fuzz property failed|terminate|Test unit written' "$log" |
      head -n 20 | sed 's/^/      /'
  fi
  return "$status"
}

echo "==> fuzzing ${#targets[@]} target(s), $parallel at a time"
failed=0
running=0
for t in "${targets[@]}"; do
  run_target "$t" &
  running=$((running + 1))
  if [[ $running -ge $parallel ]]; then
    wait -n || failed=$((failed + 1))
    running=$((running - 1))
  fi
done
while [[ $running -gt 0 ]]; do
  wait -n || failed=$((failed + 1))
  running=$((running - 1))
done
if [[ $failed -ne 0 ]]; then
  echo "==> $failed target(s) FAILED; inputs in $build_dir/artifacts/"
  exit 1
fi
echo "==> all targets passed"
