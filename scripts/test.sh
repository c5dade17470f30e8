#!/usr/bin/env bash
# Configures, builds and runs the whole test suite; the test servers start by themselves.
#
#   scripts/test.sh [options] [-D<cmake-var>=<value>...] [-- <ctest arguments>]
#
#   --setup            first install the Debian packages it needs (scripts/debian-packages.txt;
#                      as root, or through sudo)
#   --build-dir DIR    build directory (default build/release)
#   --build-type TYPE  CMAKE_BUILD_TYPE (default RelWithDebInfo)
#   --jobs N           parallel build jobs and parallel tests (default $TXOUTBOX_JOBS or 2)
#
# Examples:
#   scripts/test.sh --setup                                     # fresh Debian 12: install, build, test
#   scripts/test.sh                                             # everything, RelWithDebInfo
#   scripts/test.sh --build-dir build/asan --build-type Debug \
#       -DTXOUTBOX_SANITIZE=address,undefined                   # sanitizers
#   scripts/test.sh -- -R '^unit_'                              # unit tests only
#
# ccache is used when installed. The PostgreSQL tests get a private server from the CTest
# fixture (tests/servers/postgres.sh); set TXOUTBOX_TEST_PG_URL to use your own instead.
set -euo pipefail

cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."

build_dir=build/release
build_type=RelWithDebInfo
jobs=${TXOUTBOX_JOBS:-2}
cmake_args=()
ctest_args=()
setup=false

while [[ $# -gt 0 ]]; do
  case "$1" in
    --setup)
      setup=true
      shift
      ;;
    --build-dir)
      build_dir=$2
      shift 2
      ;;
    --build-type)
      build_type=$2
      shift 2
      ;;
    --jobs)
      jobs=$2
      shift 2
      ;;
    -D*)
      cmake_args+=("$1")
      shift
      ;;
    --)
      shift
      ctest_args=("$@")
      break
      ;;
    -h | --help)
      sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "scripts/test.sh: unknown argument '$1' (see --help)" >&2
      exit 2
      ;;
  esac
done

if $setup; then
  mapfile -t packages < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' scripts/debian-packages.txt)
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${packages[@]}"
fi

configure=(cmake -S . -B "$build_dir" "-DCMAKE_BUILD_TYPE=$build_type")
if [[ ! -f $build_dir/CMakeCache.txt ]] && command -v ninja >/dev/null 2>&1; then
  configure+=(-G Ninja)
fi
if command -v ccache >/dev/null 2>&1; then
  configure+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
configure+=("${cmake_args[@]}")

"${configure[@]}"
cmake --build "$build_dir" -j "$jobs"
# --no-tests=error: a filter that matches nothing is a mistake, not a pass.
ctest --test-dir "$build_dir" --output-on-failure --no-tests=error -j "$jobs" \
  --timeout "${TXOUTBOX_TEST_TIMEOUT:-600}" "${ctest_args[@]}"
