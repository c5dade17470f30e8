#!/usr/bin/env bash
# Installs a txoutbox build into a temporary prefix and builds downstream programs against it.
#
#   tests/install_consumer/check.sh <build-dir>      # a configured and built build dir
#
# Checks, in order: the install holds no path into the source or build tree; the CMake
# package builds and runs this directory's consumer (core + postgres, core only when the
# build has no postgres component; under CI=true postgres is required); find_package
# without COMPONENTS loads every installed component and a program links them all; asking
# for a component that was not built fails with a message naming it, while asking for it as
# optional does not; every txoutbox-<component>.pc resolves; every installed header compiles
# on its own (nothing it includes was left uninstalled); `pkg-config --cflags --libs
# txoutbox-core` (and txoutbox-postgres) compiles and links a one-file program that runs.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 <build-dir>" >&2
  exit 2
fi
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
source_dir=$(cd -- "$here/../.." && pwd)
build_dir=$(cd -- "$1" && pwd)
jobs=${TXOUTBOX_JOBS:-2}
cxx=${CXX:-c++}

work=$(mktemp -d /tmp/txoutbox-install-check.XXXXXX)
cleanup() { rm -rf -- "$work"; }
trap cleanup EXIT
prefix=$work/prefix

step() { echo "check.sh: $*"; }
fail() {
  echo "check.sh: FAILED: $*" >&2
  exit 1
}

step "installing $build_dir into $prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$work/install.log" 2>&1 || {
  cat "$work/install.log" >&2
  fail "cmake --install (is $build_dir built?)"
}

config=$(find "$prefix" -name txoutboxConfig.cmake -print -quit)
[[ -n $config ]] || fail "no txoutboxConfig.cmake installed"
cmake_dir=$(dirname -- "$config")
pc_dir=$(dirname -- "$(find "$prefix" -name txoutbox-core.pc -print -quit)")
[[ -f $pc_dir/txoutbox-core.pc ]] || fail "no txoutbox-core.pc installed"
migrations_dir=$(find "$prefix" -type d -path '*/txoutbox/migrations' -print -quit)
[[ -n $migrations_dir ]] || fail "no share/txoutbox/migrations installed"

step "checking the package does not point into the source or build tree"
if grep -rlF -e "$source_dir/" -e "$build_dir/" "$cmake_dir" "$pc_dir"; then
  fail "the files above refer to $source_dir or $build_dir"
fi

with_postgres=OFF
if [[ -f $cmake_dir/txoutbox-postgres-targets.cmake ]]; then
  with_postgres=ON
elif [[ ${CI:-} == true || ${CI:-} == 1 ]]; then
  fail "the build has no postgres component (required under CI)"
else
  step "the build has no postgres component: checking core only"
fi

generator=()
if command -v ninja >/dev/null 2>&1; then
  generator=(-G Ninja)
fi

step "CMake consumer (postgres=$with_postgres)"
cmake -S "$here" -B "$work/consumer" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCONSUMER_WITH_POSTGRES="$with_postgres" >"$work/consumer.log" 2>&1 ||
  {
    cat "$work/consumer.log" >&2
    fail "configuring the consumer"
  }
cmake --build "$work/consumer" -j "$jobs" >>"$work/consumer.log" 2>&1 ||
  {
    cat "$work/consumer.log" >&2
    fail "building the consumer"
  }
"$work/consumer/consumer" || fail "running the consumer"

# Every installed component, from its targets file name.
components=()
for f in "$cmake_dir"/txoutbox-*-targets.cmake; do
  c=${f##*/txoutbox-}
  components+=("${c%-targets.cmake}")
done
step "installed components: ${components[*]}"

step "find_package without COMPONENTS loads every component, and all of them link"
mkdir -p "$work/components"
cat >"$work/components/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.25)
project(components LANGUAGES CXX)
if(REQUIRE_MISSING)
  find_package(txoutbox CONFIG REQUIRED COMPONENTS core no_such_component)
  return()
endif()
find_package(txoutbox CONFIG REQUIRED COMPONENTS core OPTIONAL_COMPONENTS no_such_component)
if(NOT txoutbox_core_FOUND OR txoutbox_no_such_component_FOUND OR NOT TARGET txoutbox::core)
  message(FATAL_ERROR "optional: wrong txoutbox_<component>_FOUND")
endif()
find_package(txoutbox CONFIG REQUIRED)
add_executable(every_component "${CONSUMER_DIR}/main.cpp")
target_compile_definitions(every_component PRIVATE "CONSUMER_MIGRATIONS_DIR=\"${txoutbox_MIGRATIONS_DIR}\"")
foreach(c IN LISTS EXPECTED)
  if(NOT txoutbox_${c}_FOUND)
    message(FATAL_ERROR "default find_package did not load component ${c}")
  endif()
  target_link_libraries(every_component PRIVATE txoutbox::${c})
endforeach()
EOF
expected=$(
  IFS=';'
  echo "${components[*]}"
)
(cmake -S "$work/components" -B "$work/components/all" "${generator[@]}" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCONSUMER_DIR="$here" "-DEXPECTED=$expected" &&
  cmake --build "$work/components/all" -j "$jobs" && "$work/components/all/every_component") \
  >"$work/all.log" 2>&1 || {
  cat "$work/all.log" >&2
  fail "loading and linking every component"
}

step "a component that was not built fails find_package, unless optional (checked above)"
if cmake -S "$work/components" -B "$work/components/required" -DCMAKE_PREFIX_PATH="$prefix" \
  -DREQUIRE_MISSING=ON >"$work/required.log" 2>&1; then
  fail "a required missing component did not fail find_package"
fi
grep -q "component 'no_such_component'" "$work/required.log" || {
  cat "$work/required.log" >&2
  fail "the failure does not name the missing component"
}

step "pkg-config: every txoutbox-<component>.pc resolves"
export PKG_CONFIG_PATH="$pc_dir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
for c in "${components[@]}"; do
  pkg-config --print-errors --cflags --libs "txoutbox-$c" >/dev/null ||
    fail "pkg-config txoutbox-$c"
done

step "every installed header compiles on its own"
# shellcheck disable=SC2046
all_cflags=$(pkg-config --cflags $(printf 'txoutbox-%s ' "${components[@]}"))
export all_cflags cxx
find "$prefix/include/txoutbox" -name '*.hpp' -print0 | sort -z |
  xargs -0 -P "$jobs" -I{} sh -c \
    'echo "#include \"$1\"" | $cxx -std=c++20 -Wall -Wextra -Wpedantic -Werror -fsyntax-only \
       $all_cflags -x c++ - || { echo "check.sh: header $1 does not compile alone" >&2; exit 1; }' \
    sh {} ||
  fail "installed headers"

step "pkg-config txoutbox-core"
# shellcheck disable=SC2046 # the flags are meant to split
"$cxx" -std=c++20 -o "$work/pc_core" "$here/main.cpp" \
  "-DCONSUMER_MIGRATIONS_DIR=\"$migrations_dir\"" $(pkg-config --cflags --libs txoutbox-core) ||
  fail "compiling against pkg-config txoutbox-core"
"$work/pc_core" || fail "running the pkg-config txoutbox-core program"

if [[ $with_postgres == ON ]]; then
  step "pkg-config txoutbox-postgres"
  # shellcheck disable=SC2046
  "$cxx" -std=c++20 -o "$work/pc_postgres" "$here/main.cpp" -DCONSUMER_WITH_POSTGRES=1 \
    "-DCONSUMER_MIGRATIONS_DIR=\"$migrations_dir\"" $(pkg-config --cflags --libs txoutbox-postgres) ||
    fail "compiling against pkg-config txoutbox-postgres"
  "$work/pc_postgres" || fail "running the pkg-config txoutbox-postgres program"
fi

step "ok"
