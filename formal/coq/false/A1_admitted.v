(* Expected to FAIL (a test of the formal harness): an admitted lemma compiles, but the assumption
   check must reject it. The statement is also false (the error can reach step / 2). *)
From Coq Require Import Reals.
Open Scope R_scope.

Lemma A1_inside_quarter (y q step : R) : Rabs (y - q) <= step / 4.
Admitted.
