// The source layer of the audit: block-bootstrap intervals of alpha*, the trace ratio, the margins of
// the comparative claims (A4, A6), the Part B block alphas, the eta tiers and mu, and the verdicts
// about the source that follow (proofs-notes/E3.md).
#include <Eigen/Cholesky>
#include <boost/math/distributions/normal.hpp>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>

#include "audit_internal.h"
#include "deltapq/reference/ggd.h"
#include "deltapq/core/error.h"

namespace dpq::app::detail {
namespace {

using Eigen::MatrixXd;

// The statistics of one resample, in this order.
enum Stat : std::size_t { kAlpha, kTraceRatio, kA4Ordering, kA4Advantage, kA6, kTailMin, kPqAlpha, kPqMu, kFixed };

struct Design {
  std::vector<double> weight;  // kappa^2 4^-b_i per eigen-rank
  double kappa = 3;
  std::vector<int> bits;
};

// Eigenvalues (descending) and vectors of a covariance in double.
void eig_desc(const MatrixXd& s, Eigen::VectorXd& values, MatrixXd& vectors) {
  const Eigen::SelfAdjointEigenSolver<MatrixXd> es(s);
  values = es.eigenvalues().reverse();
  vectors = es.eigenvectors().rowwise().reverse();
}

// Empirical tail functional per eigen-coordinate (A5): mean of (|z| - kappa + kappa 2^-b)^2 1{|z| > kappa}.
std::vector<double> tails(const RowMatrix& rows, const Eigen::VectorXd& lambda, const MatrixXd& u, const Design& d) {
  const Eigen::RowVectorXd mean = rows.colwise().mean();
  const RowMatrix y = (rows.rowwise() - mean) * u;
  const auto dim = static_cast<std::size_t>(lambda.size());
  const double k = d.kappa;
  std::vector<double> tau(dim, 0.0), inv(dim, 0.0), c(dim, 0.0);
  std::vector<char> on(dim, 0);
  for (std::size_t i = 0; i < dim; ++i) {
    on[i] = lambda(static_cast<Eigen::Index>(i)) > 0;
    if (!on[i]) continue;
    inv[i] = 1 / std::sqrt(lambda(static_cast<Eigen::Index>(i)));
    c[i] = k * std::ldexp(1.0, -d.bits[i]);
  }
  // Row by row (y is row-major), each coordinate's sum still in token order.
  for (Eigen::Index t = 0; t < y.rows(); ++t)
    for (std::size_t i = 0; i < dim; ++i) {
      if (!on[i]) continue;
      const double z = std::fabs(y(t, static_cast<Eigen::Index>(i))) * inv[i];
      if (z > k) tau[i] += (z - k + c[i]) * (z - k + c[i]);
    }
  for (double& v : tau) v /= static_cast<double>(y.rows());
  return tau;
}

// log det of a symmetric positive definite block (NaN otherwise).
double logdet(const MatrixXd& a) {
  const Eigen::LLT<MatrixXd> llt(a);
  if (llt.info() != Eigen::Success) return std::nan("");
  double s = 0;
  for (Eigen::Index i = 0; i < a.rows(); ++i) {
    const double l = llt.matrixL()(i, i);
    if (!(l > 0)) return std::nan("");
    s += 2 * std::log(l);
  }
  return s;
}

// The Part B quantities of a resample: block alphas (transformed covariances), the GGD tier per block
// (the reference's moment-ratio fit and closed form, reference/ggd.h, evaluated in double: ample for a
// sampling interval), mu.
struct PqSetup {
  MatrixXd t;  // the shared transform, fixed at its point value
  int blocks = 1, dm = 1;
  std::vector<double> eta_fixed;  // per block: max of the empirical and k-NN tiers (point values)
};

double ggd_log_shape(const RowMatrix& y, int off, int dm) {
  std::vector<double> betas;
  const double g = static_cast<double>(dm) / (dm + 2);
  for (int j = off; j < off + dm; ++j) {
    double m1 = 0, m2 = 0;
    const double mean = y.col(j).mean();
    for (Eigen::Index t = 0; t < y.rows(); ++t) {
      const double e = y(t, j) - mean;
      m1 += std::fabs(e);
      m2 += e * e;
    }
    const double n = static_cast<double>(y.rows());
    betas.push_back(m1 > 0 ? ref::ggd::fit_shape((m2 / n) / ((m1 / n) * (m1 / n)), 1e-10).beta : INFINITY);
  }
  return ref::ggd::log_relative_shape(betas, g);
}

}  // namespace

void add_source_layer(AuditReport& r, const std::vector<double>& rows, const std::vector<int>& bits, const ref::SymmetricEigen& eig_v,
                      const AuditOptions& options) {
  if (!options.bootstrap.enabled) return;
  validate(options.bootstrap);
  const std::size_t T = r.tokens, d = r.dim, n = T - 1;
  // Power-of-two scaling keeps the double arithmetic in range for data near the ends of double
  // (alpha*, ratios, eta, mu are scale-free; the bound margins scale by 2^(-2s) and are scaled back).
  double max_abs = 0;
  for (double v : rows) max_abs = std::max(max_abs, std::fabs(v));
  const int s = max_abs > 0 ? -std::ilogb(max_abs) : 0;
  RowMatrix x(n, d), delta(n, d);
  for (std::size_t t = 1; t < T; ++t)
    for (std::size_t j = 0; j < d; ++j) {
      x(static_cast<Eigen::Index>(t - 1), static_cast<Eigen::Index>(j)) = std::ldexp(rows[t * d + j], s);
      delta(static_cast<Eigen::Index>(t - 1), static_cast<Eigen::Index>(j)) =
          std::ldexp(rows[t * d + j], s) - std::ldexp(rows[(t - 1) * d + j], s);
    }
  Design design;
  design.kappa = ref::to_double(options.kappa);
  design.bits = bits;
  for (int b : bits) design.weight.push_back(design.kappa * design.kappa * std::ldexp(1.0, -2 * b));

  std::optional<PqSetup> pq;
  if (r.pq) {
    PqSetup p;
    const ref::RMatrix tm = ref::pq_transform_matrix(r.pq->options.transform, eig_v, r.pq->options.zca_eps_rel);
    p.t.resize(static_cast<Eigen::Index>(d), static_cast<Eigen::Index>(d));
    for (std::size_t i = 0; i < d; ++i)
      for (std::size_t j = 0; j < d; ++j)
        p.t(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = ref::to_double(tm(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)));
    p.blocks = r.pq->options.shape.blocks;
    p.dm = r.pq->options.shape.block_dim();
    for (const auto& b : r.pq->blocks)
      p.eta_fixed.push_back(ref::to_double(std::max(b.eta_empirical, b.shape.eta_knn ? *b.shape.eta_knn : Real(0))));
    pq = p;
  }

  const PairedStatistic stat = [&](const RowMatrix& xs, const RowMatrix& ds, std::vector<double>& out) {
    const MatrixXd sv = covariance(xs), sd = covariance(ds);
    const double a = domination_factor_double(sd, sv);
    Eigen::VectorXd lv, ld;
    MatrixXd uv, ud;
    eig_desc(sv, lv, uv);
    eig_desc(sd, ld, ud);
    double bv = 0, bd = 0;
    for (std::size_t i = 0; i < d; ++i) {
      bv += std::max(lv(static_cast<Eigen::Index>(i)), 0.0) * design.weight[i];
      bd += std::max(ld(static_cast<Eigen::Index>(i)), 0.0) * design.weight[i];
    }
    const std::vector<double> tv = tails(xs, lv, uv, design), td = tails(ds, ld, ud, design);
    double b6v = bv, b6d = bd, tail_min = INFINITY;
    for (std::size_t i = 0; i < d; ++i) {
      b6v += std::max(lv(static_cast<Eigen::Index>(i)), 0.0) * tv[i];
      b6d += std::max(ld(static_cast<Eigen::Index>(i)), 0.0) * td[i];
      tail_min = std::min(tail_min, tv[i] - td[i]);
    }
    out = {a, sd.trace() / sv.trace(), a * bv - bd, bv - bd, b6v - b6d, tail_min, NAN, NAN};
    if (!pq) return;
    const MatrixXd tsv = pq->t * sv * pq->t.transpose(), tsd = pq->t * sd * pq->t.transpose();
    const Eigen::RowVectorXd mx = xs.colwise().mean(), md = ds.colwise().mean();
    const RowMatrix yv = (xs.rowwise() - mx) * pq->t.transpose(), yd = (ds.rowwise() - md) * pq->t.transpose();
    double alpha = 0, eta = 0;
    std::vector<double> per_block;
    for (int m = 0; m < pq->blocks; ++m) {
      const int off = m * pq->dm;
      const double am = std::exp((logdet(tsd.block(off, off, pq->dm, pq->dm)) - logdet(tsv.block(off, off, pq->dm, pq->dm))) / pq->dm);
      const double eg = std::tanh(std::fabs(ggd_log_shape(yd, off, pq->dm) - ggd_log_shape(yv, off, pq->dm)) / 2);
      const double ec = std::max(pq->eta_fixed[static_cast<std::size_t>(m)], eg);
      alpha = std::isnan(am) || std::isnan(alpha) ? NAN : std::max(alpha, am);
      eta = std::max(eta, ec);
      per_block.insert(per_block.end(), {am, eg, am * (1 + ec) / (1 - ec)});
    }
    out[kPqAlpha] = alpha;
    out[kPqMu] = alpha * (1 + eta) / (1 - eta);
    out.insert(out.end(), per_block.begin(), per_block.end());
  };

  // alpha*'s influence series joins the block-length rule: (w' delta_t)^2 - alpha (w' x_t)^2.
  std::vector<std::vector<double>> extra;
  {
    const MatrixXd sv = covariance(x), sd = covariance(delta);
    const Eigen::GeneralizedSelfAdjointEigenSolver<MatrixXd> ges(sd, sv);
    if (ges.info() == Eigen::Success) {
      const Eigen::VectorXd w = ges.eigenvectors().col(static_cast<Eigen::Index>(d) - 1);
      const double a = ges.eigenvalues()(static_cast<Eigen::Index>(d) - 1);
      const Eigen::RowVectorXd mx = x.colwise().mean(), md = delta.colwise().mean();
      std::vector<double> infl(n);
      for (std::size_t t = 0; t < n; ++t) {
        const double p = (delta.row(static_cast<Eigen::Index>(t)) - md).dot(w.transpose());
        const double q = (x.row(static_cast<Eigen::Index>(t)) - mx).dot(w.transpose());
        infl[t] = p * p - a * q * q;
      }
      extra.push_back(infl);
    }
  }
  const PairedBlockBootstrap boot(x, delta, options.bootstrap, extra);
  const std::vector<double> est = boot.estimate(stat);
  const std::vector<std::vector<double>> reps = boot.replicates(stat);

  auto& u = r.uncertainty;
  u.computed = true;
  u.setup = boot.setup("(x_t, delta_t) pairs, t = 1..T-1");
  const double level = options.bootstrap.confidence;
  const auto ci = intervals(est, reps, level, &u.setup.failed);
  const double unscale = std::ldexp(1.0, -2 * s);
  auto scaled = [&](std::optional<ref::Interval> i) {
    if (i) i = ref::Interval{i->lo * unscale, i->hi * unscale};
    return i;
  };
  u.alpha_star = ci[kAlpha];
  u.trace_ratio = ci[kTraceRatio];
  // alpha* <= 1 (Sigma_delta <= Sigma_V) for the source: the margin 1 - alpha*.
  if (ci[kAlpha]) u.loewner_source = source_verdict(ref::Interval{1 - ci[kAlpha]->hi, 1 - ci[kAlpha]->lo});
  const std::string assessed = "margin's " + std::to_string(static_cast<int>(std::lround(level * 100))) + "% interval";
  for (auto& e : r.theorems) {
    std::optional<ref::Interval> m;
    if (e.id == "A4" && e.claim == "bound_ordering") m = scaled(ci[kA4Ordering]);
    else if (e.id == "A4" && e.claim == "delta_advantage") m = scaled(ci[kA4Advantage]);
    else if (e.id == "A6") m = scaled(ci[kA6]);
    else if (e.id == "B4" && pq && ci[kPqMu]) m = ref::Interval{1 - ci[kPqMu]->hi, 1 - ci[kPqMu]->lo};
    if (m) {
      e.margin_ci = m;
      e.source_verdict = source_verdict(m);
      e.source_note = "from the " + assessed + " (block bootstrap)";
    } else if (e.id == "A2" || e.id == "A5") {
      e.source_note = "a sample-wise theorem: it holds for every distribution, the source's included";
    } else if (e.id == "B2") {
      e.source_note = "not assessed: the empirical eta needs a k-means codebook per resample";
    } else {
      e.source_note = "not assessed (no interval: too many resamples with a singular covariance)";
    }
  }
  if (pq) {
    AuditReport::PqUncertainty p;
    p.alpha = ci[kPqAlpha];
    p.mu = ci[kPqMu];
    for (int m = 0; m < pq->blocks; ++m) {
      p.alpha_m.push_back(ci[kFixed + 3 * static_cast<std::size_t>(m)]);
      p.eta_ggd_m.push_back(ci[kFixed + 3 * static_cast<std::size_t>(m) + 1]);
      p.mu_m.push_back(ci[kFixed + 3 * static_cast<std::size_t>(m) + 2]);
      const auto& b = r.pq->blocks[static_cast<std::size_t>(m)];
      if (b.shape.eta_knn) {  // the LPS estimator's asymptotic normality: eta +- z se, inside [0, 1)
        const double zz = boost::math::quantile(boost::math::normal_distribution<double>(), 1 - (1 - level) / 2);
        const double e = ref::to_double(*b.shape.eta_knn), se = ref::to_double(b.shape.eta_knn_se);
        p.eta_knn_m.push_back(ref::Interval{std::max(0.0, e - zz * se), std::min(1.0, e + zz * se)});
      } else {
        p.eta_knn_m.push_back(std::nullopt);
      }
    }
    auto max_of = [](const std::vector<std::optional<ref::Interval>>& v) -> std::optional<ref::Interval> {
      ref::Interval m{0, 0};
      for (const auto& i : v) {
        if (!i) return std::nullopt;
        m = {std::max(m.lo, i->lo), std::max(m.hi, i->hi)};
      }
      return m;
    };
    p.eta_ggd = max_of(p.eta_ggd_m);
    p.eta_knn = max_of(p.eta_knn_m);
    if (p.mu) p.joint_source = source_verdict(ref::Interval{1 - p.mu->hi, 1 - p.mu->lo});
    u.pq = p;
  }
  const std::string w1 = small_sample_warning(n, d, "Sigma_delta and Sigma_V");
  if (!w1.empty()) r.warnings.push_back(w1);
  if (u.setup.failed > 0)
    r.warnings.push_back(std::to_string(u.setup.failed) + " of " + std::to_string(u.setup.replicates) +
                         " bootstrap resamples gave a non-finite statistic (a singular resampled covariance) and were dropped");
}

}  // namespace dpq::app::detail
