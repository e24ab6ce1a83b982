// Part D reference formulas: QJL's exact variance (D4) and the attention-KL identity and Jensen
// bound (D6).
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

}  // namespace dpq::ref
