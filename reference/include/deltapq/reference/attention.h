// Part D reference formulas: QJL's exact variance (D4), the attention-KL identity and Jensen bound
// (D6) in Real, and the D6 attention-quality metrics of the experiment in double.
#pragma once

#include <vector>

#include "deltapq/reference/real.h"

namespace dpq::ref {

// D4: QJL with an m x d i.i.d. N(0,1) sketch S, stored bits s = sign(S r) and ||r||; estimator
// <q,r>^ = sqrt(pi/2)/m ||r|| sum_j s_j (S q)_j. Unbiased; exact variance
// [(pi/2) ||q||^2 ||r||^2 - <q,r>^2] / m.
Real qjl_variance(const Real& q_norm2, const Real& r_norm2, const Real& qr, int m);
// The unquantized Gaussian sketch <q,r>~ = (1/m) sum_j (S r)_j (S q)_j: variance
// [||q||^2 ||r||^2 + <q,r>^2] / m (the sign step inflates the leading term by pi/2).
Real gaussian_sketch_variance(const Real& q_norm2, const Real& r_norm2, const Real& qr, int m);

// D6: p = softmax(z), p' = softmax(z + xi). KL(p || p') computed directly, and by the identity
// KL = log E_p[e^xi] - E_p[xi]. Both in Real; sizes must match (throws dpq::Error otherwise).
Real kl_softmax_direct(const std::vector<Real>& z, const std::vector<Real>& xi);
Real kl_softmax_identity(const std::vector<Real>& z, const std::vector<Real>& xi);
// D6 Jensen bound for i.i.d. N(0, sigma^2) logit noise: E_xi KL <= sigma^2 / 2.
inline Real kl_gaussian_noise_bound(const Real& sigma) { return sigma * sigma / 2; }

// ---- D6 metrics in double (the experiment's measurements; sums of at most N d products) ----

// log softmax of a vector, in place: (x_i - max) - log sum_j exp(x_j - max).
void log_softmax(std::vector<double>& x);

// Errors of a coded set (keys or values, rows of [n, d]): per vector the angle to its reconstruction
// (radians; 0 for two zero vectors, pi/2 for one) and the relative norm error, and
// sum ||x - x^||^2 / sum ||x||^2.
struct SetMetrics {
  std::vector<double> dir, norm;  // per vector: angle (radians), | ||x^|| - ||x|| | / ||x||
  std::vector<double> rel_se;     // per vector: ||x^ - x||^2 / ||x||^2 (0 for x = 0)
  double rel_mse = 0;             // sum ||x^ - x||^2 / sum ||x||^2
};
SetMetrics set_metrics(const std::vector<float>& x, const std::vector<float>& xq, int dim);

// One query against keys/values and their reconstructions: p = softmax(K q / sqrt d).
struct QueryMetrics {
  double kl;        // KL(p_ref || p_quant)
  double out_dir;   // angle between o = p^T V and o^ = p^^T V^ (radians)
  double out_norm;  // | ||o^|| - ||o|| | / ||o||
  double six_d;     // Euclidean length of (K dir, K norm, V dir, V norm, o dir, o norm), set means for K, V
};
QueryMetrics query_metrics(const float* q, const std::vector<float>& k, const std::vector<float>& kq,
                           const std::vector<float>& v, const std::vector<float>& vq, int dim, const SetMetrics& ks,
                           const SetMetrics& vs);

}  // namespace dpq::ref
