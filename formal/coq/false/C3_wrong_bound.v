(* Expected to FAIL (a test of the formal harness): the certificate with 1/(1 - rho) in place of
   1/(1 - sqrt rho)^2 does not follow from the general premise (it needs e orthogonal to u). *)
From Coq Require Import Reals Lra.
Open Scope R_scope.

Theorem C3_wrong (rho Tu Td : R) :
  0 < rho < 1 -> 0 <= Tu -> 0 <= Td ->
  (forall eps, 0 < eps -> Td <= (1 + eps) * Tu + (1 + / eps) * rho * Td) ->
  Td <= Tu / (1 - rho).
Proof.
  intros Hr HTu HTd H.
  specialize (H (sqrt rho / (1 - sqrt rho))).
  nra.
Qed.
