#!/usr/bin/env bash
# Builds and runs examples/quickstart from a clean clone on Debian 12: packages, build, run.
#
#   scripts/quickstart.sh [--db NEW-FILE]      (arguments go to the quickstart program)
#
# As root it installs the few Debian packages the quickstart needs with apt-get (a no-op
# when they are there); otherwise it uses sudo, and only when one is missing. Then it
# builds the SOCI-SQLite part of txoutbox and the `quickstart` program in build/quickstart
# (other components, tests and install rules off) and runs it. No server is needed.
# Set TXOUTBOX_SKIP_APT=1 to skip the package step; TXOUTBOX_JOBS=N to limit build jobs.
set -euo pipefail

cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."

# What the quickstart build needs, and why (libsoci-dev pulls none of the -dev packages
# its own headers include):
#   g++ cmake ninja-build     the toolchain
#   libboost-dev              Boost.Asio (the relay) and Boost headers SOCI's headers include
#   rapidjson-dev             the JSON envelope and payload validation
#   libsoci-dev libsqlite3-dev  SOCI with its SQLite backend, and sqlite3.h
#   sqlite3                   the command-line shell, to look inside the database afterwards
packages=(g++ cmake ninja-build libboost-dev rapidjson-dev libsoci-dev libsqlite3-dev sqlite3)

some_missing() {
  local p
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q ' installed$' || return 0
  done
  return 1
}

install_packages() {
  local -a as_root=()
  if [[ $(id -u) -ne 0 ]]; then
    some_missing || return 0  # not root and nothing to install
    if ! command -v sudo >/dev/null; then
      echo "quickstart.sh: run as root, or install: ${packages[*]}" >&2
      exit 1
    fi
    as_root=(sudo)
  fi
  echo "Installing build packages: ${packages[*]}"
  local log
  log=$(mktemp)
  if ! { "${as_root[@]}" apt-get update -q &&
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -q --no-install-recommends "${packages[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "quickstart.sh: installing packages failed (apt-get output above)" >&2
    exit 1
  fi
  rm -f "$log"
}

if [[ ${TXOUTBOX_SKIP_APT:-0} != 1 ]] && command -v apt-get >/dev/null; then
  install_packages
fi

build_dir=build/quickstart
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

echo "Configuring ${build_dir}"
# --log-level=WARNING keeps cmake's dependency probing quiet; errors still show. Debug
# compiles fastest, and the demo runs in well under a second either way.
cmake -S . -B "$build_dir" -G Ninja --log-level=WARNING \
  -DCMAKE_BUILD_TYPE=Debug \
  "${launcher[@]}" \
  -DTXOUTBOX_BUILD_TESTS=OFF -DTXOUTBOX_BUILD_EXAMPLES=ON -DTXOUTBOX_BUILD_BENCH=OFF \
  -DTXOUTBOX_INSTALL=OFF -DTXOUTBOX_WERROR=OFF \
  -DTXOUTBOX_WITH_SOCI=ON \
  -DTXOUTBOX_WITH_POSTGRES=OFF -DTXOUTBOX_WITH_HTTP=OFF -DTXOUTBOX_WITH_KAFKA=OFF \
  -DTXOUTBOX_WITH_REDIS=OFF -DTXOUTBOX_WITH_NATS=OFF -DTXOUTBOX_WITH_CLI=OFF

cmake --build "$build_dir" --target quickstart --parallel "${TXOUTBOX_JOBS:-$(nproc)}"

echo
exec "$build_dir/examples/quickstart/quickstart" "$@"
