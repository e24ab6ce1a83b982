// B2 with a measured eta, B4, and the Part B audit of two sources (B1 regime, tiers, joint condition).
#include "deltapq/reference/pq.h"

#include <algorithm>
#include <cmath>

#include "deltapq/core/error.h"
#include "pq_internal.h"

namespace dpq::ref {
using namespace pq_detail;

namespace {

// eta = |r1 - r2| / (r1 + r2) as a certified interval from intervals of r1, r2 > 0: a function of
// q = r1 / r2 alone, increasing in |log q|.
inline Certified eta_interval(const Certified& r1, const Certified& r2) {
  const Real q_lo = lower(r1) / upper(r2), q_hi = upper(r1) / lower(r2);
  auto eta_of = [](const Real& q) { return Real(abs(q - 1) / (q + 1)); };
  const Real hi = std::max(eta_of(q_lo), eta_of(q_hi)) * (1 + unit_roundoff() * 8);
  const Real lo = (q_lo <= 1 && q_hi >= 1) ? Real(0) : std::min(eta_of(q_lo), eta_of(q_hi)) * (1 - unit_roundoff() * 8);
  return from_interval(lo, hi);
}

}  // namespace

JointCondition joint_condition(const Certified& alpha, bool alpha_finite, const Real& eta) {
  JointCondition j;
  if (!alpha_finite || !(eta < 1)) {
    j.mu = {infinity(), Real(0)};
    return j;  // fails
  }
  const Real f = (1 + eta) / (1 - eta);
  j.mu.value = alpha.value * f;
  j.mu.error = alpha.error * f + rounding_slack(j.mu.value, 8);
  j.verdict = verdict_lt(j.mu, {Real(1), Real(0)});
  return j;
}

RatioCheck pq_ratio_check(const PqReport& p, const Certified& alpha, const Real& eta) {
  RatioCheck c;
  if (!p.alpha_finite || !(eta < 1)) return c;
  const Real f = (1 + eta) / (1 - eta);
  const Real lo = (alpha.value - alpha.error) * f * (p.d_v.value - p.d_v.error);
  const Real hi = (alpha.value + alpha.error) * f * (p.d_v.value + p.d_v.error);
  c.bound = Certified{(lo + hi) / 2, (hi - lo) / 2 + rounding_slack(abs(hi), 8)};
  c.verdict = verdict_le(p.d_delta, *c.bound);
  return c;
}

PqReport pq_audit(const std::vector<double>& v_rows, std::size_t nv, const std::vector<double>& delta_rows,
                  std::size_t nd, int dim, const SymmetricEigen& eig_v, const PqOptions& options) {
  const PqShape& sh = options.shape;
  if (sh.dim != dim) throw Error("PQ audit: shape for d = " + std::to_string(sh.dim) + ", data has d = " + std::to_string(dim));
  if (v_rows.size() != nv * dim || delta_rows.size() != nd * dim) throw Error("PQ audit: row arrays do not match their shapes");
  const int kc = sh.centroids();
  for (std::size_t n : {nv, nd})
    if (n < static_cast<std::size_t>(kc))
      throw Error("PQ audit: " + std::to_string(n) + " rows, but K = 2^" + std::to_string(sh.bits) + " = " +
                  std::to_string(kc) + " centroids per block need at least K rows (use fewer bits)");
  PqReport rep;
  rep.options = options;
  const RMatrix t = pq_transform_matrix(options.transform, eig_v, options.zca_eps_rel);
  if (options.transform == PqTransform::soft_zca)
    rep.zca_eps = options.zca_eps_rel * eig_v.values.sum() / Real(static_cast<double>(dim));
  std::vector<double> td(static_cast<std::size_t>(dim) * dim);
  for (int i = 0; i < dim; ++i)
    for (int j = 0; j < dim; ++j) td[i * dim + j] = to_double(t(i, j));
  // The data the PQ sees: y = T_double (x - mean_s), computed in double. Everything below is about
  // these rows exactly (their covariances, their distortions).
  auto transform = [&](const std::vector<double>& x, std::size_t n) {
    std::vector<double> mean(dim, 0.0), y(n * dim);
    for (std::size_t i = 0; i < n; ++i)
      for (int j = 0; j < dim; ++j) mean[j] += x[i * dim + j];
    for (double& m : mean) m /= static_cast<double>(n);
    std::vector<double> c(dim);
    for (std::size_t i = 0; i < n; ++i) {
      for (int j = 0; j < dim; ++j) c[j] = x[i * dim + j] - mean[j];
      for (int r = 0; r < dim; ++r) {
        double s = 0;
        for (int j = 0; j < dim; ++j) s += td[r * dim + j] * c[j];
        y[i * dim + r] = s;
      }
    }
    return y;
  };
  const std::vector<double> yv = transform(v_rows, nv), yd = transform(delta_rows, nd);
  const int dm = sh.block_dim();
  const Real rate_factor = Real(dm) * exp(-2 * Real(sh.bits) / Real(dm) * log(Real(2)));  // d_m 2^(-2R/d_m)

  auto source_block = [&](const std::vector<double>& xb, std::size_t n, int m, const char* name, RMatrix& cov) {
    PqSourceBlock s;
    cov = sample_moments(to_real(xb.data(), n, dm)).covariance;
    s.det = block_determinant(cov, nullptr, std::string("Sigma_") + name + " block " + std::to_string(m));
    KMeansOptions ko = options.kmeans;
    ko.seed = options.kmeans.seed + static_cast<std::uint64_t>(m);
    const KMeansResult km = kmeans(xb.data(), n, dm, kc, ko);
    s.kmeans_rounds = km.rounds;
    s.kmeans_converged = km.converged;
    const Distortion dist = nearest_centroid_distortion(xb.data(), n, dm, km.centroids.data(), kc);
    s.distortion = dist.mean;
    s.distortion_sd = dist.per_row_sd;
    s.a = from_interval(rate_factor * root(std::max(Real(0), lower(s.det)), dm) * (1 - unit_roundoff() * 16),
                        rate_factor * root(upper(s.det), dm) * (1 + unit_roundoff() * 16));
    s.ratio = s.a.value > 0 ? Real(s.distortion.value / s.a.value) : infinity();
    return s;
  };

  rep.alpha = {Real(0), Real(0)};
  rep.d_v = {Real(0), Real(0)};
  rep.d_delta = {Real(0), Real(0)};
  rep.eta_empirical = rep.eta_ggd = rep.eta_conservative = Real(0);
  bool knn_all = true;
  Real eta_knn_max(0);
  for (int m = 0; m < sh.blocks; ++m) {
    PqBlockReport b;
    b.block = m;
    const std::vector<double> bv = extract_block(yv, nv, dim, m * dm, dm), bd = extract_block(yd, nd, dim, m * dm, dm);
    RMatrix cov_v, cov_d;
    b.v = source_block(bv, nv, m, "V", cov_v);
    b.delta = source_block(bd, nd, m, "delta", cov_d);
    b.shape = shape_tiers(bv.data(), nv, bd.data(), nd, dm, options.knn_k, options.knn_max_points,
                          options.kmeans.seed + 7919u * static_cast<std::uint64_t>(m + 1));
    b.alpha = block_alphas(cov_d, cov_v, 1)[0];
    if (lower(b.v.a) > 0 && lower(b.delta.a) > 0 && lower(b.v.distortion) > 0 && lower(b.delta.distortion) > 0) {
      auto ratio = [](const PqSourceBlock& sb) {  // r = D / A as an interval
        return from_interval(lower(sb.distortion) / upper(sb.a) * (1 - unit_roundoff() * 4),
                             upper(sb.distortion) / lower(sb.a) * (1 + unit_roundoff() * 4));
      };
      b.eta_empirical = upper(eta_interval(ratio(b.delta), ratio(b.v)));  // the certified upper end: conservative
    } else {
      b.eta_empirical = Real(1);  // a zero determinant or zero distortion: the regime is not verified
    }
    if (b.shape.eta_knn) eta_knn_max = std::max(eta_knn_max, *b.shape.eta_knn);
    else knn_all = false;
    b.eta_conservative = std::max(b.eta_empirical, b.shape.eta_max());
    b.joint = joint_condition(b.alpha.alpha, b.alpha.finite, b.eta_conservative);
    if (!b.alpha.finite) rep.alpha_finite = false;
    rep.alpha.value = std::max(rep.alpha.value, b.alpha.alpha.value);
    rep.alpha.error = std::max(rep.alpha.error, b.alpha.alpha.error);
    rep.d_v.value += b.v.distortion.value;
    rep.d_v.error += b.v.distortion.error;
    rep.d_delta.value += b.delta.distortion.value;
    rep.d_delta.error += b.delta.distortion.error;
    rep.eta_empirical = std::max(rep.eta_empirical, b.eta_empirical);
    rep.eta_ggd = std::max(rep.eta_ggd, b.shape.eta_ggd);
    rep.eta_conservative = std::max(rep.eta_conservative, b.eta_conservative);
    rep.blocks.push_back(std::move(b));
  }
  if (knn_all) rep.eta_knn = eta_knn_max;
  if (!rep.alpha_finite) rep.alpha = {infinity(), Real(0)};
  rep.joint = joint_condition(rep.alpha, rep.alpha_finite, rep.eta_conservative);
  rep.eta_threshold = rep.alpha_finite ? Real((1 - rep.alpha.value) / (1 + rep.alpha.value)) : Real(-1);
  return rep;
}

namespace {

void scale(Certified& c, int e) {
  c.value = ldexp(c.value, e);
  c.error = ldexp(c.error, e);
}

// The report of data scaled by 2^-e, back to the data's scale. Soft-ZCA's output T (x - mean) does not
// depend on the scale (T scales as 1/scale, its eps with the trace); identity and eigenbasis outputs
// scale with x: distortions and A by 2^(2e), determinants of d_m x d_m blocks by 2^(2e d_m). eps (of
// Sigma_V) always scales by 2^(2e).
void rescale(PqReport& rep, int e) {
  const int dm = rep.options.shape.block_dim();
  rep.zca_eps = ldexp(rep.zca_eps, 2 * e);
  if (rep.options.transform == PqTransform::soft_zca) return;
  scale(rep.d_v, 2 * e);
  scale(rep.d_delta, 2 * e);
  for (auto& b : rep.blocks) {
    for (PqSourceBlock* s : {&b.v, &b.delta}) {
      scale(s->det, 2 * e * dm);
      scale(s->distortion, 2 * e);
      s->distortion_sd = ldexp(s->distortion_sd, 2 * e);
      scale(s->a, 2 * e);
    }
    scale(b.alpha.det_delta, 2 * e * dm);
    scale(b.alpha.det_v, 2 * e * dm);
  }
}

}  // namespace

PqReport pq_audit_stream(const std::vector<double>& rows, std::size_t tokens, int dim, const SymmetricEigen& eig_v,
                         const PqOptions& options) {
  if (tokens < 2 || rows.size() != tokens * static_cast<std::size_t>(dim))
    throw Error("PQ audit: the stream needs T >= 2 rows of d = " + std::to_string(dim));
  double max_abs = 0;
  for (double v : rows) max_abs = std::max(max_abs, std::fabs(v));
  const int s = max_abs > 0 ? -std::ilogb(max_abs) : 0;  // 2^s max|x| in [1, 2)
  std::vector<double> v(rows.size()), delta((tokens - 1) * static_cast<std::size_t>(dim));
  for (std::size_t k = 0; k < rows.size(); ++k) v[k] = std::ldexp(rows[k], s);
  for (std::size_t t = 0; t + 1 < tokens; ++t)
    for (int j = 0; j < dim; ++j)
      delta[t * dim + j] = v[(t + 1) * dim + j] - v[t * dim + j];  // |.| < 4: no overflow
  SymmetricEigen eig = eig_v;
  for (Eigen::Index i = 0; i < eig.values.size(); ++i) {
    eig.values(i) = ldexp(eig.values(i), 2 * s);
    eig.radius(i) = ldexp(eig.radius(i), 2 * s);
    eig.pair_residual(i) = ldexp(eig.pair_residual(i), 2 * s);
  }
  PqReport rep = pq_audit(v, tokens, delta, tokens - 1, dim, eig, options);
  rescale(rep, -s);
  return rep;
}

}  // namespace dpq::ref
