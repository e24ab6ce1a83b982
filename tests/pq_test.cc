// Part B reference: known values of the shape model, the GGD fit, the exact distortion and its tie
// rule, the transforms, block alphas and the B3 counterexample; bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "deltapq/reference/pq.h"
#include "../reference/src/pq_internal.h"
#include "test_files.h"

namespace dpq::ref {
namespace {

using testing::error_of;

Real pi() { return acos(Real(-1)); }
// |a - b| <= 2^-(precision - 32) max(1, |b|): far below any digit we claim, far above rounding noise.
void expect_close(const Real& a, const Real& b, const std::string& what) {
  const Real tol = ldexp(Real(1), -(precision_bits() - 32)) * std::max(Real(1), Real(abs(b)));
  EXPECT_LE(abs(a - b), tol) << what << ": " << to_string(a, 40) << " vs " << to_string(b, 40);
}

TEST(B5, ggd_moment_ratio_known_values) {
  expect_close(ggd_moment_ratio(Real(1)), Real(2), "Laplace");
  expect_close(ggd_moment_ratio(Real(2)), pi() / 2, "Gaussian");
  expect_close(ggd_moment_ratio(Real("0.5")), Real(10) / 3, "beta = 1/2: Gamma(2)Gamma(6)/Gamma(4)^2");
}

TEST(B5, ggd_fit_reaches_30_digits) {
  for (const char* b : {"0.5", "1", "2", "3.7", "40"}) {
    const Real beta(b);
    const GgdFit f = fit_ggd_shape(ggd_moment_ratio(beta));
    EXPECT_FALSE(f.uniform_limit || f.below_range) << b;
    EXPECT_LE(abs(f.beta / beta - 1), Real("1e-30")) << b << ": " << to_string(f.beta, 40);
  }
  EXPECT_TRUE(fit_ggd_shape(Real(4) / 3).uniform_limit);
  EXPECT_TRUE(fit_ggd_shape(Real("1.2")).uniform_limit);
  EXPECT_TRUE(fit_ggd_shape(Real("1e300")).below_range);
  EXPECT_NE(error_of([] { fit_ggd_shape(Real(0)); }), "");
}

TEST(B5, panter_dite_factors_in_closed_form) {
  // d = 1, g = 1/3: D ~ (1/12) (int p^(1/3))^3 2^(-2R). Gaussian sqrt(3) pi / 2, Laplace 9/2, uniform 1 (x sigma^2).
  const Real g = Real(1) / 3, sigma("1.7"), s2 = sigma * sigma;
  expect_close(exp(3 * gaussian_log_power_integral(sigma, g)) / 12 / s2, sqrt(Real(3)) * pi() / 2, "Gaussian");
  expect_close(exp(3 * ggd_log_power_integral(Real(2), sigma, g)) / 12 / s2, sqrt(Real(3)) * pi() / 2, "GGD beta = 2");
  expect_close(exp(3 * ggd_log_power_integral(Real(1), sigma, g)) / 12 / s2, Real(9) / 2, "Laplace");
  const Real inf = std::numeric_limits<Real>::infinity();
  expect_close(exp(3 * ggd_log_power_integral(inf, sigma, g)) / 12 / s2, Real(1), "uniform");
  // A very large beta approaches the uniform limit at the rate the series of log Gamma gives. With
  // e = 1/beta, log Gamma(x) = -log x - gamma x + sum_{k>=2} (-1)^k zeta(k) x^k / k; in log_power_integral
  // the gamma terms cancel and the difference to the uniform limit is
  //   -e log g + (1 - g) [3/2 L(e) - 1/2 L(3e)],  L(x) = sum_{k>=2} (-1)^k zeta(k) x^k / k,
  // whose k = 2 term is -(1 - g) (pi^2/4) e^2. The rest is alternating and decreasing for 3e < 1, so it
  // is at most its first term: (1 - g) zeta(3) (3/2 e^3 + 27/2 e^3) / 3 <= 5 (1 - g) zeta(3) e^3 < 7 e^3.
  // The working precision adds the cancellation of O(log beta)-sized terms: a few ulps of 16.
  {
    const Real beta(1e6), e = 1 / beta;
    const Real diff = ggd_log_power_integral(beta, sigma, g) - ggd_log_power_integral(inf, sigma, g);
    const Real series = -e * log(g) - (1 - g) * pi() * pi() / 4 * e * e;
    EXPECT_LE(abs(diff - series), 7 * e * e * e + ldexp(Real(16), -(precision_bits() - 32)))
        << to_string(diff, 30) << " vs " << to_string(series, 30);
  }
  // Relative shape: 0 for Gaussian coordinates, additive over coordinates, dimension-aware through g.
  expect_close(ggd_log_relative_shape({Real(2), Real(2), Real(2)}, Real(3) / 5), Real(0), "Gaussian block");
  const Real one = ggd_log_relative_shape({Real(1)}, Real(1) / 2), two = ggd_log_relative_shape({Real(1), Real(1)}, Real(1) / 2);
  expect_close(two, 2 * one, "additivity");
  EXPECT_GT(one, 0) << "a Laplace coordinate costs more than a Gaussian one at fixed rate";
}

TEST(B5, eta_from_shapes) {
  expect_close(eta_from_log_shapes(log(Real(3)), Real(0)), Real(1) / 2, "(3 - 1)/(3 + 1)");
  expect_close(eta_from_log_shapes(Real("0.3"), Real("0.3")), Real(0), "equal shapes");
}

TEST(B5, knn_shape_of_known_densities) {
  // Seeded samples; the tolerance is 6 standard errors of the estimator (asymptotic normality).
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform(-1, 1);
  const std::size_t n = 3000;
  for (int d : {1, 2, 4}) {
    std::vector<double> x(n * d);
    for (std::size_t i = 0; i < n; ++i)  // correlated Gaussian: whitening makes it standard
      for (int j = 0; j < d; ++j) x[i * d + j] = normal(rng) + (j ? 0.8 * x[i * d + j - 1] : 0.0);
    const KnnShape k = knn_relative_shape(x.data(), n, d, 5, n, 3);
    ASSERT_TRUE(k.available) << k.reason;
    EXPECT_LE(std::abs(k.log_relative_shape), 6 * k.standard_error) << "Gaussian, d = " << d;
  }
  std::vector<double> u(n);
  for (double& v : u) v = uniform(rng);
  const KnnShape k = knn_relative_shape(u.data(), n, 1, 5, n, 3);
  const double exact = to_double(ggd_log_relative_shape({std::numeric_limits<Real>::infinity()}, Real(1) / 3));
  EXPECT_LE(std::abs(k.log_relative_shape - exact), 6 * k.standard_error) << k.log_relative_shape << " vs " << exact;
  std::vector<double> same(200 * 2, 1.5);
  EXPECT_FALSE(knn_relative_shape(same.data(), 200, 2, 5, 200, 1).available);
}

TEST(B1, exact_distortion_and_lowest_index_ties) {
  // Points 0, 1, 3 against centroids -1, 1, 1 (a duplicate): 0 is equidistant from all three (index
  // 0), 1 and 3 tie between the duplicates (index 1). D = (1 + 0 + 4) / 3.
  const std::vector<double> x = {0, 1, 3}, c = {-1, 1, 1};
  const Distortion d = nearest_centroid_distortion(x.data(), 3, 1, c.data(), 3);
  EXPECT_EQ(d.codes, (std::vector<int>{0, 1, 1}));
  EXPECT_LE(abs(d.mean.value - Real(5) / 3), d.mean.error + ldexp(Real(1), -200));
  // Distances 1 + 2^-54 and 1 + 2^-56 both round to 1 in double (a tie there, index 0); the exact
  // comparison in Real picks index 1, and D is exactly 1 + 2^-56.
  const std::vector<double> y = {0, 0}, e = {1, std::ldexp(1.0, -27), 1, std::ldexp(1.0, -28)};
  const Distortion near = nearest_centroid_distortion(y.data(), 1, 2, e.data(), 2);
  EXPECT_EQ(near.codes[0], 1);
  EXPECT_LE(abs(near.mean.value - (1 + ldexp(Real(1), -56))), near.mean.error);
}

TEST(B1, kmeans_recovers_separated_clusters) {
  std::mt19937_64 rng(2);
  std::normal_distribution<double> noise(0, 0.01);
  const double centres[4][2] = {{0, 0}, {10, 0}, {0, 10}, {10, 10}};
  std::vector<double> x;
  for (int i = 0; i < 400; ++i)
    for (int j = 0; j < 2; ++j) x.push_back(centres[i % 4][j] + noise(rng));
  const KMeansResult r = kmeans(x.data(), 400, 2, 4, {});
  EXPECT_TRUE(r.converged);
  for (const auto& c : centres) {
    double best = 1e9;
    for (int k = 0; k < 4; ++k)
      best = std::min(best, std::hypot(r.centroids[2 * k] - c[0], r.centroids[2 * k + 1] - c[1]));
    EXPECT_LT(best, 0.01) << c[0] << "," << c[1];
  }
  EXPECT_NE(error_of([&] { kmeans(x.data(), 3, 2, 4, {}); }).find("3 rows"), std::string::npos);
}

TEST(B3, shared_transform_keeps_alpha_below_one_per_source_whitening_breaks_it) {
  const PerSourceCounterexample c = per_source_whitening_counterexample();
  EXPECT_EQ(c.loewner, Verdict::holds);
  ASSERT_TRUE(c.shared.finite && c.per_source.finite);
  EXPECT_EQ(verdict_le(c.shared.alpha, {Real(1), Real(0)}), Verdict::holds);
  // The target itself is 0.9 rounded to the working precision: one rounding of slack.
  const Real nine_tenths("0.9");
  EXPECT_LE(abs(c.shared.alpha.value - nine_tenths), c.shared.alpha.error + rounding_slack(nine_tenths, 1));
  EXPECT_EQ(verdict_le(c.per_source.alpha, {Real(1), Real(0)}), Verdict::fails) << to_string(c.per_source.alpha.value);
}

TEST(B2, block_alpha_of_diagonal_covariances) {
  RMatrix sd = RMatrix::Zero(4, 4), sv = RMatrix::Zero(4, 4);
  const char* dv[] = {"2", "1", "4", "0.5"};
  const char* dd[] = {"1", "0.5", "1", "1"};
  for (int i = 0; i < 4; ++i) {
    sv(i, i) = Real(dv[i]);
    sd(i, i) = Real(dd[i]);
  }
  const auto b = block_alphas(sd, sv, 2);
  ASSERT_EQ(b.size(), 2u);
  // 0.5 is exact; sqrt(0.5) is one correctly rounded operation.
  EXPECT_LE(abs(b[0].alpha.value - Real("0.5")), b[0].alpha.error);  // sqrt(0.5 * 0.5 / 2)
  const Real root_half = sqrt(Real("0.5"));
  EXPECT_LE(abs(b[1].alpha.value - root_half), b[1].alpha.error + rounding_slack(root_half, 1));  // sqrt(1 / 2)
  sv(3, 3) = Real(0);
  EXPECT_FALSE(block_alphas(sd, sv, 2)[1].finite);
  EXPECT_NE(error_of([&] { block_alphas(sd, sv, 3); }).find("does not divide"), std::string::npos);
}

TEST(B1, transforms) {
  RMatrix s(2, 2);
  s << Real(2), Real(1), Real(1), Real(2);  // eigenvalues 3, 1
  const SymmetricEigen e = symmetric_eigen(s, "S");
  const RMatrix w = pq_transform_matrix(PqTransform::soft_zca, e, Real("0.5"));  // eps = 0.5 * 4 / 2 = 1
  const AlphaReport self = transformed_alpha(s, s, w, 1);
  EXPECT_LE(abs(self.alpha.value - 1), self.alpha.error);
  // W S W^T has eigenvalues 3/4 and 1/2: determinant 3/8.
  RMatrix out = w * s * w.transpose();
  expect_close(out(0, 0) * out(1, 1) - out(0, 1) * out(1, 0), Real(3) / 8, "det W S W^T");
  const RMatrix u = pq_transform_matrix(PqTransform::eigenbasis, e, Real(0));
  const RMatrix diag = u * s * u.transpose();
  expect_close(diag(0, 0), Real(3), "eigenbasis: largest first");
  // diag(0, 1) = v_0^T S v_1 = theta_1 v_0^T v_1 + v_0^T r_1 (r_1 = S v_1 - theta_1 v_1): at most
  // theta_1 times the orthogonality defect plus |v_0| |r_1|, plus the rounding of the two 2 x 2 products
  // (4 roundings on terms of total magnitude <= sum |S_ij| = 6).
  const Real off_diagonal_bound = abs(e.values(1)) * e.orthogonality_defect +
                                  sqrt(1 + e.orthogonality_defect) * e.pair_residual(1) + rounding_slack(Real(6), 4);
  EXPECT_LE(abs(diag(0, 1)), off_diagonal_bound);
  EXPECT_NE(error_of([&] { pq_transform_matrix(PqTransform::soft_zca, e, Real(0)); }).find("must be > 0"), std::string::npos);
}

TEST(E2, pq_shape_errors) {
  // The text form MxBITS is parsed by ref::parse_pq_text (tests/cli_test.cc); the shape's own rules live here.
  EXPECT_EQ(make_pq_shape(128, 16, 8).block_dim(), 8);
  EXPECT_NE(error_of([] { make_pq_shape(128, 3, 8); }).find("M = 3 does not divide the dimension 128"), std::string::npos);
  EXPECT_NE(error_of([] { make_pq_shape(128, 0, 8); }).find("M = 0"), std::string::npos);
  EXPECT_NE(error_of([] { make_pq_shape(128, 256, 8); }).find("M = 256 must be in 1..128"), std::string::npos);
  EXPECT_NE(error_of([] { make_pq_shape(128, 16, 9); }).find("BITS = 9"), std::string::npos);
  EXPECT_NE(error_of([] { make_pq_shape(128, 16, 0); }).find("BITS = 0"), std::string::npos);
}

}  // namespace
}  // namespace dpq::ref

namespace dpq::ref {
namespace {

// The kNN tier's k-th neighbour distances through the Gram matrix are the brute-force ones, bit for bit:
// on Gaussian rows, on rows with exact duplicates and on a lattice (many tied distances).
TEST(B5, knn_distances_are_the_brute_force_ones) {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> g;
  for (int kind = 0; kind < 3; ++kind) {
    const Eigen::Index m = 300, d = kind == 2 ? 3 : 17;
    pq_detail::RowMajorMatrixXd w(m, d);
    for (Eigen::Index i = 0; i < m; ++i)
      for (Eigen::Index j = 0; j < d; ++j) w(i, j) = kind == 2 ? std::round(g(rng) * 2) : g(rng) * (1 + j);
    if (kind == 1)
      for (Eigen::Index i = 0; i < 40; ++i) w.row(i + 100) = w.row(i);  // exact duplicates: distance 0
    for (int k : {1, 5}) {
      const std::vector<double> got = pq_detail::kth_neighbour_squared_distances(w, k);
      for (Eigen::Index i = 0; i < m; ++i) {
        std::vector<double> all;
        for (Eigen::Index j = 0; j < m; ++j)
          if (j != i) all.push_back((w.row(i) - w.row(j)).squaredNorm());
        std::nth_element(all.begin(), all.begin() + (k - 1), all.end());
        ASSERT_EQ(got[static_cast<std::size_t>(i)], all[static_cast<std::size_t>(k - 1)]) << "kind " << kind << ", k " << k << ", row " << i;
      }
    }
  }
}

}  // namespace
}  // namespace dpq::ref
