#!/usr/bin/env bash
# audit-stream, paper-check and eval-nll sweeps under MPI: two ranks on one machine write the same JSON, CSV and text as one process,
# byte for byte (the streams' reports travel to rank 0 with every field, MPFR values exactly); a bad
# stream on either rank is exit 2 naming the file. Exit 77 (skipped) when the shared model is absent.
set -euo pipefail
cli=$1 mpiexec=$2 src=$3
models=${DPQ_MODELS:-$src/../shared/models}
if [ ! -f "$models/stories260K.bin" ]; then
  echo "shared model absent: $models/stories260K.bin (set DPQ_MODELS)"; exit 77
fi
# Open MPI refuses root unless told; CI runs as root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
"$cli" kvdump --model "$models/stories260K.bin" --tokenizer "$models/tok512.bin" --text "$src/data/story.txt" --out "$work/kv" > /dev/null
"$cli" audit-stream "$work/kv" --pq 2x3 --jobs 1 --quiet --json "$work/one.json" --csv "$work/one" > "$work/one.txt"
"$mpiexec" -np 2 --oversubscribe "$cli" audit-stream "$work/kv" --pq 2x3 --jobs 1 --json "$work/two.json" --csv "$work/two" \
  > "$work/two.txt"
cmp "$work/one.json" "$work/two.json"
cmp "$work/one.txt" "$work/two.txt"
diff -r "$work/one" "$work/two"
grep -q '"heads"' "$work/two.json"
# Streams large enough that a library would thread inside one product (d = 64, T = 400: Eigen splits
# GEMMs above 5e4 multiply-adds unless told not to): --jobs 1, --jobs 2 and two ranks, the same bytes.
/usr/bin/python3 -c "
import numpy as np, sys
rng = np.random.default_rng(3)
x = np.cumsum(rng.standard_normal((2, 400, 64)), axis=1) * 0.05 + 0.3 * rng.standard_normal((2, 400, 64))
np.save(sys.argv[1], x.astype(np.float32))" "$work/big.npy"
for run in "1 1" "1 2" "2 1"; do
  set -- $run
  if [ "$1" = 1 ]; then
    "$cli" audit-stream "$work/big.npy" --layout H,T,D --kind v --jobs "$2" --quiet --json "$work/big_$1_$2.json" > /dev/null
  else
    "$mpiexec" -np 2 --oversubscribe "$cli" audit-stream "$work/big.npy" --layout H,T,D --kind v --jobs "$2" --quiet \
      --json "$work/big_$1_$2.json" > /dev/null
  fi
done
cmp "$work/big_1_1.json" "$work/big_1_2.json"
cmp "$work/big_1_1.json" "$work/big_2_1.json"
# paper-check's cells over two ranks and two threads: the same report (exit 1 each: findings fail).
set +e
"$cli" paper-check --quick --jobs 1 --quiet --json "$work/p1.json" > "$work/p1.txt"; r1=$?
"$cli" paper-check --quick --jobs 2 --quiet --json "$work/p2.json" > /dev/null; r2=$?
"$mpiexec" -np 2 --oversubscribe "$cli" paper-check --quick --jobs 1 --json "$work/p3.json" > "$work/p3.txt" 2> /dev/null; r3=$?
set -e
[ "$r1" = "$r2" ] && [ "$r3" != 0 ] || { echo "paper-check exit codes $r1 $r2 $r3"; exit 1; }
cmp "$work/p1.json" "$work/p2.json"
cmp "$work/p1.json" "$work/p3.json"
cmp "$work/p1.txt" "$work/p3.txt"
# eval-nll over two texts x two bit widths (4 runs, each its own model copy): --jobs 1, --jobs 2 and
# two ranks write the same JSON, CSV and text; each run equals the single-run command on its text.
head -c 600 "$src/data/story.txt" > "$work/a.txt"
tail -c 700 "$src/data/story.txt" > "$work/b.txt"
ev=(eval-nll --model "$models/stories260K.bin" --tokenizer "$models/tok512.bin" --text "$work/a.txt" --text "$work/b.txt"
    --kv-scheme delta-closed --bits 2,4 --quiet)
"$cli" "${ev[@]}" --jobs 1 --json "$work/e1.json" --csv "$work/e1" > "$work/e1.txt"
"$cli" "${ev[@]}" --jobs 2 --json "$work/e2.json" > /dev/null
"$mpiexec" -np 2 --oversubscribe "$cli" "${ev[@]}" --jobs 1 --json "$work/e3.json" --csv "$work/e3" > "$work/e3.txt"
cmp "$work/e1.json" "$work/e2.json"
cmp "$work/e1.json" "$work/e3.json"
cmp "$work/e1.txt" "$work/e3.txt"
diff -r "$work/e1" "$work/e3"
"$cli" eval-nll --model "$models/stories260K.bin" --tokenizer "$models/tok512.bin" --text "$work/b.txt" --kv-scheme delta-closed \
  --bits 4 --quiet --json "$work/single.json" > /dev/null
/usr/bin/python3 -c "
import json, sys
runs = json.load(open(sys.argv[1]))['runs']
assert [(r['text'].endswith('a.txt'), r['bits']) for r in runs] == [(True, 2), (True, 4), (False, 2), (False, 4)], runs
last = dict(runs[3]); last.pop('text')
assert last == json.load(open(sys.argv[2])), 'the sweep run differs from the single run on its text'" "$work/e1.json" "$work/single.json"
# A text that cannot be read is exit 2 naming it, before any run, on every rank; nothing written.
set +e
err=$("$mpiexec" -np 2 --oversubscribe "$cli" "${ev[@]}" --text "$work/missing.txt" --json "$work/ebad.json" 2>&1 > /dev/null)
rc=$?
set -e
[ "$rc" = 2 ] || { echo "missing text: exit $rc, expected 2: $err"; exit 1; }
grep -q "missing.txt" <<< "$err" || { echo "error does not name the text: $err"; exit 1; }
[ ! -e "$work/ebad.json" ] || { echo "a report was written despite the error"; exit 1; }
# A truncated stream dealt to rank 1 (stream 1 of 0..59 under round-robin) and one to rank 0.
for k in 2 3; do
  rm -rf "$work/bad" && cp -r "$work/kv" "$work/bad"
  f=$(ls "$work/bad"/*.npy | sort | sed -n "${k}p")
  head -c 100 "$f" > "$f.t" && mv "$f.t" "$f"
  set +e
  err=$("$mpiexec" -np 2 --oversubscribe "$cli" audit-stream "$work/bad" --jobs 1 --quiet --json "$work/bad.json" 2>&1 > /dev/null)
  rc=$?
  set -e
  [ "$rc" = 2 ] || { echo "bad stream $f: exit $rc, expected 2: $err"; exit 1; }
  grep -q "$(basename "$f"): has 100 bytes" <<< "$err" || { echo "error does not name $f: $err"; exit 1; }
  [ ! -e "$work/bad.json" ] || { echo "a report was written despite the error"; exit 1; }
done
echo "2 ranks = 1 process, byte for byte; bad streams exit 2 on either rank"
