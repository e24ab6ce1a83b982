#!/usr/bin/env bash
# The README's Python workflow on the shared model: kvdump -> examples/python_workflow.py (save as a
# PyTorch user would, audit through the module, plot). Exit 77 (skipped) when the model is absent.
set -euo pipefail
cli=$1 python=$2 pypath=$3 src=$4
models=${DPQ_MODELS:-$src/../shared/models}
if [ ! -f "$models/stories260K.bin" ]; then
  echo "shared model absent: $models/stories260K.bin (set DPQ_MODELS)"; exit 77
fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
"$cli" kvdump --model "$models/stories260K.bin" --tokenizer "$models/tok512.bin" --text "$src/data/story.txt" --out "$work/kv" > /dev/null
out=$(PYTHONPATH=$pypath MPLBACKEND=Agg "$python" "$src/examples/python_workflow.py" "$work/kv" "$work/out")
echo "$out"
for f in alpha_heatmap zones; do
  [ -s "$work/out/plots/$f.png" ] && [ -s "$work/out/plots/$f.svg" ] || { echo "missing plot $f"; exit 1; }
done
grep -q "^40 streams" <<< "$out"
