#!/usr/bin/env bash
# gate_numpy_example.sh DELTAPQ PYTHON KERNEL.py WORK: the README's file-mode workflow, end to end.
set -euo pipefail
deltapq=$1 python=$2 kernel=$3 work=$4
rm -rf "$work"
mkdir -p "$work"
"$deltapq" vectors --out "$work/vectors"
"$python" "$kernel" "$work/vectors" "$work/outputs"
"$deltapq" gate --vectors "$work/vectors" --outputs "$work/outputs" --json "$work/report.json" > "$work/report.txt"
grep -q "every case with outputs passes (14 checked, 0 skipped)" "$work/report.txt" || { cat "$work/report.txt"; exit 1; }
# The same kernel with boundary ties sent to the lower cell, scalar cases only: exit 1, the rest skipped.
"$python" "$kernel" "$work/vectors" "$work/buggy" --bug boundary-lower --only scalar
set +e
"$deltapq" gate --vectors "$work/vectors" --outputs "$work/buggy" > "$work/buggy.txt"
rc=$?
set -e
[ $rc -eq 1 ] || { echo "the buggy kernel exited $rc, expected 1"; cat "$work/buggy.txt"; exit 1; }
grep -q "skipped (no outputs): turbo_d128_b4_hadamard" "$work/buggy.txt" || { cat "$work/buggy.txt"; exit 1; }
grep -q "cases FAIL" "$work/buggy.txt" || { cat "$work/buggy.txt"; exit 1; }
echo "gate file mode: the numpy kernel passes, its boundary-lower variant fails"
