#!/usr/bin/env bash
# Configures, builds and runs the whole test suite; the test servers start by themselves.
#
#   scripts/test.sh [options] [-D<cmake-var>=<value>...] [-- <ctest arguments>]
#
#   --setup            first install the Debian packages it needs (scripts/debian-packages.txt;
#                      as root, or through sudo)
#   --preset NAME      a configure preset of CMakePresets.json: dev, release (default), asan,
#                      tsan; the build directory is build/NAME
#   --build-dir DIR    another build directory than the preset's
#   --build-type TYPE  another CMAKE_BUILD_TYPE than the preset's
#   --jobs N           parallel build jobs and parallel tests (default $TXOUTBOX_JOBS or 2)
#
# Examples:
#   scripts/test.sh --setup                           # fresh Debian 12: install, build, test
#   scripts/test.sh                                   # everything, preset release
#   scripts/test.sh --preset asan                     # ASan + UBSan
#   scripts/test.sh --preset tsan -- -R '^unit_'      # TSan, unit tests only
#   scripts/test.sh -- -R '^unit_'                    # unit tests only
#
# ccache is used when installed. The PostgreSQL tests get a private server from the CTest
# fixture (tests/servers/postgres.sh); set TXOUTBOX_TEST_PG_URL to use your own instead.
set -euo pipefail

cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."

preset=release
build_dir=
build_type=
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
    --preset)
      preset=$2
      shift 2
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
      sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
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

# The preset sets the generator (Ninja), the build type and the warning policy; the
# options above and -D arguments override it.
[[ -n $build_dir ]] || build_dir=build/$preset
configure=(cmake --preset "$preset" -B "$build_dir")
[[ -z $build_type ]] || configure+=("-DCMAKE_BUILD_TYPE=$build_type")
if command -v ccache >/dev/null 2>&1; then
  configure+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
configure+=("${cmake_args[@]}")

"${configure[@]}"
cmake --build "$build_dir" -j "$jobs"
# --no-tests=error: a filter that matches nothing is a mistake, not a pass.
ctest --test-dir "$build_dir" --output-on-failure --no-tests=error -j "$jobs" \
  --timeout "${TXOUTBOX_TEST_TIMEOUT:-600}" "${ctest_args[@]}"
