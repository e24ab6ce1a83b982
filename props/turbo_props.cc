// D3 rotations, D5 bit accounting, D7 statistics.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <boost/random/mersenne_twister.hpp>
#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_int_distribution.hpp>
#include <cmath>

#include "deltapq/reference/linalg.h"
#include "deltapq/app/paper_check.h"
#include "deltapq/fast/sphere_codebooks.h"
#include "deltapq/fast/turbo_codec.h"
#include "deltapq/reference/stats.h"
#include "support.h"

namespace dpq::props {
namespace {

using app::Scheme;

// D3: the rotation is orthogonal: checked against the exact (Real) product R^T R = I, with R's
// columns obtained by rotating basis vectors in float. Float error per entry of R^T R: the rows are
// computed with ~log2(d) + 2 roundings each (WHT) or a d-term double dot product rounded once
// (dense), so |R^T R - I|_ij <= (2 log2 d + 8) u + d u_double; allow that, nothing more.
void check_rotation(double column_scale);

RC_GTEST_PROP(D3, rotation_is_orthogonal_and_inverts, ()) { check_rotation(1.0); }

TEST(D3, orthogonality_comparator_rejects_a_scaled_map) {
  EXPECT_TRUE(falsified("columns x 1.001", [] { check_rotation(1.001); }));
}

void check_rotation(double column_scale) {
  const bool pow2 = *rc::gen::arbitrary<bool>();
  const int d = pow2 ? (1 << *rc::gen::inRange(1, 8)) : *rc::gen::inRange(2, 130);  // the exact R^T R costs d^3 MPFR operations
  const fast::Rotation rot(d, *rc::gen::arbitrary<std::uint64_t>());
  RC_TAG(rot.hadamard() ? "hadamard" : "dense");
  std::vector<float> cols(static_cast<std::size_t>(d) * d);
  for (int j = 0; j < d; ++j) {
    std::vector<float> e(d, 0.0f);
    e[j] = 1.0f;
    rot.apply(e.data());
    for (int i = 0; i < d; ++i) cols[static_cast<std::size_t>(i) * d + j] = static_cast<float>(e[i] * column_scale);
  }
  const ref::RMatrix r = ref::to_real(std::vector<double>(cols.begin(), cols.end()).data(), d, d);
  const ref::RMatrix g = r.transpose() * r;
  const double u = 0x1p-24, bound = (2 * std::log2(static_cast<double>(d)) + 8) * u + d * 0x1p-53;
  for (int i = 0; i < d; ++i)
    for (int j = 0; j < d; ++j) RC_ASSERT(abs(g(i, j) - Real(i == j ? 1 : 0)) <= Real(bound));
  // inverse(apply(x)) = x to the same order.
  boost::random::mt19937_64 rng(7);
  boost::random::normal_distribution<float> normal;
  std::vector<float> x(d), y(d);
  for (auto& v : x) v = normal(rng);
  y = x;
  rot.apply(y.data());
  rot.inverse(y.data());
  double err = 0, nx = 0;
  for (int i = 0; i < d; ++i) {
    err += (y[i] - x[i]) * (y[i] - x[i]);
    nx += x[i] * x[i];
  }
  RC_ASSERT(std::sqrt(err / nx) <= 2 * d * bound);
}

// D5 with the codec builder as a parameter: the accounting must equal the budget, and the production
// codec's record must hold exactly what the accounting counts (the test of the test builds the QJL
// sides without their sketch).
void check_d5(bool drop_sketch) {
  const int d = *rc::gen::inRange(2, 1025), n = *rc::gen::inRange(2, 9);
  for (Scheme s : {Scheme::kv, Scheme::kqv, Scheme::qkqv})
    for (const auto& side : {app::key_side(s, d, n, 1), app::value_side(s, d, n, 1)}) {
      const auto a = side.account();
      RC_ASSERT(a.total_payload() == n * d);  // n bits per coordinate, QJL's m = d bits included
      RC_ASSERT(a.norms == (side.with_qjl ? 2 : 1));
      // The record: 32 bits per norm, then the codes and the sketch, each padded to whole bytes.
      if (!fast::shipped_sphere_codebook(d, side.mse_bits()) || (d > 64 && (d & (d - 1)))) continue;  // cheap cases only
      app::SideSpec built = side;
      if (drop_sketch) built.with_qjl = false, built.budget = side.mse_bits();
      const auto codec = app::side_codec(built);
      const std::size_t expected = 4u * static_cast<std::size_t>(a.norms) + (static_cast<std::size_t>(a.coordinate_bits) + 7) / 8 +
                                   (static_cast<std::size_t>(a.sketch_bits) + 7) / 8;
      RC_ASSERT(codec.bytes_per_vector() == expected);
    }
  // Equal side information: every scheme stores the same number of norms in total (K + V) ... per side
  // that uses QJL, one more (||r||), and the claim of a fair budget counts them apart.
  RC_ASSERT(app::key_side(Scheme::kqv, d, n, 1).with_qjl == false);
  RC_ASSERT(app::value_side(Scheme::kqv, d, n, 1).with_qjl == true);
  RC_ASSERT(app::key_side(Scheme::qkqv, d, n, 1).with_qjl == true);
}

RC_GTEST_PROP(D5, scheme_bit_accounting_equals_the_budget, ()) { check_d5(false); }

TEST(D5, comparator_rejects_a_codec_without_its_sketch) {
  EXPECT_TRUE(falsified("QJL sides built without the sketch", [] { check_d5(true); }));
}

TEST(D7, statistics_known_values) {
  EXPECT_EQ(ref::rank_biserial({1, 2, 3}, {4, 5, 6}), 1.0);    // A always lower: A wins fully
  EXPECT_EQ(ref::rank_biserial({4, 5, 6}, {1, 2, 3}), -1.0);
  EXPECT_EQ(ref::rank_biserial({1, 2}, {1, 2}), 0.0);          // ties count half
  EXPECT_DOUBLE_EQ(ref::rank_biserial({1, 3}, {2}), 0.0);
  EXPECT_NEAR(ref::energy_distance({0, 1}, {0, 1}), 0.0, 1e-15);
  // Point masses at 0 and 1: 2|0-1| - 0 - 0 = 2.
  EXPECT_NEAR(ref::energy_distance({0, 0}, {1, 1}), 2.0, 1e-15);
  EXPECT_EQ(ref::median({3, 1, 2}), 2.0);
  EXPECT_EQ(ref::median({4, 1, 2, 3}), 2.5);
  // Phipson-Smyth: never 0; identical samples give p = 1.
  EXPECT_EQ(ref::permutation_p({1, 2, 3}, {1, 2, 3}, 99, 1), 1.0);
  const double p = ref::permutation_p({1, 2, 3, 4, 5, 6, 7, 8}, {11, 12, 13, 14, 15, 16, 17, 18}, 999, 1);
  EXPECT_GE(p, 1.0 / 1000);
  EXPECT_LT(p, 0.01);
  const auto ci = ref::bootstrap_median_ci({1, 2, 3, 4, 5, 6, 7, 8, 9}, 0.95, 2000, 3);
  EXPECT_LE(ci.first, 5.0);
  EXPECT_GE(ci.second, 5.0);
}

// The permutation p-value by relabeling the values themselves (the definition), with ties in B
// counted half (`half_ties`) or, for the test of the test, as losses of A.
double permutation_p_by_values(const std::vector<double>& a, const std::vector<double>& b, int m, std::uint64_t seed,
                               bool half_ties) {
  auto r_of = [&](const std::vector<double>& x, const std::vector<double>& y) {
    double greater = 0, less = 0;
    for (double u : x)
      for (double v : y) {
        greater += v > u || (!half_ties && v == u);
        less += v < u;
      }
    return half_ties ? (greater - less) / (static_cast<double>(x.size()) * static_cast<double>(y.size())) : greater - less;
  };
  const double observed = std::fabs(r_of(a, b));
  std::vector<double> pool = a;
  pool.insert(pool.end(), b.begin(), b.end());
  boost::random::mt19937_64 rng(seed);
  int extreme = 0;
  for (int k = 0; k < m; ++k) {
    for (std::size_t i = pool.size(); i > 1; --i) {
      boost::random::uniform_int_distribution<std::size_t> pick(0, i - 1);
      std::swap(pool[i - 1], pool[pick(rng)]);
    }
    const std::vector<double> x(pool.begin(), pool.begin() + static_cast<std::ptrdiff_t>(a.size())),
        y(pool.begin() + static_cast<std::ptrdiff_t>(a.size()), pool.end());
    extreme += std::fabs(r_of(x, y)) >= observed;
  }
  return (extreme + 1.0) / (m + 1.0);
}

// D7: the rank-based permutation p equals relabeling the values, bit for bit, on samples full of ties.
void check_permutation_p(bool half_ties) {
  const int na = *rc::gen::inRange(1, 25), nb = *rc::gen::inRange(1, 25), levels = *rc::gen::inRange(1, 6);
  const auto a = *rc::gen::container<std::vector<int>>(na, rc::gen::inRange(0, levels));
  const auto b = *rc::gen::container<std::vector<int>>(nb, rc::gen::inRange(0, levels));
  const std::vector<double> da(a.begin(), a.end()), db(b.begin(), b.end());
  const std::uint64_t seed = *rc::gen::arbitrary<std::uint64_t>();
  RC_ASSERT(ref::permutation_p(da, db, 49, seed) == permutation_p_by_values(da, db, 49, seed, half_ties));
}

RC_GTEST_PROP(D7, permutation_p_equals_relabeling_the_values, ()) { check_permutation_p(true); }

TEST(D7, permutation_p_comparator_rejects_ties_counted_as_losses) {
  EXPECT_TRUE(falsified("ties as losses", [] { check_permutation_p(false); }));
}

RC_GTEST_PROP(D7, permutation_p_is_calibrated_under_the_null, ()) {
  // Under exchangeability P(p <= alpha) <= alpha; over 200 null pairs the count of p <= 0.1 is
  // Binomial(200, <= 0.1): 5 sigma above the mean is 20 + 5 * 4.24 = 41.
  boost::random::mt19937_64 rng(*rc::gen::arbitrary<std::uint64_t>());
  boost::random::normal_distribution<double> normal;
  int small = 0;
  for (int k = 0; k < 200; ++k) {
    std::vector<double> a(10), b(10);
    for (auto& v : a) v = normal(rng);
    for (auto& v : b) v = normal(rng);
    small += ref::permutation_p(a, b, 99, rng()) <= 0.1;
  }
  RC_ASSERT(small <= 41);
}

}  // namespace
}  // namespace dpq::props
