(* B2 ratio algebra and B4 equivalence (proofs-notes/B2.md, proofs-notes/B4.md).
   Blocks m = 0..M with architecture constants C_m > 0; A_m^s = d_m det_s^(1/d_m) 2^(-2 R_m / d_m). *)
From Coq Require Import Reals Lra.
Open Scope R_scope.

(* Block-wise cancellation: the common factor d 2^(-2R/d) drops out, A^delta = ratio * A^V with
   ratio = (det_delta / det_V)^(1/d). *)
Theorem B2_blockwise_cancellation (d R det_d det_v : R) :
  0 < d -> 0 < det_d -> 0 < det_v ->
  let common := d * Rpower 2 (- 2 * R / d) in
  common * Rpower det_d (/ d) = Rpower (det_d / det_v) (/ d) * (common * Rpower det_v (/ d)).
Proof.
  intros Hd Hdd Hdv common.
  unfold Rdiv at 1.
  rewrite <- Rpower_mult_distr by (try apply Rinv_0_lt_compat; lra).
  assert (Hinv : Rpower (/ det_v) (/ d) = / Rpower det_v (/ d)).
  { unfold Rpower. rewrite ln_Rinv by lra. rewrite <- exp_Ropp. f_equal. ring. }
  rewrite Hinv.
  assert (0 < Rpower det_v (/ d)) by (unfold Rpower; apply exp_pos).
  field. lra.
Qed.

(* The max-ratio step: with the shared regime (1 - eta) C A <= D <= (1 + eta) C A for both sources
   and A_m^delta <= alpha A_m^V (alpha = max_m of the block ratios), D_delta <= alpha (1+eta)/(1-eta) D_V. *)
Theorem B2_ratio (C Ad Av Dd Dv : nat -> R) (alpha eta : R) (M : nat) :
  0 <= alpha -> 0 <= eta < 1 ->
  (forall m, (m <= M)%nat -> 0 < C m) ->
  (forall m, (m <= M)%nat -> 0 <= Av m) ->
  (forall m, (m <= M)%nat -> Ad m <= alpha * Av m) ->
  (forall m, (m <= M)%nat -> Dd m <= (1 + eta) * C m * Ad m) ->
  (forall m, (m <= M)%nat -> (1 - eta) * C m * Av m <= Dv m) ->
  sum_f_R0 Dd M <= alpha * (1 + eta) / (1 - eta) * sum_f_R0 Dv M.
Proof.
  intros Ha He HC HAv HA HDd HDv.
  apply Rle_trans with (sum_f_R0 (fun m => alpha * (1 + eta) / (1 - eta) * Dv m) M).
  - apply sum_Rle. intros m Hm.
    pose proof (HC m Hm). pose proof (HAv m Hm). pose proof (HA m Hm). pose proof (HDd m Hm). pose proof (HDv m Hm).
    assert (Hk : alpha * (1 + eta) / (1 - eta) * ((1 - eta) * C m * Av m) = (1 + eta) * C m * (alpha * Av m))
      by (field; lra).
    assert (HK : 0 <= alpha * (1 + eta) / (1 - eta))
      by (apply Rmult_le_pos; [nra | apply Rlt_le, Rinv_0_lt_compat; lra]).
    assert (Hs1 : (1 + eta) * C m * Ad m <= (1 + eta) * C m * (alpha * Av m))
      by (apply Rmult_le_compat_l; [nra | assumption]).
    assert (Hs2 : alpha * (1 + eta) / (1 - eta) * ((1 - eta) * C m * Av m) <= alpha * (1 + eta) / (1 - eta) * Dv m)
      by (apply Rmult_le_compat_l; assumption).
    lra.
  - rewrite scal_sum. apply Req_le. apply sum_eq. intros; ring.
Qed.

(* B4: mu := alpha (1+eta)/(1-eta) < 1 iff eta < (1 - alpha)/(1 + alpha). *)
Theorem B4_joint_condition (alpha eta : R) :
  0 <= alpha -> 0 <= eta < 1 ->
  (alpha * (1 + eta) / (1 - eta) < 1 <-> eta < (1 - alpha) / (1 + alpha)).
Proof.
  intros Ha He. split; intros H.
  - apply Rmult_lt_reg_r with (1 + alpha); [lra|].
    unfold Rdiv in *. rewrite Rmult_assoc, Rinv_l, Rmult_1_r by lra.
    apply Rmult_lt_compat_r with (r := 1 - eta) in H; [|lra].
    rewrite Rmult_assoc, Rinv_l, Rmult_1_r, Rmult_1_l in H by lra. nra.
  - assert (eta * (1 + alpha) < 1 - alpha).
    { apply Rmult_lt_compat_r with (r := 1 + alpha) in H; [|lra].
      unfold Rdiv in H. rewrite Rmult_assoc, Rinv_l, Rmult_1_r in H by lra. exact H. }
    apply Rmult_lt_reg_r with (1 - eta); [lra|].
    unfold Rdiv. rewrite Rmult_assoc, Rinv_l, Rmult_1_r, Rmult_1_l by lra. nra.
Qed.
