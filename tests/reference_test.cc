// Known values of the Part A reference: hand-computed quantizer cases, exact eigenvalues, the
// domination factor, and golden tail functionals (45 digits from an independent 600-bit
// computation: mpmath's hypergeometric incomplete beta).
#include <gtest/gtest.h>

#include <boost/math/special_functions/beta.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <iostream>
#include <random>

#include "deltapq/core/error.h"
#include "deltapq/reference/attention.h"
#include "deltapq/reference/bounds.h"
#include "deltapq/reference/clip_search.h"

namespace dpq::ref {
namespace {

TEST(A1, known_cells) {
  // c = 1, b = 2: step 1/2, cells [-1,-.5) [-.5,0) [0,.5) [.5,1], centers -.75 -.25 .25 .75.
  const Real c(1);
  EXPECT_EQ(quantize_index(Real("-1"), c, 2), 0);
  EXPECT_EQ(quantize_index(Real("-0.5"), c, 2), 1);  // boundary: upper cell
  EXPECT_EQ(quantize_index(Real("0"), c, 2), 2);
  EXPECT_EQ(quantize_index(Real("0.4999"), c, 2), 2);
  EXPECT_EQ(quantize_index(Real("1"), c, 2), 3);
  EXPECT_EQ(quantize_index(Real("7"), c, 2), 3);
  EXPECT_EQ(quantize_index(Real("-7"), c, 2), 0);
  EXPECT_EQ(quantize(Real("0.1"), c, 2), Real("0.25"));
  EXPECT_EQ(quantize(Real("-0.6"), c, 2), Real("-0.75"));
  EXPECT_EQ(quantize(Real("3"), c, 0), Real(0));  // b = 0: q = 0
  EXPECT_EQ(quantize(Real("3"), c, 2), Real("0.75"));  // overload: error 2.25 = |y| - c + step/2
}

// verdict_le's own rounding: the comparison rhs - lhs is computed in Real, so a margin below the
// rounding of the two magnitudes (gamma_2 (|lhs| + |rhs|) = ~4u at 1) is undecided even with exact
// operands (u = 2^(1-p), the spacing of Reals at 1): a margin of 2u is such a margin, 16u is not.
TEST(Certified, a_margin_inside_the_comparisons_own_rounding_is_undecided) {
  const Real u = unit_roundoff(), one(1);
  EXPECT_EQ(verdict_le({one, Real(0)}, {one + 2 * u, Real(0)}), Verdict::undecided);
  EXPECT_EQ(verdict_le({one + 2 * u, Real(0)}, {one, Real(0)}), Verdict::undecided);
  EXPECT_EQ(verdict_le({one, Real(0)}, {one + 16 * u, Real(0)}), Verdict::holds);
  EXPECT_EQ(verdict_le({one + 16 * u, Real(0)}, {one, Real(0)}), Verdict::fails);
}

// A2's tightness witness: every sample on a cell boundary (the ends +-c included) is quantized with
// error exactly Delta/2, so D = sum_i c_i^2 4^-b_i -- the bound is attained, not just respected. With
// dyadic samples every step is exact: measured and bound are equal as numbers, and the verdict is
// undecided (margin 0). A looser bound (2^-b, say) would leave a margin and fail the equality.
TEST(A2, the_bounded_support_bound_is_attained_on_cell_boundaries) {
  const std::vector<int> bits{1, 2, 3};
  const std::vector<double> clip{1.0, 0.75, 2.0};
  std::vector<std::vector<double>> cols(3);
  std::size_t rows = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    const int cells = 1 << bits[i];
    const double step = 2 * clip[i] / cells;
    for (int k = 0; k <= cells; ++k) cols[i].push_back(-clip[i] + k * step);  // boundaries and both ends
    rows = std::max(rows, cols[i].size());
  }
  RMatrix y(static_cast<Eigen::Index>(rows), 3);
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t t = 0; t < rows; ++t) y(static_cast<Eigen::Index>(t), static_cast<Eigen::Index>(i)) = Real(cols[i][t % cols[i].size()]);
  const RealDesign design = support_design(y, bits);
  for (std::size_t i = 0; i < 3; ++i) ASSERT_EQ(design.clip[i], Real(clip[i]));
  const Certified measured = empirical_distortion(y, design).certified();
  const Real bound = bounded_support_bound(design);
  Real expect(0);
  for (std::size_t i = 0; i < 3; ++i) expect += Real(clip[i]) * Real(clip[i]) * ldexp(Real(1), -2 * bits[i]);
  EXPECT_EQ(bound, expect);
  EXPECT_EQ(measured.value, bound) << to_string(measured.value) << " vs " << to_string(bound);
  EXPECT_EQ(verdict_le(measured, {bound, Real(0)}), Verdict::undecided);
  // Half the samples at cell centres (error 0), half at the ends: D is half the bound, and holds.
  RMatrix mixed(4, 1);
  mixed << Real(-1), Real(-0.5), Real(0.5), Real(1);
  const RealDesign d1 = support_design(mixed, {1});
  const Certified m1 = empirical_distortion(mixed, d1).certified();
  EXPECT_EQ(m1.value, bounded_support_bound(d1) / 2);
  EXPECT_EQ(verdict_le(m1, {bounded_support_bound(d1), Real(0)}), Verdict::holds);
}

TEST(A2, greedy_allocation_known_case) {
  RVector lambda(3);
  lambda << Real(16), Real(4), Real(1);
  // Terms 16,4,1 -> bit to 16 (4,4,1) -> tie 4,4: lowest rank (1,4,1) -> (1,1,1): rank 1 -> ...
  EXPECT_EQ(greedy_bits(lambda, 2), (std::vector<int>{2, 0, 0}));
  EXPECT_EQ(greedy_bits(lambda, 3), (std::vector<int>{2, 1, 0}));
  EXPECT_EQ(greedy_bits(lambda, 5), (std::vector<int>{3, 2, 0}));  // (1/4,1,1): tie -> rank 1
  EXPECT_THROW(greedy_bits(lambda, 49), dpq::Error);
}

TEST(A3, exact_eigenvalues_and_radius) {
  RMatrix a(2, 2);
  a << Real(2), Real(1), Real(1), Real(2);
  const SymmetricEigen e = symmetric_eigen(a, "A");
  EXPECT_LE(abs(e.values(0) - Real(3)), e.radius(0));
  EXPECT_LE(abs(e.values(1) - Real(1)), e.radius(1));
  EXPECT_LT(e.radius(0), ldexp(Real(1), -200));
}

TEST(A3, domination_factor_known_values) {
  RMatrix sd(2, 2), sv(2, 2);
  sd << Real(1), Real(0), Real(0), Real(3);
  sv << Real(2), Real(0), Real(0), Real(4);
  const DominationFactor a = domination_factor(sd, sv);  // max(1/2, 3/4)
  ASSERT_TRUE(a.finite);
  EXPECT_LE(abs(a.alpha.value - Real("0.75")), a.alpha.error + ldexp(Real(1), -240));
  // Singular Sigma_V = diag(1, 0): Sigma_delta = diag(1/2, 0) is inside its range, diag(0, 1) is not.
  sv << Real(1), Real(0), Real(0), Real(0);
  sd << Real("0.5"), Real(0), Real(0), Real(0);
  EXPECT_TRUE(domination_factor(sd, sv).finite);
  sd << Real(0), Real(0), Real(0), Real(1);
  const DominationFactor inf = domination_factor(sd, sv);
  EXPECT_FALSE(inf.finite);
  EXPECT_NE(inf.reason.find("range"), std::string::npos);
}

TEST(A3, non_symmetric_and_nonfinite_inputs_are_errors) {
  RMatrix a(2, 2);
  a << Real(1), Real(2), Real(3), Real(1);
  EXPECT_THROW(symmetric_eigen(a, "A"), dpq::Error);
  a << Real(1), Real(0), Real(0), std::numeric_limits<Real>::quiet_NaN();
  EXPECT_THROW(symmetric_eigen(a, "A"), dpq::Error);
}

TEST(A5, gaussian_closed_form_known_value) {
  // kappa = 1, b = 0 (h = kappa): tau = E[Z^2 1{|Z| > 1}] = 2 (phi(1) + Q(1)).
  const Real v = tail_functional(TailModel::gaussian(), Real(1), 0).value;
  EXPECT_LT(abs(v - Real("0.801251956901200802425195294607045464701518008")), Real("1e-40"));
  // GGD with beta = 2 is the Gaussian: quadrature against the closed form.
  const Certified g = tail_functional(TailModel::gen_gaussian(Real(2)), Real("1.5"), 3);
  EXPECT_LE(abs(g.value - tail_functional(TailModel::gaussian(), Real("1.5"), 3).value), g.error + Real("1e-70"));
}

struct Golden {
  const char* nu;
  const char* kappa;
  int bits;
  const char* tau;
};
// tau of the unit-variance Student-t, 45 significant digits (600-bit mpmath, hypergeometric ibeta).
constexpr Golden kStudentGolden[] = {
    {"2.1", "0.5", 0, "0.96087254878406941431529779793900182693455327"},
    {"2.1", "2", 4, "0.746283651889104890040642922729535433565382438"},
    {"2.25", "3", 2, "0.522490967561159332735144286064567984091108493"},
    {"2.5", "1", 8, "0.495500975511361811199472402668457600413376079"},
    {"2.5", "6", 16, "0.209241259830880550504969590937318897616659908"},
};

TEST(A5, student_t_quadrature_matches_golden_table) {
  for (const Golden& g : kStudentGolden) {
    const Certified q = tail_functional(TailModel::student_t(Real(g.nu)), Real(g.kappa), g.bits);
    const Real expected(g.tau);
    // 45 digits in the table: the comparison is limited by the table, not by the quadrature.
    EXPECT_LE(abs(q.value - expected), q.error + Real("1e-44") * expected)
        << "nu = " << g.nu << ", kappa = " << g.kappa << ", b = " << g.bits << ": " << to_string(q.value, 50);
  }
}

// Independent values: 800-bit mpmath (hypergeometric series), 85 digits.
struct BetaGolden {
  const char* a;
  const char* b;
  int num, den;  // x = num / den
  const char* value;
};
constexpr BetaGolden kBetaGolden[] = {
    {"0.05", "0.5", 2, 7, "0.8865202266459870710804823465471351094247677697027938716935102618189064055513439073592"},
    {"0.3", "0.5", 1, 2, "0.63928945415445270877202182352432234376414995887747162920283097707045763248799199729"},
    {"3.4", "0.5", 7, 10, "0.1328177338747951719104279953256590085172094149481528278626277687607024577259905882629"},
    {"4.4", "0.5", 9, 10, "0.3491550094690405738605742306647645814180702136969400248320544622880426342750950621725"},
    {"15", "0.5", 19, 20, "0.2186089966962347364397080658898671473876215365693414013807634474499096175604051257393"},
    {"1.05", "0.5", 1, 10, "0.044905617942752109329185612150333044493733805507336252098032446075701845190061190817"},
{"15", "0.5", 99, 100, "0.586064964776335568906326970025912053883075714111328125"},
{"14.5", "0.5", 999, 1000, "0.865895148545880910500916504452898086343001810011989697314052902716338334978912041018"},
{"1.05", "0.5", 999, 1000, "0.9674202759432102592785781471990404340825828467545375813247287522864888170762511700557"},
{"0.05", "0.5", 999, 1000, "0.9970372190599611906413378339172897394088759319113695902778881911778107567869810942782"},
{"10", "0.5", 1, 2, "0.0002334474347486223954349674755882058009997838201177683503618114122462312357783682193276"},
{"7.5", "0.5", 9, 10, "0.2162483651372664123695170667105210340154730203933479578865376196025201996113517161754"},
};
struct GammaGolden {
  const char* s;
  const char* x;
  const char* value;  // upper incomplete Gamma(s, x), not normalised
};
constexpr GammaGolden kGammaGolden[] = {
    {"0.5", "2", "0.08064711796031769078862607302130517570135929216816690059672139112255856816240862110577"},
    {"2", "0.3", "0.9630636868862332258869359131131619338369266015987082527839030868505277209405612023187"},
    {"1.25", "4", "0.02730051588431910348654785932322646781014624084396346748962818430540000204479357496247"},
    {"6", "9", "13.88286250092692924118714188698442523016076071551190977581402318656146095473301722675"},
};

TEST(A5, boost_special_functions_meet_the_accuracy_deltapq_relies_on) {
  // A finding: at 264-bit precision Boost 1.74's ibeta on MPFR is accurate to as little as 135 bits
  // (ibeta(15, 0.5, 0.95)) and 183 bits (ibeta(0.05, 0.5, 2/7)), whatever the precision. The closed-form cross-checks take kSpecialFunctionAccuracyBits from here.
  Real worst(0);
  std::string where;
  auto record = [&](const Real& got, const char* exact, const std::string& what) {
    const Real rel = abs(got - Real(exact)) / Real(exact);
    std::cout << what << ": " << -to_double(log2(rel)) << " bits\n";
    if (rel > worst) { worst = rel; where = what; }
  };
  for (const auto& g : kBetaGolden)
    record(boost::math::ibeta(Real(g.a), Real(g.b), Real(g.num) / Real(g.den)), g.value,
           std::string("ibeta(") + g.a + ", " + g.b + ", " + std::to_string(g.num) + "/" + std::to_string(g.den) + ")");
  for (const auto& g : kGammaGolden)
    record(boost::math::tgamma(Real(g.s), Real(g.x)), g.value, std::string("tgamma(") + g.s + ", " + g.x + ")");
  const double bits = -to_double(log2(worst));
  std::cout << "worst relative error " << to_string(worst, 3) << " (" << bits << " bits, precision " << precision_bits()
            << ") at " << where << "\n";
  EXPECT_LT(worst, ldexp(Real(1), -kSpecialFunctionAccuracyBits)) << where;
}

TEST(A6, counterexample_exists_for_heavy_tailed_deltas) {
  RVector lambda(2);
  lambda << Real(2), Real(1);
  const A6Counterexample ce =
      a6_counterexample(lambda, Real("0.5"), TailModel::student_t(Real("2.5")), TailModel::gaussian(), 4);
  ASSERT_TRUE(ce.found);
  EXPECT_GT(ce.bound_delta.value - ce.bound_delta.error, ce.bound_v.value + ce.bound_v.error);
}

TEST(E2, bad_designs_are_errors_naming_the_coordinate) {
  RealDesign d{.bits = {4, 17}, .clip = {Real(1), Real(1)}};
  try {
    validate_design(d);
    FAIL();
  } catch (const dpq::Error& e) {
    EXPECT_NE(std::string(e.what()).find("bits[1] = 17"), std::string::npos) << e.what();
  }
  d = RealDesign{.bits = {4, 4}, .clip = {Real(1), Real(0)}};
  try {
    validate_design(d);
    FAIL();
  } catch (const dpq::Error& e) {
    EXPECT_NE(std::string(e.what()).find("clip[1]"), std::string::npos) << e.what();
  }
  RVector lambda(1);
  lambda << Real(1);
  EXPECT_THROW(matched_design(lambda, Real(0), {4}), dpq::Error);
  EXPECT_THROW(matched_design(lambda, Real(-1), {4}), dpq::Error);
}

TEST(D6, set_metrics_per_vector_on_known_rows) {
  // Rows (3,4) -> (3,0): angle acos(3/5), norm error 2/5, relative squared error 16/25; (1,0) -> (2,0):
  // 0, 1, 1; the zero row reconstructed as zero: 0, 0, 0. Whole set: (16 + 1) / (25 + 1).
  const std::vector<float> x{3, 4, 1, 0, 0, 0}, xq{3, 0, 2, 0, 0, 0};
  const ref::SetMetrics m = ref::set_metrics(x, xq, 2);
  ASSERT_EQ(m.dir.size(), 3u);
  ASSERT_EQ(m.rel_se.size(), 3u);
  EXPECT_DOUBLE_EQ(m.dir[0], std::acos(0.6));
  EXPECT_DOUBLE_EQ(m.norm[0], 0.4);
  EXPECT_DOUBLE_EQ(m.rel_se[0], 0.64);
  EXPECT_EQ(m.dir[1], 0.0);
  EXPECT_EQ(m.norm[1], 1.0);
  EXPECT_EQ(m.rel_se[1], 1.0);
  EXPECT_EQ(m.dir[2], 0.0);
  EXPECT_EQ(m.norm[2], 0.0);
  EXPECT_EQ(m.rel_se[2], 0.0);
  EXPECT_DOUBLE_EQ(m.rel_mse, 17.0 / 26.0);
}

// --kappa auto. At one bit the matched quantizer reconstructs +-c/2 on the two sides of 0 (the clip
// never binds), so D(c) = mean z^2 - c mean|z| + c^2/4 for ANY sample: the optimum is c* = 2 mean|z|, in
// closed form. The search must find kappa* = c*/sqrt(lambda) to its golden-section resolution (relative
// width 1e-6 in log kappa, the objective being unimodal here) widened by where double rounding of D
// (T d terms: relative error <= T d u) can no longer order two kappas: |c - c*| <= 2 sqrt(T d u D).
TEST(KappaAuto, one_bit_optimum_is_twice_the_mean_absolute_value) {
  std::mt19937_64 rng(11);
  for (int dist = 0; dist < 3; ++dist) {
    const std::size_t T = 5000, d = 3;
    std::vector<double> y(T * d), lambda(d, 0.0), mean_abs(d, 0.0);
    std::normal_distribution<double> normal;
    std::student_t_distribution<double> heavy(3.0);
    std::uniform_real_distribution<double> uniform(-1, 1);
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t i = 0; i < d; ++i) {
        const double v = (i + 1) * (dist == 0 ? normal(rng) : dist == 1 ? heavy(rng) : uniform(rng));
        y[t * d + i] = v;
      }
    for (std::size_t i = 0; i < d; ++i) {
      double m = 0, s = 0;
      for (std::size_t t = 0; t < T; ++t) m += y[t * d + i];
      m /= T;
      for (std::size_t t = 0; t < T; ++t) {
        y[t * d + i] -= m;
        s += y[t * d + i] * y[t * d + i];
        mean_abs[i] += std::fabs(y[t * d + i]);
      }
      lambda[i] = s / T;
      mean_abs[i] /= T;
    }
    // One coordinate only carries bits (the others b = 0: a constant D), so kappa* is that coordinate's.
    const std::vector<int> bits = {0, 1, 0};
    const KappaChoice c = mse_optimal_kappa(y, T, lambda, bits);
    const double c_star = 2 * mean_abs[1], kappa_star = c_star / std::sqrt(lambda[1]);
    const double tol = 1e-6 + 2 * std::sqrt(T * d * 0x1p-53 * c.distortion) / c_star;
    EXPECT_LE(std::fabs(std::log(c.kappa / kappa_star)), tol) << "distribution " << dist << ": " << c.kappa << " vs " << kappa_star;
    EXPECT_LE(c.distortion, c.distortion_at_3);
    EXPECT_EQ(c.distortion, matched_distortion(y, T, lambda, bits, c.kappa));
    // Per coordinate: every coordinate's own closed-form optimum.
    const std::vector<KappaChoice> each = mse_optimal_kappas(y, T, lambda, {1, 1, 1});
    ASSERT_EQ(each.size(), d);
    for (std::size_t i = 0; i < d; ++i) {
      const double ci = 2 * mean_abs[i], ki = ci / std::sqrt(lambda[i]);
      const double tol_i = 1e-6 + 2 * std::sqrt(T * 0x1p-53 * each[i].distortion) / ci;
      EXPECT_LE(std::fabs(std::log(each[i].kappa / ki)), tol_i) << "distribution " << dist << ", coordinate " << i;
    }
  }
}

// The search's contract at every width: the chosen kappa is no worse than kappa = 3 and than every
// point of its coarse grid (the same double evaluation, compared exactly).
TEST(KappaAuto, the_choice_beats_kappa_3_and_every_grid_point) {
  std::mt19937_64 rng(12);
  std::student_t_distribution<double> heavy(4.0);
  const std::size_t T = 3000, d = 4;
  std::vector<double> y(T * d), lambda(d, 0.0);
  for (auto& v : y) v = heavy(rng);
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t i = 0; i < d; ++i) lambda[i] += y[t * d + i] * y[t * d + i] / T;
  for (int b : {1, 2, 4, 8, 16}) {
    const std::vector<int> bits(d, b);
    const KappaChoice c = mse_optimal_kappa(y, T, lambda, bits);
    EXPECT_LE(c.distortion, matched_distortion(y, T, lambda, bits, 3.0)) << b;
    for (int j = 0; j <= 64; ++j)
      EXPECT_LE(c.distortion, matched_distortion(y, T, lambda, bits, std::exp2(-2.0 + 10.0 * j / 64))) << b << " grid " << j;
  }
  // Heavy tails want a wider clip as the grid gets finer: the chosen kappa grows with b here.
  EXPECT_LT(mse_optimal_kappa(y, T, lambda, std::vector<int>(d, 2)).kappa, mse_optimal_kappa(y, T, lambda, std::vector<int>(d, 8)).kappa);
  EXPECT_THROW(mse_optimal_kappa({1.0, std::nan("")}, 1, {1.0, 1.0}, {4, 4}), dpq::Error);
  EXPECT_THROW(mse_optimal_kappa({1.0, 2.0}, 1, {1.0}, {4}), dpq::Error);
}

}  // namespace
}  // namespace dpq::ref

namespace dpq::ref {
namespace {

// sample_moments of raw double rows (the 128-bit integer path where it applies) is sample_moments of the
// same rows in Real, bit for bit -- for float32 data, full doubles, deltas, zero and constant columns, a
// span too wide for the integer path, and a precision below 128 bits.
bool same_moments(const SampleMoments& a, const SampleMoments& b) {
  if (a.count != b.count || a.mean.size() != b.mean.size()) return false;
  for (Eigen::Index i = 0; i < a.mean.size(); ++i)
    if (a.mean(i) != b.mean(i)) return false;
  for (Eigen::Index i = 0; i < a.covariance.rows(); ++i)
    for (Eigen::Index j = 0; j < a.covariance.cols(); ++j)
      if (a.covariance(i, j) != b.covariance(i, j)) return false;
  return true;
}

SampleMoments real_moments(const std::vector<double>& rows, std::size_t tokens, std::size_t dim, bool deltas) {
  const RMatrix x = to_real(rows.data(), tokens, dim);
  return deltas ? sample_moments(RMatrix(x.bottomRows(tokens - 1) - x.topRows(tokens - 1))) : sample_moments(x);
}

TEST(SampleMoments, integer_path_is_the_real_path_bit_for_bit) {
  std::mt19937_64 rng(17);
  std::normal_distribution<double> g;
  const std::size_t tokens = 97, dim = 5;
  for (int kind = 0; kind < 5; ++kind) {
    std::vector<double> rows(tokens * dim);
    for (std::size_t t = 0; t < tokens; ++t)
      for (std::size_t i = 0; i < dim; ++i) {
        double v = g(rng);
        if (kind == 0) v = static_cast<float>(v * 100 + 40);     // float32 data with a mean
        if (kind == 2) v = i == 1 ? 0.0 : i == 2 ? 3.5 : std::round(v * 8) / 8;  // zero, constant, lattice columns
        if (kind == 3) v = i == 0 ? std::ldexp(v, (t % 2) ? 300 : -300) : v;    // a span too wide: the Real path
        rows[t * dim + i] = v;                                                     // kind 1: full doubles
      }
    if (kind == 4) set_precision_bits(64);  // below 128 bits: the Real path
    for (bool deltas : {false, true}) {
      bool integer_path = false;
      EXPECT_TRUE(same_moments(sample_moments(rows.data(), tokens, dim, deltas, &integer_path),
                               real_moments(rows, tokens, dim, deltas)))
          << "kind " << kind << (deltas ? ", deltas" : "");
      // The integer path really runs where it applies (float32 data, lattices) and only there.
      EXPECT_EQ(integer_path, kind == 0 || kind == 2) << "kind " << kind;
    }
    set_precision_bits(kDefaultPrecisionBits);
    // Test of the comparator: one entry one ulp away is a different sample.
    std::vector<double> moved = rows;
    moved[3 * dim + 4] = std::nextafter(moved[3 * dim + 4], 1e300);
    EXPECT_FALSE(same_moments(sample_moments(moved.data(), tokens, dim), real_moments(rows, tokens, dim, false))) << kind;
  }
}

}  // namespace
}  // namespace dpq::ref
