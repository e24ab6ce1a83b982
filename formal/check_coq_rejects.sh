#!/usr/bin/env bash
# A test of a proof: replaces one exact text of FILE.v (it must occur exactly once) and requires that
# check_coq.sh then REJECTS the file -- the same proof script must not prove the mutated statement.
# Exit 0 only when the substitution applied and the check failed; a text that no longer matches is
# itself a failure (a stale mutant proves nothing).
# usage: check_coq_rejects.sh FILE.v FROM TO
set -euo pipefail
file=$(readlink -f "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$file" "$work/$(basename "$file")" "$2" "$3" <<'PY'
import sys
src, dst, old, new = sys.argv[1:]
text = open(src).read()
if text.count(old) != 1:
    sys.exit(f"{src}: the mutant's text occurs {text.count(old)} times (must be once)")
open(dst, "w").write(text.replace(old, new))
PY
if bash "$(dirname "$0")/check_coq.sh" "$work/$(basename "$file")" > "$work/log" 2>&1; then
  echo "$(basename "$file"): the mutated statement was proved -- the proof does not pin it down"
  exit 1
fi
echo "$(basename "$file"): mutant rejected ($(grep -m1 -E 'Error|unproven' "$work/log" || echo 'rejected'))"
