// Part B: product quantization under a shared pre-transform, the high-resolution ratio theorem
// (B2) with its certified alpha, the B3 domination check, the joint condition (B4) and the three
// tiers of the shape audit (B5). Notes: proofs-notes/B1.md .. B5.md.
//
// Choices where the source papers are silent (all in proofs-notes/B1.md):
//   * blocks are contiguous coordinate ranges of equal width d_m = d / M; every block has R bits;
//   * each source trains its own codebook (same architecture: T, M, R) on its own rows, and its
//     distortion is measured on those rows (the theorem is about D given a codebook);
//   * D is measured in the transformed domain, where the PQ operates and Sigma_{s,m} are defined;
//   * Soft-ZCA's epsilon is relative: eps = eps_rel * tr(Sigma_V) / d (default eps_rel = 1e-3).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "deltapq/reference/certified.h"
#include "deltapq/reference/linalg.h"

namespace dpq::ref {

enum class PqTransform { identity, eigenbasis, soft_zca };
const char* to_string(PqTransform t);

struct PqShape {
  int dim = 0, blocks = 0, bits = 0;
  int block_dim() const { return dim / blocks; }
  int centroids() const { return 1 << bits; }
};
// M blocks of BITS bits for vectors of `dim` coordinates; throws dpq::Error ("M = 4 does not divide the
// dimension 6", "BITS = 9 must be in 1..8") unless 1 <= M <= dim, M divides dim and 1 <= BITS <= 8.
PqShape make_pq_shape(int dim, int blocks, int bits);
// The text forms the CLI and the Python module take: "MxBITS" (e.g. "16x8") as (M, BITS), and that for
// vectors of `dim` coordinates; `what` names the option in errors ("--pq", "pq ="). A PQ transform by
// its to_string name (identity, eigenbasis, soft-zca).
std::pair<int, int> parse_pq_text(const std::string& text, const std::string& what);
PqShape parse_pq_shape(const std::string& text, int dim, const std::string& what);
PqTransform parse_pq_transform(const std::string& text);

// ---- Training (double; seeded k-means++ then Lloyd; the same rules as fast::ProductQuantizer) ----
struct KMeansOptions {
  int iterations = 25;       // stopping: no assignment changed, or this many rounds
  std::uint64_t seed = 1234;
};
struct KMeansResult {
  std::vector<double> centroids;  // k x dim
  int rounds = 0;
  bool converged = false;
};
// x: n x dim row-major. Throws dpq::Error when n < k or k < 1.
KMeansResult kmeans(const double* x, std::size_t n, int dim, int k, const KMeansOptions& options);

// ---- B1: the exact nearest-centroid distortion given a codebook ----
// mean over rows of min_k ||x_t - c_k||^2, the minimum taken exactly: double distances select the
// candidates whose exact distance can be minimal (relative bound gamma_{d+2} of a sum of squares),
// and those are compared in Real (ties: lowest index). Inputs are the exact data (doubles).
struct Distortion {
  Certified mean;            // the mean squared error per row
  Real per_row_sd;           // standard deviation of the per-row errors (sampling error of `mean`)
  std::vector<int> codes;    // chosen centroid per row
};
Distortion nearest_centroid_distortion(const double* x, std::size_t n, int dim, const double* centroids, int k);

// ---- Pre-transforms ----
// y = T (x - mean). identity: I; eigenbasis: rows are the eigenvectors of Sigma_V (descending);
// soft_zca: U (Lambda + eps I)^{-1/2} U^T with eps = eps_rel * tr(Sigma_V) / d (eigenvalues below 0
// within their certified radius count as 0). Throws when eps <= 0 makes a singular whitening.
RMatrix pq_transform_matrix(PqTransform kind, const SymmetricEigen& eig_v, const Real& eps_rel);

// ---- B2 alpha from block covariances ----
struct BlockAlpha {
  Certified det_delta, det_v;
  Certified alpha;     // (det_delta / det_v)^(1/d_m); +inf when det_v may be 0
  bool finite = true;
};
// Sigma's are already in the transformed domain and exact (e.g. sample covariances of transformed
// data). errors: optional per-entry absolute error bounds of the two matrices (same shape), added to
// the certified eigenvalue radii (Weyl, Frobenius norm of the block).
std::vector<BlockAlpha> block_alphas(const RMatrix& sigma_delta, const RMatrix& sigma_v, int blocks,
                                     const RMatrix* error_delta = nullptr, const RMatrix* error_v = nullptr);
// T Sigma T^T in Real for both covariances (with the rounding bound gamma_{2d} |T||Sigma||T|^T), then
// block_alphas. alpha = max_m alpha_m with the error of the maximiser.
struct AlphaReport {
  std::vector<BlockAlpha> blocks;
  Certified alpha;
  bool finite = true;
};
AlphaReport transformed_alpha(const RMatrix& sigma_delta, const RMatrix& sigma_v, const RMatrix& t, int blocks);

// ---- B3: per-source whitening breaks alpha <= 1 ----
// A Loewner-dominated pair (Sigma_delta <= Sigma_V, certified) for which the shared Soft-ZCA gives
// alpha <= 1 but per-source Soft-ZCA (each source whitened with its own relative eps) gives alpha > 1.
struct PerSourceCounterexample {
  RMatrix sigma_delta, sigma_v;
  Verdict loewner;          // Sigma_delta <= Sigma_V
  AlphaReport shared;       // T = Soft-ZCA of Sigma_V for both
  AlphaReport per_source;   // T_s = Soft-ZCA of Sigma_s for each s (alpha from T_s Sigma_s T_s^T)
  Real eps_rel;
  int blocks;
};
PerSourceCounterexample per_source_whitening_counterexample();
// alpha with a separate transform per source: blocks of T_d Sigma_d T_d^T against T_v Sigma_v T_v^T.
AlphaReport per_source_alpha(const RMatrix& sigma_delta, const RMatrix& t_delta, const RMatrix& sigma_v,
                             const RMatrix& t_v, int blocks);

// ---- B5 tier 2: generalized Gaussian proxy ----
// Moment ratio E[Y^2] / E[|Y|]^2 = Gamma(1/b) Gamma(3/b) / Gamma(2/b)^2 of a GGD of shape b.
Real ggd_moment_ratio(const Real& beta);
// The sample's E[Y^2] / E[|Y|]^2 after centring by the sample mean, in Real (x[i * stride], n rows);
// +inf for a constant coordinate.
Real sample_moment_ratio(const double* x, std::size_t n, std::size_t stride);
struct GgdFit {
  Real beta;                   // +inf in the uniform limit
  bool uniform_limit = false;  // sample ratio <= 4/3 (the b -> inf limit): treated as uniform
  bool below_range = false;    // sample ratio beyond the b = 0.02 value: beta reported as 0.02
  int iterations = 0;
};
// Solves ggd_moment_ratio(beta) = ratio by a bracketed Illinois secant in log beta on [0.02, 1e4],
// to a relative bracket width below 2^-(precision - 16) (>= 30 digits at 128 bits and above).
GgdFit fit_ggd_shape(const Real& ratio);
// log of integral p^g over R for the GGD of shape beta and standard deviation sigma (beta = +inf:
// uniform), and for the Gaussian. Closed forms in Gamma (proofs-notes/B5.md).
Real ggd_log_power_integral(const Real& beta, const Real& sigma, const Real& g);
Real gaussian_log_power_integral(const Real& sigma, const Real& g);
// log S of a product of independent GGD coordinates relative to the Gaussian of the same (diagonal)
// covariance: (1/g) sum_j [log int p_j^g - log int phi_j^g]; independent of the sigmas.
Real ggd_log_relative_shape(const std::vector<Real>& betas, const Real& g);

// ---- B5 tier 3: nonparametric (Leonenko-Pronzato-Savani k-NN estimator of int p^g) ----
struct KnnShape {
  bool available = false;
  std::string reason;           // when not available
  double log_relative_shape = 0;  // log S relative to the Gaussian of the same covariance (calibrated)
  double standard_error = 0;      // of log_relative_shape (asymptotic normality of the LPS means)
  double raw_log_relative_shape = 0;  // the LPS estimate before the Gaussian calibration
  double calibration = 0;         // the LPS estimate on a seeded Gaussian sample of the same size
  std::size_t points = 0;
};
// x: n x dim (one block of one source). The block is whitened by its own sample covariance (S is
// affine invariant), subsampled (seeded) to at most max_points rows, and int p^g estimated by
// (1/N) sum_i zeta_i^(1-g), zeta_i = (N-1) C_k V_d rho_{i,k}^d, C_k = [Gamma(k)/Gamma(k+1-g)]^(1/(1-g)).
// C_k removes the asymptotic bias; the finite-sample bias is removed to first order by subtracting
// the same estimate on a seeded standard Gaussian sample of the same N and d (true log S = 0).
KnnShape knn_relative_shape(const double* x, std::size_t n, int dim, int k, std::size_t max_points, std::uint64_t seed);

// eta from two shape factors: |S_1 - S_2| / (S_1 + S_2) = tanh(|log S_1 - log S_2| / 2).
Real eta_from_log_shapes(const Real& log_s1, const Real& log_s2);

// ---- Tiers 2 and 3 for one block of two sources (no codebook needed) ----
struct ShapeTiers {
  Real log_shape_ggd_v, log_shape_ggd_delta;
  std::vector<Real> beta_v, beta_delta;
  Real eta_ggd;
  KnnShape knn_v, knn_delta;
  std::optional<Real> eta_knn;  // when both k-NN estimates are available
  Real eta_knn_se;
  Real eta_max() const { return eta_knn ? std::max(eta_ggd, *eta_knn) : eta_ggd; }
};
// v: nv x dim, delta: nd x dim, one block (all columns). seed: the k-NN subsample's.
ShapeTiers shape_tiers(const double* v, std::size_t nv, const double* delta, std::size_t nd, int dim, int knn_k,
                       std::size_t knn_max_points, std::uint64_t seed);

// ---- The Part B audit of two sources ----
struct PqOptions {
  PqShape shape;
  PqTransform transform = PqTransform::soft_zca;
  Real zca_eps_rel = Real("1e-3");
  KMeansOptions kmeans;
  int knn_k = 5;
  std::size_t knn_max_points = 4096;
};

struct PqSourceBlock {
  Certified det;            // det Sigma_{s,m}
  Certified distortion;     // D_m^s (per row, exact nearest-centroid)
  Real distortion_sd;       // per-row standard deviation
  Certified a;              // A_m^s = d_m det^(1/d_m) 2^(-2R/d_m)
  Real ratio;               // r_s = D / A
  int kmeans_rounds = 0;
  bool kmeans_converged = false;
};

// B4: mu = alpha (1 + eta)/(1 - eta) with alpha's certified error carried, and the verdict on mu < 1
// ("fails": no guaranteed advantage, also when alpha is infinite or eta >= 1, where mu = +inf).
struct JointCondition {
  Certified mu;
  Verdict verdict = Verdict::fails;
};
JointCondition joint_condition(const Certified& alpha, bool alpha_finite, const Real& eta);

struct PqBlockReport {
  int block = 0;
  PqSourceBlock v, delta;
  BlockAlpha alpha;
  Real eta_empirical;
  ShapeTiers shape;        // tiers 2 and 3 (GGD proxy, k-NN)
  Real eta_conservative;   // max of the available tiers
  JointCondition joint;    // B4 for this block
};

struct PqReport {
  PqOptions options;
  Real zca_eps;                 // absolute epsilon used (soft_zca)
  std::vector<PqBlockReport> blocks;
  Certified alpha;              // max_m alpha_m
  bool alpha_finite = true;
  Real eta_empirical, eta_ggd, eta_conservative;  // max over blocks
  std::optional<Real> eta_knn;  // max over blocks, when every block has one
  Certified d_v, d_delta;       // totals over blocks
  JointCondition joint;         // B4 with alpha and eta_conservative
  Real eta_threshold;           // (1 - alpha) / (1 + alpha): B4 holds iff eta < this
};

// B2 on a report with a given alpha and eta: D_delta <= alpha (1 + eta)/(1 - eta) D_V, the right-hand
// side as a certified interval (it increases in alpha, eta and D_V). bound is empty and the verdict
// undecided when alpha is infinite or eta >= 1 (B1 cannot hold).
struct RatioCheck {
  std::optional<Certified> bound;
  Verdict verdict = Verdict::undecided;
};
RatioCheck pq_ratio_check(const PqReport& p, const Certified& alpha, const Real& eta);

// v_rows: nv x dim, delta_rows: nd x dim (finite doubles). The transform is built from Sigma_V
// (eig_v: its certified eigendecomposition) and applied to both sources after centring each by its
// own mean. Throws dpq::Error on a shape mismatch or fewer rows than centroids.
PqReport pq_audit(const std::vector<double>& v_rows, std::size_t nv, const std::vector<double>& delta_rows,
                  std::size_t nd, int dim, const SymmetricEigen& eig_v, const PqOptions& options);

// Part B of one stream [T, d]: V = the rows, delta = their open-loop differences x_t - x_{t-1}. The
// double computations of Part B (transform, k-means, distances) would overflow or underflow on data
// near the ends of the double range (|x| ~ 1e308, or subnormal ~ 1e-310), so the stream is first
// scaled by a power of two 2^s bringing max |x| into [1, 2) -- exact, unless values more than ~1000
// binades below the maximum become subnormal -- and the report is scaled back: eps by 2^(-2s); with the
// identity or eigenbasis transform also distortions and A by 2^(-2s), determinants by 2^(-2s d_m)
// (Soft-ZCA's output does not depend on the scale); alpha, eta and mu never depend on it.
// eig_v: the certified eigendecomposition of the rows' covariance (unscaled).
PqReport pq_audit_stream(const std::vector<double>& rows, std::size_t tokens, int dim, const SymmetricEigen& eig_v,
                         const PqOptions& options);

}  // namespace dpq::ref
