#!/usr/bin/env bash
# The mutation list follows the code: every edit of tools/mutation/mutants.json matches the source
# exactly once (scripts/mutate --check). The test of the test: a copy with one edit's text changed
# must be reported stale, with exit 1.
set -euo pipefail
src=$1
"$src/scripts/mutate" --check
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
python3 - "$src/tools/mutation/mutants.json" "$work/stale.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["mutants"][0]["edits"][0]["from"] += " /* no longer in the source */"
json.dump(m, open(sys.argv[2], "w"))
PY
set +e
out=$("$src/scripts/mutate" --check "$work/stale.json")
rc=$?
set -e
[ "$rc" -eq 1 ] || { echo "a stale list gave exit $rc, not 1"; exit 1; }
grep -q "^stale mutant $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["mutants"][0]["id"])' "$src/tools/mutation/mutants.json"): " <<< "$out" \
  || { echo "the stale mutant was not named: $out"; exit 1; }
echo "the stale copy was refused: ok"
