#!/usr/bin/env bash
# The progress line: on a terminal (script(1) gives one) audit-stream draws "N/N streams ... ETA" on
# stderr; with --quiet, or when stderr is not a terminal, it prints nothing extra.
set -euo pipefail
cli=$1
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
"$cli" synth --out "$work/v.npy" --tokens 300 --dim 8 > /dev/null
tty_out=$(script -qec "$cli audit-stream $work/v.npy --kind v --no-bootstrap > /dev/null" /dev/null | tr '\r' '\n')
grep -q "audit-stream: 1/1 streams, .* elapsed, ETA" <<< "$tty_out" || { echo "no progress line on a terminal: $tty_out"; exit 1; }
quiet=$(script -qec "$cli audit-stream $work/v.npy --kind v --no-bootstrap --quiet > /dev/null" /dev/null | tr '\r' '\n')
if grep -q "streams" <<< "$quiet"; then echo "--quiet still drew: $quiet"; exit 1; fi
piped=$("$cli" audit-stream "$work/v.npy" --kind v --no-bootstrap 2>&1 > /dev/null)
[ -z "$piped" ] || { echo "stderr not a terminal but got: $piped"; exit 1; }
echo "progress line on a terminal only"
