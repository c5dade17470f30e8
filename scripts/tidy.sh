#!/usr/bin/env bash
# Runs clang-tidy (the checks in .clang-tidy) over every source file in src/; exits non-zero
# on any finding.
#
#   scripts/tidy.sh [BUILD_DIR]    # default build/release (any preset writes the database)
#
# It reads BUILD_DIR/compile_commands.json, which g++ wrote: the entries outside src/ and the
# flags clang does not take (-Werror, which would turn clang's own warnings into findings,
# and g++-only options) are dropped into a private copy first. Headers are checked through
# the sources that include them (HeaderFilterRegex in .clang-tidy).
set -euo pipefail

cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."
build_dir=${1:-build/release}
jobs=${TXOUTBOX_JOBS:-2}
db=$build_dir/compile_commands.json
if [[ ! -f $db ]]; then
  echo "scripts/tidy.sh: $db not found: configure first (cmake --preset release)" >&2
  exit 2
fi
run=$(command -v run-clang-tidy-14 || command -v run-clang-tidy || true)
if [[ -z $run ]]; then
  echo "scripts/tidy.sh: run-clang-tidy not found (install clang-tidy)" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
python3 - "$db" "$PWD/src/" "$work/compile_commands.json" <<'PY'
import json, shlex, sys
db, src, out = sys.argv[1:4]
# g++-only flags, and -Werror (clang-tidy reports clang's warnings as findings of their own).
drop_exact = {"-Werror", "-Wno-tsan", "-fno-sanitize=vptr"}
drop_prefix = ("-fsanitize", "-fno-sanitize-recover")
kept = []
for entry in json.load(open(db)):
    if not entry["file"].startswith(src):
        continue
    args = entry.get("arguments") or shlex.split(entry["command"])
    args = [a for a in args if a not in drop_exact and not a.startswith(drop_prefix)]
    # ccache as a launcher: drop it, clang-tidy wants the compiler first.
    if args and args[0].endswith("ccache"):
        args = args[1:]
    entry.pop("command", None)
    entry["arguments"] = args
    kept.append(entry)
json.dump(kept, open(out, "w"), indent=1)
print(f"tidy: {len(kept)} translation units in src/", file=sys.stderr)
PY

start=$SECONDS
status=0
"$run" -quiet -p "$work" -j "$jobs" "$PWD/src/" >"$work/out.txt" 2>&1 || status=$?
# Keep the findings, drop the per-file "N warnings generated" chatter.
grep -vE '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter|^clang-tidy-14 |^Enabled checks:|^\s*$' \
  "$work/out.txt" || true
echo "tidy: $((SECONDS - start)) s, exit $status"
exit $status
