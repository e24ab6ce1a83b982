#include "deltapq/reference/attention.h"

#include <boost/math/constants/constants.hpp>

#include "deltapq/core/error.h"

namespace dpq::ref {

// D4
Real qjl_variance(const Real& q_norm2, const Real& r_norm2, const Real& qr, int m) {
  if (m < 1) throw Error("QJL: sketch size m = " + std::to_string(m) + " must be >= 1");
  return (boost::math::constants::half_pi<Real>() * q_norm2 * r_norm2 - qr * qr) / Real(m);
}

Real gaussian_sketch_variance(const Real& q_norm2, const Real& r_norm2, const Real& qr, int m) {
  if (m < 1) throw Error("Gaussian sketch: m = " + std::to_string(m) + " must be >= 1");
  return (q_norm2 * r_norm2 + qr * qr) / Real(m);
}

namespace {
void same_size(const std::vector<Real>& z, const std::vector<Real>& xi) {
  if (z.empty() || z.size() != xi.size())
    throw Error("KL: " + std::to_string(z.size()) + " logits but " + std::to_string(xi.size()) + " perturbations");
}
// log sum exp with the maximum factored out.
Real log_sum_exp(const std::vector<Real>& v) {
  Real mx = v[0];
  for (const Real& x : v) mx = std::max(mx, x);
  Real s(0);
  for (const Real& x : v) s += exp(x - mx);
  return mx + log(s);
}
}  // namespace

// D6
Real kl_softmax_direct(const std::vector<Real>& z, const std::vector<Real>& xi) {
  same_size(z, xi);
  std::vector<Real> zp(z.size());
  for (std::size_t i = 0; i < z.size(); ++i) zp[i] = z[i] + xi[i];
  const Real lz = log_sum_exp(z), lzp = log_sum_exp(zp);
  Real kl(0);
  for (std::size_t i = 0; i < z.size(); ++i) {
    const Real logp = z[i] - lz, logq = zp[i] - lzp;
    kl += exp(logp) * (logp - logq);
  }
  return kl;
}

Real kl_softmax_identity(const std::vector<Real>& z, const std::vector<Real>& xi) {
  same_size(z, xi);
  const Real lz = log_sum_exp(z);
  std::vector<Real> shifted(z.size());
  Real mean_xi(0);
  for (std::size_t i = 0; i < z.size(); ++i) {
    const Real logp = z[i] - lz;
    shifted[i] = logp + xi[i];  // log(p_i e^{xi_i})
    mean_xi += exp(logp) * xi[i];
  }
  return log_sum_exp(shifted) - mean_xi;  // log E_p[e^xi] - E_p[xi]
}

}  // namespace dpq::ref
