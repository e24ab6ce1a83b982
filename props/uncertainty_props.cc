// The source layer's intervals cover the source at their nominal rate: Gaussian AR(1) streams with a
// known domination factor (diagonal Phi, correlated innovations: Sigma_V,ij = Q_ij / (1 - phi_i phi_j),
// Sigma_delta,ij = (2 - phi_i - phi_j) Sigma_V,ij, so alpha* and the trace ratio are known exactly),
// 200 fixed seeds, the production bootstrap (app::PairedBlockBootstrap with the Politis-White block
// length and bias-corrected normal intervals). The number of intervals that cover the truth must not
// fall below the 0.1 % quantile of Binomial(200, 0.95) -- the bound a correct 95 % interval passes with
// probability 0.999 -- and an interval of half the width must fall below it (test of the test).
#include <gtest/gtest.h>

#include <Eigen/Cholesky>
#include <boost/math/distributions/binomial.hpp>
#include <cmath>
#include <random>

#include "deltapq/app/uncertainty.h"

namespace dpq::props {
namespace {

using app::RowMatrix;
using Eigen::MatrixXd;

struct Truth {
  double alpha, trace_ratio;
};

// One stream of T rows; writes the pairs (x_t, delta_t), t = 1..T-1, and returns the source's values.
Truth ar1_stream(std::uint64_t seed, int d, int T, RowMatrix& x, RowMatrix& delta) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uni(0.2, 0.9);
  Eigen::VectorXd phi(d);
  for (int i = 0; i < d; ++i) phi(i) = uni(rng);
  MatrixXd b(d, d);
  for (int i = 0; i < d * d; ++i) b(i) = normal(rng);
  const MatrixXd q = b * b.transpose() + MatrixXd::Identity(d, d);
  MatrixXd sv(d, d), sd(d, d);
  for (int i = 0; i < d; ++i)
    for (int j = 0; j < d; ++j) {
      sv(i, j) = q(i, j) / (1 - phi(i) * phi(j));
      sd(i, j) = (2 - phi(i) - phi(j)) * sv(i, j);
    }
  const MatrixXd lq = Eigen::LLT<MatrixXd>(q).matrixL(), lv = Eigen::LLT<MatrixXd>(sv).matrixL();
  Eigen::VectorXd z(d), s(d);
  for (int i = 0; i < d; ++i) z(i) = normal(rng);
  s = lv * z;  // the stationary start
  RowMatrix all(T, d);
  for (int t = 0; t < T; ++t) {
    if (t) {
      for (int i = 0; i < d; ++i) z(i) = normal(rng);
      s = phi.cwiseProduct(s) + lq * z;
    }
    all.row(t) = s.transpose();
  }
  x = all.bottomRows(T - 1);
  delta = all.bottomRows(T - 1) - all.topRows(T - 1);
  return {app::domination_factor_double(sd, sv), sd.trace() / sv.trace()};
}

// How many of the streams' intervals (widths scaled by `width`) cover alpha* and the trace ratio.
std::pair<int, int> coverage(int streams, double width) {
  app::BootstrapOptions o;
  o.replicates = 200;
  int alpha = 0, ratio = 0;
  for (int k = 0; k < streams; ++k) {
    RowMatrix x, delta;
    const Truth truth = ar1_stream(1000 + static_cast<std::uint64_t>(k), 4, 2000, x, delta);
    o.seed = 77 + static_cast<std::uint64_t>(k);
    const app::PairedBlockBootstrap boot(x, delta, o);
    const app::PairedStatistic stat = [](const RowMatrix& xs, const RowMatrix& ds, std::vector<double>& out) {
      const MatrixXd sv = app::covariance(xs), sd = app::covariance(ds);
      out = {app::domination_factor_double(sd, sv), sd.trace() / sv.trace()};
    };
    const auto est = boot.estimate(stat);
    const auto ci = app::intervals(est, boot.replicates(stat), o.confidence, nullptr);
    auto covers = [&](const std::optional<ref::Interval>& i, double t) {
      if (!i) return false;
      const double c = (i->lo + i->hi) / 2, h = (i->hi - i->lo) / 2 * width;
      return c - h <= t && t <= c + h;
    };
    alpha += covers(ci[0], truth.alpha);
    ratio += covers(ci[1], truth.trace_ratio);
  }
  return {alpha, ratio};
}

int binomial_floor(int n, double p, double tail) {
  // The smallest k with P(Binomial(n, p) < k) <= tail.
  const boost::math::binomial_distribution<double> b(n, p);
  int k = 0;
  while (k < n && boost::math::cdf(b, k) <= tail) ++k;
  return k;
}

TEST(A3, alpha_star_and_trace_ratio_intervals_cover_the_source_at_the_nominal_rate) {
  const int n = 200, floor = binomial_floor(n, 0.95, 1e-3);
  const auto [alpha, ratio] = coverage(n, 1.0);
  std::printf("coverage of 95%% intervals over %d AR(1) sources: alpha* %d, trace ratio %d (floor %d)\n", n, alpha, ratio, floor);
  EXPECT_GE(alpha, floor);
  EXPECT_GE(ratio, floor);
}

TEST(A3, the_coverage_check_catches_an_interval_half_as_wide) {
  const int n = 200, floor = binomial_floor(n, 0.95, 1e-3);
  const auto [alpha, ratio] = coverage(n, 0.5);
  EXPECT_LT(alpha, floor);
  EXPECT_LT(ratio, floor);
}

}  // namespace
}  // namespace dpq::props
