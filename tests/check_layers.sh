#!/usr/bin/env bash
# The layering of deltapq, checked on the includes of every source file:
#   core <- {reference, fast, model} <- pipeline <- app <- {cli, bench, python, tools, plugins}
# (deltapq/gate_plugin.h, the C ABI of the gate, has no layer directory: any layer may include it)
# A library may include only the layers below it, never cli/ or bench/ (or their headers).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
allowed() {
  case "$1" in
    core) echo "core" ;;
    reference|fast|model) echo "core $1" ;;
    pipeline) echo "core fast model pipeline" ;;
    app) echo "core reference fast model pipeline app" ;;
  esac
}
bad=0
for layer in core reference fast model pipeline app; do
  ok=$(allowed $layer)
  while IFS= read -r line; do
    file=${line%%:*}
    inc=$(echo "$line" | sed -E 's/.*#include "deltapq\/([a-z_]+)\/.*/\1/')
    if ! echo " $ok " | grep -q " $inc "; then
      echo "layering: $file includes deltapq/$inc (a $layer file may include only: $ok)"
      bad=1
    fi
  done < <(grep -rn '#include "deltapq/[a-z_]*/' "$root/$layer" || true)
  # Nothing of the CLI or the benchmarks (their headers are plain names: args.h, *_bench.h, commands.h).
  if grep -rnE '#include "(args|commands|bench_data|scalar_bench|turbo_bench|pq_bench)\.h"' "$root/$layer"; then
    echo "layering: a $layer file includes a cli/ or bench/ header"
    bad=1
  fi
done
# No workflow in cli/: the command files include the application layer, never pipeline/model/fast directly
# for computation (model and pipeline headers are allowed for loading a checkpoint and naming options).
if grep -rnE '#include "deltapq/(fast|turbo)/' "$root/cli"; then
  echo "layering: cli/ includes the fast path directly (workflows belong to app/)"
  bad=1
fi
[ $bad -eq 0 ] && echo "layering: every include goes down the layers"
exit $bad
