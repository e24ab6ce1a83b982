(* C3 — contraction certificate (proofs-notes/C3.md). T_u = tr Sigma_u, T_d = tr Sigma_delta,
   rho in (0, 1) with tr Sigma_e <= rho tr Sigma_delta; the Cov inequality with parameter eps gives
   T_d <= (1 + eps) T_u + (1 + 1/eps) rho T_d for every eps > 0. *)
From Coq Require Import Reals Lra.
Open Scope R_scope.

(* The best eps: for every admissible eps the eps-bound is at least T_u / (1 - sqrt rho)^2 ... *)
Theorem C3_best_epsilon (rho eps : R) :
  0 < rho < 1 -> 0 < eps -> 0 < 1 - (1 + / eps) * rho ->
  / (1 - sqrt rho) ^ 2 <= (1 + eps) / (1 - (1 + / eps) * rho).
Proof.
  intros Hr He Hd.
  pose proof (sqrt_lt_R0 rho (proj1 Hr)) as Hs0.
  assert (Hs1 : sqrt rho < 1) by (rewrite <- sqrt_1; apply sqrt_lt_1_alt; lra).
  pose proof (sqrt_sqrt rho (Rlt_le _ _ (proj1 Hr))) as Hss.
  set (s := sqrt rho) in *.
  assert (Hpos : 0 < (1 - s) ^ 2) by (apply pow_lt; lra).
  set (D := 1 - (1 + / eps) * rho) in *.
  (* eps ((1+eps)(1-s)^2 - D) = (eps (1 - s) - s)^2 >= 0 *)
  assert (Hkey : (1 + eps) * (1 - s) ^ 2 - D = (eps * (1 - s) - s) ^ 2 / eps).
  { unfold D. rewrite <- Hss. field. lra. }
  assert (Hnn : 0 <= (eps * (1 - s) - s) ^ 2 / eps)
    by (apply Rmult_le_pos; [apply pow2_ge_0 | apply Rlt_le, Rinv_0_lt_compat; lra]).
  assert (HD : D <= (1 + eps) * (1 - s) ^ 2) by lra.
  replace ((1 + eps) / D) with ((1 + eps) * (1 - s) ^ 2 / D * / (1 - s) ^ 2) by (field; split; lra).
  rewrite <- (Rmult_1_l (/ (1 - s) ^ 2)) at 1.
  apply Rmult_le_compat_r; [apply Rlt_le, Rinv_0_lt_compat; exact Hpos|].
  apply (Rmult_le_reg_r D); [lra|].
  unfold Rdiv. rewrite Rmult_assoc, Rinv_l, Rmult_1_r by lra. lra.
Qed.

(* ... and eps = s / (1 - s), s = sqrt rho, attains it: the certificate. *)
Theorem C3_certificate (rho Tu Td : R) :
  0 < rho < 1 -> 0 <= Tu -> 0 <= Td ->
  (forall eps, 0 < eps -> Td <= (1 + eps) * Tu + (1 + / eps) * rho * Td) ->
  Td <= Tu / (1 - sqrt rho) ^ 2.
Proof.
  intros Hr HTu HTd H.
  pose proof (sqrt_lt_R0 rho (proj1 Hr)) as Hs0.
  assert (Hs1 : sqrt rho < 1) by (rewrite <- sqrt_1; apply sqrt_lt_1_alt; lra).
  pose proof (sqrt_sqrt rho (Rlt_le _ _ (proj1 Hr))) as Hss.
  set (s := sqrt rho) in *.
  specialize (H (s / (1 - s))).
  assert (He : 0 < s / (1 - s)) by (apply Rdiv_lt_0_compat; lra).
  specialize (H He).
  assert (E1 : 1 + s / (1 - s) = / (1 - s)) by (field; lra).
  assert (E2 : (1 + / (s / (1 - s))) * rho = s) by (rewrite <- Hss; field; lra).
  rewrite E1 in H. rewrite E2 in H.
  (* Td (1 - s) <= Tu / (1 - s) *)
  assert (H' : Td * (1 - s) <= Tu / (1 - s)) by (unfold Rdiv; nra).
  apply Rmult_le_reg_r with ((1 - s) ^ 2); [apply pow_lt; lra|].
  unfold Rdiv. rewrite Rmult_assoc, Rinv_l, Rmult_1_r by (apply pow_nonzero; lra).
  assert (Td * (1 - s) ^ 2 = (Td * (1 - s)) * (1 - s)) by ring.
  assert (Tu / (1 - s) * (1 - s) = Tu) by (field; lra).
  nra.
Qed.

(* When e is orthogonal to u: T_d = T_u + T_e and T_e <= rho T_d give T_d <= T_u / (1 - rho). *)
Theorem C3_orthogonal (rho Tu Td Te : R) :
  0 <= rho < 1 -> Td = Tu + Te -> Te <= rho * Td -> Td <= Tu / (1 - rho).
Proof.
  intros Hr HT He. apply Rmult_le_reg_r with (1 - rho); [lra|].
  unfold Rdiv. rewrite Rmult_assoc, Rinv_l, Rmult_1_r by lra. nra.
Qed.

(* The premise from the data: the Cov inequality itself. Pointwise (a + b)^2 <= (1 + eps) a^2 +
   (1 + 1/eps) b^2 (times eps the difference is (eps a - b)^2), summed over every coordinate of every
   sample (a trace of a sample covariance is such a sum over the centred vectors, and centring is
   linear, so delta = u + e stays a sum after it). *)
Lemma cov_young (a b eps : R) : 0 < eps -> (a + b) ^ 2 <= (1 + eps) * a ^ 2 + (1 + / eps) * b ^ 2.
Proof.
  intros He.
  apply (Rmult_le_reg_l eps); [exact He|].
  assert (Hk : eps * ((1 + eps) * a ^ 2 + (1 + / eps) * b ^ 2) - eps * (a + b) ^ 2 = (eps * a - b) ^ 2)
    by (field; lra).
  pose proof (pow2_ge_0 (eps * a - b)). lra.
Qed.

Lemma cov_young_sum (u e : nat -> R) (N : nat) (eps : R) : 0 < eps ->
  sum_f_R0 (fun t => (u t + e t) ^ 2) N <=
  (1 + eps) * sum_f_R0 (fun t => u t ^ 2) N + (1 + / eps) * sum_f_R0 (fun t => e t ^ 2) N.
Proof.
  intros He.
  rewrite !scal_sum.
  rewrite <- plus_sum.
  apply sum_Rle. intros t _.
  pose proof (cov_young (u t) (e t) eps He). lra.
Qed.

(* C3 on a sample, no premise assumed but the contraction: delta_t = u_t + e_t coordinate-wise (the
   closed loop's delta is the open-loop delta plus the previous reconstruction error), and
   sum e^2 <= rho sum delta^2, give sum delta^2 <= sum u^2 / (1 - sqrt rho)^2. *)
Theorem C3_sample (u e : nat -> R) (N : nat) (rho : R) :
  0 < rho < 1 ->
  sum_f_R0 (fun t => e t ^ 2) N <= rho * sum_f_R0 (fun t => (u t + e t) ^ 2) N ->
  sum_f_R0 (fun t => (u t + e t) ^ 2) N <= sum_f_R0 (fun t => u t ^ 2) N / (1 - sqrt rho) ^ 2.
Proof.
  intros Hr Hc.
  set (Td := sum_f_R0 (fun t => (u t + e t) ^ 2) N).
  set (Tu := sum_f_R0 (fun t => u t ^ 2) N).
  set (Te := sum_f_R0 (fun t => e t ^ 2) N).
  assert (HTu : 0 <= Tu) by (apply cond_pos_sum; intros; apply pow2_ge_0).
  assert (HTd : 0 <= Td) by (apply cond_pos_sum; intros; apply pow2_ge_0).
  apply (C3_certificate rho Tu Td Hr HTu HTd).
  intros eps He.
  pose proof (cov_young_sum u e N eps He) as Hy. fold Td Tu Te in Hy.
  assert (Hi : 0 < 1 + / eps) by (pose proof (Rinv_0_lt_compat eps He); lra).
  assert (Hm : (1 + / eps) * Te <= (1 + / eps) * (rho * Td)).
  { apply Rmult_le_compat_l; [lra | exact Hc]. }
  lra.
Qed.
