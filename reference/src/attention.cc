#include "deltapq/reference/attention.h"

#include <boost/math/constants/constants.hpp>
#include <algorithm>
#include <cmath>

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

namespace {

double dot(const float* a, const float* b, int d) {
  double s = 0;
  for (int i = 0; i < d; ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

double angle(const float* a, const float* b, int d) {
  const double na = std::sqrt(dot(a, a, d)), nb = std::sqrt(dot(b, b, d));
  if (na == 0 || nb == 0) return na == nb ? 0.0 : M_PI / 2;
  return std::acos(std::clamp(dot(a, b, d) / (na * nb), -1.0, 1.0));
}

}  // namespace

void log_softmax(std::vector<double>& x) {
  if (x.empty()) return;
  const double mx = *std::max_element(x.begin(), x.end());
  double sum = 0;
  for (double v : x) sum += std::exp(v - mx);
  const double l = std::log(sum);
  for (double& v : x) v = (v - mx) - l;
}

SetMetrics set_metrics(const std::vector<float>& x, const std::vector<float>& xq, int dim) {
  SetMetrics m;
  double err = 0, tot = 0;
  for (std::size_t row = 0; row * dim < x.size(); ++row) {
    const float* a = x.data() + row * dim;
    const float* b = xq.data() + row * dim;
    const double na = std::sqrt(dot(a, a, dim)), nb = std::sqrt(dot(b, b, dim));
    m.dir.push_back(angle(a, b, dim));
    m.norm.push_back(na > 0 ? std::fabs(nb - na) / na : 0.0);
    double e = 0;
    for (int i = 0; i < dim; ++i) e += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    m.rel_se.push_back(na > 0 ? e / (na * na) : 0.0);
    err += e;
    tot += na * na;
  }
  m.rel_mse = tot > 0 ? err / tot : 0.0;
  return m;
}

QueryMetrics query_metrics(const float* q, const std::vector<float>& k, const std::vector<float>& kq,
                           const std::vector<float>& v, const std::vector<float>& vq, int dim, const SetMetrics& ks,
                           const SetMetrics& vs) {
  const std::size_t n = k.size() / dim;
  std::vector<double> s(n), sq(n);
  const double scale = 1.0 / std::sqrt(static_cast<double>(dim));
  for (std::size_t i = 0; i < n; ++i) {
    s[i] = dot(k.data() + i * dim, q, dim) * scale;
    sq[i] = dot(kq.data() + i * dim, q, dim) * scale;
  }
  log_softmax(s);
  log_softmax(sq);
  QueryMetrics m{};
  std::vector<float> o(dim, 0.0f), oq(dim, 0.0f);
  for (std::size_t i = 0; i < n; ++i) {
    const double p = std::exp(s[i]), pq = std::exp(sq[i]);
    m.kl += p * (s[i] - sq[i]);
    for (int j = 0; j < dim; ++j) {
      o[j] += static_cast<float>(p * v[i * dim + j]);
      oq[j] += static_cast<float>(pq * vq[i * dim + j]);
    }
  }
  m.kl = std::max(m.kl, 0.0);
  const double no = std::sqrt(dot(o.data(), o.data(), dim)), noq = std::sqrt(dot(oq.data(), oq.data(), dim));
  m.out_dir = angle(o.data(), oq.data(), dim);
  m.out_norm = no > 0 ? std::fabs(noq - no) / no : 0.0;
  auto mean = [](const std::vector<double>& x) {
    double t = 0;
    for (double v : x) t += v;
    return x.empty() ? 0.0 : t / static_cast<double>(x.size());
  };
  const double parts[6] = {mean(ks.dir), mean(ks.norm), mean(vs.dir), mean(vs.norm), m.out_dir, m.out_norm};
  double sq6 = 0;
  for (double p : parts) sq6 += p * p;
  m.six_d = std::sqrt(sq6);
  return m;
}

}  // namespace dpq::ref
