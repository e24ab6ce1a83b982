(* A2 (coordinate sum, matched form, trace corollary) and the scalar core of A4
   (proofs-notes/A2.md, proofs-notes/A4.md). Sums over coordinates 0..N are sum_f_R0. *)
From Coq Require Import Reals Lra Lia.
Open Scope R_scope.

(* A2: if every coordinate's squared error is at most (step_i / 2)^2, so is the sum. *)
Theorem A2_coordinate_sum (err half_step : nat -> R) (N : nat) :
  (forall i, (i <= N)%nat -> Rabs (err i) <= half_step i) ->
  sum_f_R0 (fun i => err i ^ 2) N <= sum_f_R0 (fun i => half_step i ^ 2) N.
Proof.
  intros H. apply sum_Rle. intros i Hi.
  pose proof (H i Hi) as Hb. pose proof (Rabs_pos (err i)) as Hp.
  rewrite <- (pow2_abs (err i)). apply pow_incr. lra.
Qed.

(* (step / 2)^2 = c^2 / L^2 = c^2 4^-b when step L = 2c and L = 2^b. *)
Lemma A2_half_step_squared (c step L : R) : 0 < L -> step * L = 2 * c -> (step / 2) ^ 2 = c ^ 2 / L ^ 2.
Proof. intros HL Hs. assert (step = 2 * c / L) by (field_simplify_eq; lra). subst step. field. lra. Qed.

(* A2 trace corollary: sum_i lambda_i w_i <= W sum_i lambda_i when 0 <= lambda_i and w_i <= W
   (w_i = kappa^2 4^-b_i, W = kappa^2 4^-min b). *)
Theorem A2_trace_corollary (lambda w : nat -> R) (W : R) (N : nat) :
  (forall i, (i <= N)%nat -> 0 <= lambda i) -> (forall i, (i <= N)%nat -> w i <= W) ->
  sum_f_R0 (fun i => lambda i * w i) N <= W * sum_f_R0 lambda N.
Proof.
  intros Hl Hw. rewrite scal_sum. apply sum_Rle. intros i Hi.
  pose proof (Hl i Hi). pose proof (Hw i Hi). nra.
Qed.

(* A4, scalar core: eigenvalue-wise ordering with non-negative weights orders the bounds ... *)
Theorem A4_ordered (a b w : nat -> R) (N : nat) :
  (forall i, (i <= N)%nat -> a i <= b i) -> (forall i, (i <= N)%nat -> 0 <= w i) ->
  sum_f_R0 (fun i => w i * a i) N <= sum_f_R0 (fun i => w i * b i) N.
Proof.
  intros Hab Hw. apply sum_Rle. intros i Hi. pose proof (Hab i Hi). pose proof (Hw i Hi). nra.
Qed.

(* ... and with a domination factor alpha: a_i <= alpha b_i gives B^delta <= alpha B^V. *)
Theorem A4_alpha (a b w : nat -> R) (alpha : R) (N : nat) :
  (forall i, (i <= N)%nat -> a i <= alpha * b i) -> (forall i, (i <= N)%nat -> 0 <= w i) ->
  sum_f_R0 (fun i => w i * a i) N <= alpha * sum_f_R0 (fun i => w i * b i) N.
Proof.
  intros Hab Hw. rewrite scal_sum. apply sum_Rle. intros i Hi.
  pose proof (Hab i Hi). pose proof (Hw i Hi). nra.
Qed.

(* ... strict when some eigenvalue is strictly smaller and every weight is positive. *)
Theorem A4_strict (a b w : nat -> R) (N j : nat) :
  (forall i, (i <= N)%nat -> a i <= b i) -> (forall i, (i <= N)%nat -> 0 < w i) ->
  (j <= N)%nat -> a j < b j ->
  sum_f_R0 (fun i => w i * a i) N < sum_f_R0 (fun i => w i * b i) N.
Proof.
  intros Hab Hw Hj Hlt. induction N as [|N IH].
  - simpl. assert (j = 0)%nat by lia. subst j. pose proof (Hw 0%nat (le_n 0)). nra.
  - simpl. destruct (Nat.eq_dec j (S N)) as [->|Hne].
    + assert (sum_f_R0 (fun i => w i * a i) N <= sum_f_R0 (fun i => w i * b i) N).
      { apply A4_ordered; intros i Hi; [apply Hab | apply Rlt_le, Hw]; lia. }
      pose proof (Hw (S N) (le_n _)). nra.
    + assert (sum_f_R0 (fun i => w i * a i) N < sum_f_R0 (fun i => w i * b i) N).
      { apply IH; intros; try apply Hab; try apply Hw; lia. }
      pose proof (Hab (S N) (le_n _)). pose proof (Hw (S N) (le_n _)). nra.
Qed.
