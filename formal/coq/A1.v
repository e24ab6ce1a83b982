(* A1 — scalar cell lemma for the mid-rise quantizer with its tie rule (proofs-notes/A1.md).
   Clip c > 0, L = 2^b >= 1 cells, step = 2c / L, index k(y) = clamp(floor((y + c) / step), 0, L - 1),
   reconstruction q(y) = -c + (k + 1/2) step. A value on a boundary goes to the upper cell (floor). *)
From Coq Require Import Reals Lra Lia ZArith.
From Flocq Require Import Core.Raux.
Open Scope R_scope.

Section A1.

Variables (c step : R) (L : Z).
Hypothesis Hc : 0 < c.
Hypothesis HL : (1 <= L)%Z.
Hypothesis Hstep : step * IZR L = 2 * c.

Lemma step_pos : 0 < step.
Proof.
  assert (HLpos : 1 <= IZR L) by (apply IZR_le; lia).
  destruct (Rle_or_lt step 0) as [H|H]; [|exact H].
  assert (step * IZR L <= 0) by nra. lra.
Qed.

Definition index (y : R) : Z := Z.max 0 (Z.min (Zfloor ((y + c) / step)) (L - 1)).
Definition q (y : R) : R := - c + (IZR (index y) + / 2) * step.

(* floor bounds, multiplied out by step > 0 *)
Lemma floor_scaled (y : R) :
  IZR (Zfloor ((y + c) / step)) * step <= y + c < (IZR (Zfloor ((y + c) / step)) + 1) * step.
Proof.
  pose proof step_pos as Hs.
  pose proof (Zfloor_lb ((y + c) / step)) as Hlb.
  pose proof (Zfloor_ub ((y + c) / step)) as Hub.
  set (k := IZR (Zfloor ((y + c) / step))) in *.
  assert (Heq : (y + c) / step * step = y + c) by (field; lra).
  split; nra.
Qed.

Theorem A1_inside (y : R) : Rabs y <= c -> Rabs (y - q y) <= step / 2.
Proof.
  intros Hy.
  assert (Hlo : - c <= y) by (pose proof (Rle_abs (- y)) as H; rewrite Rabs_Ropp in H; lra).
  assert (Hhi : y <= c) by (pose proof (Rle_abs y); lra).
  pose proof step_pos as Hs. pose proof (floor_scaled y) as [Hf1 Hf2].
  assert (HLr : IZR L * step = 2 * c) by lra.
  unfold q, index.
  set (k := Zfloor ((y + c) / step)) in *.
  (* k >= 0 because y + c >= 0 *)
  assert (Hk0 : (0 <= k)%Z).
  { apply le_IZR. destruct (Rle_or_lt 0 (IZR k)) as [H|H]; [exact H|].
    assert (IZR k <= -1) by (apply IZR_le; apply lt_IZR in H; lia). nra. }
  (* k <= L, because y + c <= 2c *)
  assert (HkL : (k <= L)%Z).
  { apply le_IZR. destruct (Rle_or_lt (IZR k) (IZR L)) as [H|H]; [exact H|].
    assert (IZR L + 1 <= IZR k) by (rewrite <- plus_IZR; apply IZR_le; apply lt_IZR in H; lia). nra. }
  destruct (Z.eq_dec k L) as [HkeqL|HkneL].
  - (* y = c: clamped into the top cell *)
    rewrite HkeqL in *.
    replace (Z.max 0 (Z.min L (L - 1))) with (L - 1)%Z by lia.
    rewrite minus_IZR.
    assert (y = c) by nra. subst y.
    apply Rabs_le. split; nra.
  - replace (Z.max 0 (Z.min k (L - 1))) with k by lia.
    apply Rabs_le. split; nra.
Qed.

Theorem A1_outside (y : R) : c < Rabs y -> Rabs (y - q y) = Rabs y - c + step / 2.
Proof.
  intros Hy. pose proof step_pos as Hs. pose proof (floor_scaled y) as [Hf1 Hf2].
  assert (HLr : IZR L * step = 2 * c) by lra.
  unfold q, index.
  set (k := Zfloor ((y + c) / step)) in *.
  destruct (Rle_or_lt 0 y) as [Hpos|Hneg].
  - rewrite Rabs_right in Hy by lra.
    (* y > c: k >= L, clamped to L - 1 *)
    assert (HkL : (L <= k)%Z).
    { apply le_IZR. destruct (Rle_or_lt (IZR L) (IZR k)) as [H|H]; [exact H|].
      assert (IZR k + 1 <= IZR L) by (rewrite <- plus_IZR; apply IZR_le; apply lt_IZR in H; lia). nra. }
    replace (Z.max 0 (Z.min k (L - 1))) with (L - 1)%Z by lia.
    rewrite minus_IZR, Rabs_right by lra.
    rewrite Rabs_right; nra.
  - rewrite Rabs_left in Hy by lra.
    (* y < -c: k < 0, clamped to 0 *)
    assert (Hk : (k < 0)%Z).
    { apply lt_IZR. destruct (Rlt_or_le (IZR k) 0) as [H|H]; [exact H|]. nra. }
    replace (Z.max 0 (Z.min k (L - 1))) with 0%Z by lia.
    rewrite (Rabs_left y) by lra.
    rewrite Rabs_left; nra.
Qed.

End A1.

(* The tie rule as the C++ defines it (core/include/deltapq/core/design.h: floor, then clamp): a value
   exactly on the boundary -c + k step between cells k - 1 and k goes to the upper cell k. *)
Theorem A1_tie_rule (c step : R) (L k : Z) :
  0 < c -> (1 <= L)%Z -> step * IZR L = 2 * c -> (0 <= k <= L - 1)%Z ->
  index c step L (- c + IZR k * step) = k.
Proof.
  intros Hc HL Hs Hk.
  pose proof (step_pos c step L Hc HL Hs) as Hp.
  unfold index.
  replace ((- c + IZR k * step + c) / step) with (IZR k) by (field; lra).
  rewrite Zfloor_IZR. lia.
Qed.

(* A2 composed with A1: the quantizer above, coordinate by coordinate (clip c_i, L_i cells, step_i),
   on a vector whose coordinates lie within their clips: the summed squared error is at most
   sum_i (step_i / 2)^2 = sum_i c_i^2 4^-b_i. *)
Theorem A2_from_A1 (c step : nat -> R) (L : nat -> Z) (y : nat -> R) (N : nat) :
  (forall i, (i <= N)%nat -> 0 < c i /\ (1 <= L i)%Z /\ step i * IZR (L i) = 2 * c i /\ Rabs (y i) <= c i) ->
  sum_f_R0 (fun i => (y i - q (c i) (step i) (L i) (y i)) ^ 2) N <= sum_f_R0 (fun i => (step i / 2) ^ 2) N.
Proof.
  intros H. apply sum_Rle. intros i Hi.
  destruct (H i Hi) as (Hc & HL & Hs & Hy).
  pose proof (A1_inside (c i) (step i) (L i) Hc HL Hs (y i) Hy) as Hb.
  rewrite <- (pow2_abs (y i - q (c i) (step i) (L i) (y i))).
  apply pow_incr. split; [apply Rabs_pos | exact Hb].
Qed.

(* A5's decomposition, sample-wise (the empirical distribution of T + 1 values y_0..y_T of one
   coordinate): each squared error is at most (step/2)^2 = c^2 4^-b inside the clip and exactly
   (|y| - c + step/2)^2 outside it, so the sum splits into the covariance-scale term over the values
   inside and the overload term over those outside (B_clip with P and O_i as empirical averages). *)
Definition a5_term (c step y : R) : R :=
  if Rle_dec (Rabs y) c then (step / 2) ^ 2 else (Rabs y - c + step / 2) ^ 2.

Theorem A5_pointwise (c step : R) (L : Z) (y : R) :
  0 < c -> (1 <= L)%Z -> step * IZR L = 2 * c -> (y - q c step L y) ^ 2 <= a5_term c step y.
Proof.
  intros Hc HL Hs. unfold a5_term.
  destruct (Rle_dec (Rabs y) c) as [Hin|Hout].
  - pose proof (A1_inside c step L Hc HL Hs y Hin) as Hb.
    rewrite <- (pow2_abs (y - q c step L y)). apply pow_incr. split; [apply Rabs_pos | exact Hb].
  - apply Rnot_le_lt in Hout.
    pose proof (A1_outside c step L Hc HL Hs y Hout) as He.
    rewrite <- (pow2_abs (y - q c step L y)), He. lra.
Qed.

Theorem A5_sample (c step : R) (L : Z) (y : nat -> R) (T : nat) :
  0 < c -> (1 <= L)%Z -> step * IZR L = 2 * c ->
  sum_f_R0 (fun t => (y t - q c step L (y t)) ^ 2) T <= sum_f_R0 (fun t => a5_term c step (y t)) T.
Proof.
  intros Hc HL Hs. apply sum_Rle. intros t Ht. apply A5_pointwise; assumption.
Qed.

(* A5's population form for every finitely supported distribution: atoms y_0..y_T with weights
   p_t >= 0 (the sample is p_t = 1/(T+1)). For a general distribution the same pointwise inequality
   integrates by monotonicity of the integral; that step is on paper (proofs-notes/A5.md). *)
Theorem A5_weighted (c step : R) (L : Z) (p y : nat -> R) (T : nat) :
  0 < c -> (1 <= L)%Z -> step * IZR L = 2 * c -> (forall t, (t <= T)%nat -> 0 <= p t) ->
  sum_f_R0 (fun t => p t * (y t - q c step L (y t)) ^ 2) T <= sum_f_R0 (fun t => p t * a5_term c step (y t)) T.
Proof.
  intros Hc HL Hs Hp. apply sum_Rle. intros t Ht.
  apply Rmult_le_compat_l; [exact (Hp t Ht) | apply A5_pointwise; assumption].
Qed.

(* A5's moment form: outside the clip the overload (|y| - c + step/2)^2 is at most y^4 / c^2
   (step/2 = c/L <= c, so |y| - c + step/2 <= |y|, and y^2 <= y^4 / c^2 when |y| > c): the bound
   sum_i [c_i^2 4^-b_i P(|Y_i| <= c_i) + E Y_i^4 / c_i^2] of clipped_bound_moment. *)
Definition a5_moment_term (c step y : R) : R :=
  if Rle_dec (Rabs y) c then (step / 2) ^ 2 else y ^ 4 / c ^ 2.

Lemma A5_overload_le_moment (c step : R) (L : Z) (y : R) :
  0 < c -> (1 <= L)%Z -> step * IZR L = 2 * c -> c < Rabs y -> (Rabs y - c + step / 2) ^ 2 <= y ^ 4 / c ^ 2.
Proof.
  intros Hc HL Hs Hy.
  pose proof (step_pos c step L Hc HL Hs) as Hp.
  assert (HLr : 1 <= IZR L) by (apply IZR_le; lia).
  assert (Hh : step / 2 <= c) by nra.
  assert (Ha : 0 <= Rabs y - c + step / 2 <= Rabs y) by lra.
  assert (Hy2 : y ^ 2 = Rabs y ^ 2) by (rewrite pow2_abs; reflexivity).
  assert (Hsq : (Rabs y - c + step / 2) ^ 2 <= Rabs y ^ 2) by (apply pow_incr; exact Ha).
  assert (Hc2 : 0 < c ^ 2) by (apply pow_lt; exact Hc).
  assert (Hyc : c ^ 2 <= Rabs y ^ 2) by (apply pow_incr; lra).
  assert (Hq : Rabs y ^ 2 <= y ^ 4 / c ^ 2).
  { apply (Rmult_le_reg_r (c ^ 2)); [exact Hc2|].
    replace (y ^ 4 / c ^ 2 * c ^ 2) with (Rabs y ^ 2 * Rabs y ^ 2)
      by (rewrite <- Hy2; field; lra).
    apply Rmult_le_compat_l; [apply pow2_ge_0 | exact Hyc]. }
  lra.
Qed.

Theorem A5_moment_pointwise (c step : R) (L : Z) (y : R) :
  0 < c -> (1 <= L)%Z -> step * IZR L = 2 * c -> (y - q c step L y) ^ 2 <= a5_moment_term c step y.
Proof.
  intros Hc HL Hs.
  pose proof (A5_pointwise c step L y Hc HL Hs) as H.
  unfold a5_term, a5_moment_term in *.
  destruct (Rle_dec (Rabs y) c) as [Hin|Hout]; [exact H|].
  apply Rnot_le_lt in Hout.
  pose proof (A5_overload_le_moment c step L y Hc HL Hs Hout). lra.
Qed.

Theorem A5_moment_weighted (c step : R) (L : Z) (p y : nat -> R) (T : nat) :
  0 < c -> (1 <= L)%Z -> step * IZR L = 2 * c -> (forall t, (t <= T)%nat -> 0 <= p t) ->
  sum_f_R0 (fun t => p t * (y t - q c step L (y t)) ^ 2) T <=
  sum_f_R0 (fun t => p t * a5_moment_term c step (y t)) T.
Proof.
  intros Hc HL Hs Hp. apply sum_Rle. intros t Ht.
  apply Rmult_le_compat_l; [exact (Hp t Ht) | apply A5_moment_pointwise; assumption].
Qed.
