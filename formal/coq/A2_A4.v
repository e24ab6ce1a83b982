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

(* The trace step of A3/A4: Sigma_delta <= Sigma_V in the Loewner order (x^T (B - A) x >= 0 for every x)
   implies tr Sigma_delta <= tr Sigma_V. Matrices are functions nat -> nat -> R on indices 0..N. *)
Definition quad (M : nat -> nat -> R) (x : nat -> R) (N : nat) : R :=
  sum_f_R0 (fun i => sum_f_R0 (fun j => x i * M i j * x j) N) N.
Definition trace (M : nat -> nat -> R) (N : nat) : R := sum_f_R0 (fun i => M i i) N.
Definition unit_vec (k : nat) : nat -> R := fun i => if Nat.eq_dec i k then 1 else 0.

Lemma sum_zero (f : nat -> R) (N : nat) : (forall i, (i <= N)%nat -> f i = 0) -> sum_f_R0 f N = 0.
Proof.
  induction N as [|N IH]; intros H; simpl.
  - apply H. lia.
  - rewrite IH by (intros; apply H; lia). rewrite (H (S N)) by lia. ring.
Qed.

(* Only the k-th term of a sum weighted by the k-th unit vector survives. *)
Lemma sum_unit (f : nat -> R) (k N : nat) : (k <= N)%nat -> sum_f_R0 (fun i => unit_vec k i * f i) N = f k.
Proof.
  induction N as [|N IH]; intros Hk.
  - assert (k = 0)%nat by lia. subst k. simpl. unfold unit_vec. destruct (Nat.eq_dec 0 0); [ring | lia].
  - simpl. destruct (Nat.eq_dec k (S N)) as [->|Hne].
    + rewrite sum_zero.
      * unfold unit_vec. destruct (Nat.eq_dec (S N) (S N)); [ring | lia].
      * intros i Hi. unfold unit_vec. destruct (Nat.eq_dec i (S N)); [lia | ring].
    + rewrite IH by lia. unfold unit_vec. destruct (Nat.eq_dec (S N) k); [lia | ring].
Qed.

Lemma quad_unit (M : nat -> nat -> R) (k N : nat) : (k <= N)%nat -> quad M (unit_vec k) N = M k k.
Proof.
  intros Hk. unfold quad.
  transitivity (sum_f_R0 (fun i => unit_vec k i * (M i k)) N).
  - apply sum_eq. intros i Hi.
    pose proof (sum_unit (fun j => unit_vec k i * M i j) k N Hk) as E. cbv beta in E.
    rewrite <- E. apply sum_eq. intros j Hj. ring.
  - pose proof (sum_unit (fun i => M i k) k N Hk) as E. cbv beta in E. exact E.
Qed.

Theorem A3_trace_step (A B : nat -> nat -> R) (N : nat) :
  (forall x, 0 <= quad (fun i j => B i j - A i j) x N) -> trace A N <= trace B N.
Proof.
  intros H. unfold trace. apply sum_Rle. intros i Hi.
  pose proof (H (unit_vec i)) as Hq. rewrite quad_unit in Hq by exact Hi. lra.
Qed.
