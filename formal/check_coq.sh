#!/usr/bin/env bash
# Machine-checks one Coq file: it must compile, and every Theorem/Lemma in it must rest on no axiom
# beyond the standard ones of Coq's classical reals (so an `Admitted.` or a stray `Axiom` fails).
# usage: check_coq.sh FILE.v
set -euo pipefail
file=$(readlink -f "$1")
name=$(basename "$file" .v)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$file" "$work/"
cd "$work"
coqc -Q . DPQ "$name.v"
theorems=$(grep -oE '^(Theorem|Lemma) +[A-Za-z0-9_]+' "$name.v" | awk '{print $2}')
[ -n "$theorems" ] || { echo "$name.v: no Theorem or Lemma to check"; exit 1; }
{
  echo "From DPQ Require Import $name."
  for t in $theorems; do echo "Print Assumptions $t."; done
} > check_assumptions.v
coqc -Q . DPQ check_assumptions.v > assumptions.txt
allowed='^(ClassicalDedekindReals\.sig_forall_dec|ClassicalDedekindReals\.sig_not_dec|FunctionalExtensionality\.functional_extensionality_dep|Classical_Prop\.classic)$'
# Print Assumptions lists each axiom as a line starting at column 0 (its statement may follow on
# indented lines); anything not in the allowlist — an Admitted lemma included — is rejected.
bad=$(grep -E '^[A-Za-z_]' assumptions.txt | grep -vE '^(Axioms:|Closed under the global context)' \
      | awk '{print $1}' | grep -vE "$allowed" || true)
if [ -n "$bad" ]; then
  echo "$name.v: theorems rest on unproven assumptions: $bad"
  exit 1
fi
echo "$name.v: $(echo "$theorems" | wc -w) theorems checked ($(echo $theorems))"
