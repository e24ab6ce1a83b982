#!/usr/bin/env bash
# The progress line: on a terminal (script(1) gives one) audit-stream draws "N/N streams ... ETA" on
# stderr; with --quiet, or when stderr is not a terminal, it prints nothing extra.
set -euo pipefail
cli=$1
models=${DPQ_MODELS:-$(dirname "$0")/../../shared/models}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
"$cli" synth --out "$work/v.npy" --tokens 300 --dim 8 > /dev/null
tty_out=$(script -qec "$cli audit-stream $work/v.npy --kind v --no-bootstrap > /dev/null" /dev/null | tr '\r' '\n')
grep -q "audit-stream: 1/1 streams, .* elapsed, ETA" <<< "$tty_out" || { echo "no progress line on a terminal: $tty_out"; exit 1; }
quiet=$(script -qec "$cli audit-stream $work/v.npy --kind v --no-bootstrap --quiet > /dev/null" /dev/null | tr '\r' '\n')
if grep -q "streams" <<< "$quiet"; then echo "--quiet still drew: $quiet"; exit 1; fi
piped=$("$cli" audit-stream "$work/v.npy" --kind v --no-bootstrap 2>&1 > /dev/null)
[ -z "$piped" ] || { echo "stderr not a terminal but got: $piped"; exit 1; }
# audit (in percent of the estimated work) and eval-nll (forward passes) draw one too.
audit_out=$(script -qec "$cli audit $work/v.npy --no-bootstrap > /dev/null" /dev/null | tr '\r' '\n')
grep -q "audit: 100/100 % of the estimated work, .* elapsed, ETA" <<< "$audit_out" || { echo "audit: no progress line: $audit_out"; exit 1; }
piped=$("$cli" audit "$work/v.npy" --no-bootstrap 2>&1 > /dev/null)
[ -z "$piped" ] || { echo "audit: stderr not a terminal but got: $piped"; exit 1; }
if [ -f "$models/stories260K.bin" ]; then
  printf 'Once upon a time there was a cat.' > "$work/t.txt"
  nll_out=$(script -qec "$cli eval-nll --model $models/stories260K.bin --tokenizer $models/tok512.bin --text $work/t.txt --kv-scheme delta-zoned --no-bootstrap > /dev/null" /dev/null | tr '\r' '\n')
  grep -q "eval-nll: [0-9]*/[0-9]* steps (forward passes, eta estimates), .* elapsed, ETA" <<< "$nll_out" || { echo "eval-nll: no progress line: $nll_out"; exit 1; }
fi
echo "progress line on a terminal only"
