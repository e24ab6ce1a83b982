// D4 (QJL: unbiased, exact variance, the pi/2 inflation) and D6 (KL identity, Jensen bound).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <boost/random/mersenne_twister.hpp>
#include <boost/random/normal_distribution.hpp>
#include <cmath>
#include <cstring>

#include "deltapq/fast/qjl.h"
#include "deltapq/fast/sphere_codebooks.h"
#include "deltapq/fast/turbo_codec.h"
#include "deltapq/reference/attention.h"
#include "avx2_skip.h"
#include "support.h"

namespace dpq::props {
namespace {

struct QjlCase {
  std::uint64_t seed;
  int d, m;
  double correlation;  // cos angle(q, r)
};
void showValue(const QjlCase& c, std::ostream& os) {
  os << "{d " << c.d << ", m " << c.m << ", cos " << c.correlation << "}";
}
rc::Gen<QjlCase> gen_qjl() {
  return rc::gen::exec([] {
    return QjlCase{*rc::gen::arbitrary<std::uint64_t>(), *rc::gen::inRange(2, 65), *rc::gen::inRange(1, 65),
                   *rc::gen::inRange(-100, 101) / 100.0};
  });
}

// Monte-Carlo over fresh sketches: N estimates of <q,r> by the sign sketch (and by the plain
// Gaussian sketch). Returns {mean, variance} of each.
struct McResult {
  double mean_sign, var_sign, mean_gauss, var_gauss, qr, q2, r2;
  double abs_mean_sign = 0;  // mean of sqrt(pi/2)/m |r| sum_j sum_i |g_ji q_i|: the rounding's scale
  int d = 0, m = 0;
};
McResult simulate(const QjlCase& c, int n) {
  boost::random::mt19937_64 rng(c.seed);
  boost::random::normal_distribution<double> normal;
  std::vector<double> q(c.d), r(c.d), w(c.d);
  for (auto& v : q) v = normal(rng);
  for (auto& v : w) v = normal(rng);
  // r = cos * q/|q| * |w| + sin * (w orthogonalised), so that cos angle(q, r) = c.correlation.
  double qn = 0, dot = 0;
  for (int i = 0; i < c.d; ++i) qn += q[i] * q[i];
  for (int i = 0; i < c.d; ++i) dot += w[i] * q[i];
  double on = 0;
  for (int i = 0; i < c.d; ++i) {
    w[i] -= dot / qn * q[i];
    on += w[i] * w[i];
  }
  const double s = std::sqrt(std::max(0.0, 1 - c.correlation * c.correlation));
  for (int i = 0; i < c.d; ++i) r[i] = c.correlation * q[i] / std::sqrt(qn) + s * w[i] / std::sqrt(on);
  McResult res{0, 0, 0, 0, 0, qn, 0, 0, c.d, c.m};
  for (int i = 0; i < c.d; ++i) {
    res.qr += q[i] * r[i];
    res.r2 += r[i] * r[i];
  }
  const double rn = std::sqrt(res.r2);
  double s1 = 0, s2 = 0, g1 = 0, g2 = 0;
  std::vector<double> row(c.d);
  for (int k = 0; k < n; ++k) {
    double sum_sign = 0, sum_gauss = 0, sum_abs = 0;
    for (int j = 0; j < c.m; ++j) {
      double sr = 0, sq = 0;
      for (int i = 0; i < c.d; ++i) {
        const double g = normal(rng);
        sr += g * r[i];
        sq += g * q[i];
        sum_abs += std::fabs(g * q[i]);
      }
      sum_sign += (sr >= 0 ? 1.0 : -1.0) * sq;
      sum_gauss += sr * sq;
    }
    const double est = std::sqrt(M_PI / 2) / c.m * rn * sum_sign, gest = sum_gauss / c.m;
    s1 += est;
    s2 += est * est;
    res.abs_mean_sign += std::sqrt(M_PI / 2) / c.m * rn * sum_abs;
    g1 += gest;
    g2 += gest * gest;
  }
  res.mean_sign = s1 / n;
  res.abs_mean_sign /= n;
  res.var_sign = s2 / n - res.mean_sign * res.mean_sign;
  res.mean_gauss = g1 / n;
  res.var_gauss = g2 / n - res.mean_gauss * res.mean_gauss;
  return res;
}

// The D4 comparator. Mean: |mean - <q,r>| <= 5 sqrt(V/N) with V the claimed exact variance.
// Variance: the sample variance of N (m-term sums, near normal) has relative SE sqrt(2/(N-1)) up to
// the excess kurtosis; the terms' kurtosis is at most that of a product of normals (9), which for an
// m-term mean gives excess <= 6/m, so the SE is sqrt((2 + 6/m)/(N-1)); allow 5 of them.
// Rounding of the mean, beside the 5 SE (Higham): every estimate is sqrt(pi/2)/m * |r| * sum_j
// sign_j (s_q)_j with (s_q)_j a d-term dot product; the dot products, the m-term sum, the three factors
// and the n-term mean are d + m + n + 4 roundings on terms whose absolute sum is abs_mean_sign, so the
// slack is gamma_{d+m+n+6} abs_mean_sign (2 more for sqrt(pi/2) and |r| themselves). The sign of an
// (s_r)_j within its rounding of 0 may flip: that is a draw of the same law with probability ~ d u, not
// an error of the estimator. The exact <q, r> arrives as the d-term double qr: gamma_d |q| |r|.
void check_qjl(const McResult& r, int n, int m, double claimed_var_sign, double claimed_var_gauss) {
  const double u = 0x1p-53, k = (static_cast<double>(r.d) + m + n + 6) * u, kd = r.d * u;
  const double rounding = k / (1 - k) * r.abs_mean_sign + kd / (1 - kd) * std::sqrt(r.q2 * r.r2);
  RC_ASSERT(std::fabs(r.mean_sign - r.qr) <= 5 * std::sqrt(claimed_var_sign / n) + rounding);
  const double rel = 5 * std::sqrt((2 + 6.0 / m) / (n - 1));
  RC_ASSERT(std::fabs(r.var_sign / claimed_var_sign - 1) <= rel);
  RC_ASSERT(std::fabs(r.var_gauss / claimed_var_gauss - 1) <= rel);
}

RC_GTEST_PROP(D4, qjl_is_unbiased_with_the_exact_variance, ()) {
  const QjlCase c = *gen_qjl();
  const int n = 4000;
  const McResult r = simulate(c, n);
  const double vs = ref::to_double(ref::qjl_variance(Real(r.q2), Real(r.r2), Real(r.qr), c.m));
  const double vg = ref::to_double(ref::gaussian_sketch_variance(Real(r.q2), Real(r.r2), Real(r.qr), c.m));
  check_qjl(r, n, c.m, vs, vg);
  // The sign step inflates the leading term by exactly pi/2: for orthogonal q, r the ratio is pi/2.
  // For orthogonal q, r the ratio is pi/2 exactly; r is orthogonal to q only up to the rounding in the
  // double qr, and (pi/2 A - x^2)/(A + x^2) with A = q2 r2, x = qr is within (1 + pi/2) x^2/A of pi/2.
  // vs, vg rounded to double, the division and M_PI/2: 4 roundings of a value <= pi/2 (5 u covers
  // their products).
  if (c.correlation == 0)
    RC_ASSERT(std::fabs(vs / vg - M_PI / 2) <= (1 + M_PI / 2) * r.qr * r.qr / (r.q2 * r.r2) + 5 * 0x1p-53 * M_PI / 2);
}

TEST(D4, comparator_rejects_the_unquantized_variance_for_the_sign_sketch) {
  // Test of the test: claiming the Gaussian sketch's variance for the sign sketch (missing pi/2).
  EXPECT_TRUE(falsified("no pi/2", [] {
    QjlCase c = *gen_qjl();
    c.correlation = 0;
    c.m = std::max(c.m, 8);
    const int n = 4000;
    const McResult r = simulate(c, n);
    const double vg = ref::to_double(ref::gaussian_sketch_variance(Real(r.q2), Real(r.r2), Real(r.qr), c.m));
    check_qjl(r, n, c.m, vg, vg);
  }));
}

// The stored sign bits against the exact projections (S r)_j (double), where they are decidable:
// |(S r)_j| beyond the float dot-product bound gamma_d sum_i |S_ji r_i|.
void check_signs(const fast::QjlSketch& sk, const std::vector<float>& r, const std::vector<std::uint8_t>& rec) {
  const int d = sk.dim();
  const double gamma = d * 0x1p-24 / (1 - d * 0x1p-24);
  for (int j = 0; j < sk.m(); ++j) {
    double p = 0, mag = 0;
    for (int i = 0; i < d; ++i) {
      const double t = static_cast<double>(sk.matrix()[static_cast<std::size_t>(j) * d + i]) * r[static_cast<std::size_t>(i)];
      p += t;
      mag += std::fabs(t);
    }
    const bool bit = (rec[4 + j / 8] >> (j % 8)) & 1u;
    if (std::fabs(p) > gamma * mag) RC_ASSERT(bit == (p >= 0));
  }
}

TEST(D4, sign_comparator_rejects_flipped_bits) {
  EXPECT_TRUE(falsified("bit 0 flipped", [] {
    const QjlCase c = *gen_qjl();
    boost::random::mt19937_64 rng(c.seed);
    boost::random::normal_distribution<float> normal;
    std::vector<float> r(c.d);
    for (auto& v : r) v = normal(rng);
    const fast::QjlSketch sk(c.d, c.m, rng());
    std::vector<std::uint8_t> rec(sk.bytes_per_vector());
    sk.encode(r.data(), 1, rec.data());
    rec[4] ^= 1u;
    check_signs(sk, r, rec);
  }));
}

// The fast, bit-packed sketch: every stored sign equals the sign of the exact projection (S r)_j
// unless |(S r)_j| is within the float dot-product bound gamma_d sum_i |S_ji r_i|; and over fresh
// sketches the estimates are unbiased with the exact variance (the comparator above).
RC_GTEST_PROP(D4, fast_sketch_signs_and_estimates, ()) {
  QjlCase c = *gen_qjl();
  c.m = std::max(c.m, 4);
  boost::random::mt19937_64 rng(c.seed);
  boost::random::normal_distribution<float> normal;
  std::vector<float> q(c.d), r(c.d);
  for (auto& v : q) v = normal(rng);
  for (auto& v : r) v = normal(rng);
  double qr = 0, q2 = 0, r2 = 0;
  for (int i = 0; i < c.d; ++i) {
    qr += static_cast<double>(q[i]) * r[i];
    q2 += static_cast<double>(q[i]) * q[i];
    r2 += static_cast<double>(r[i]) * r[i];
  }
  const int n = 3000;
  double s1 = 0, s2 = 0;
  for (int k = 0; k < n; ++k) {
    const fast::QjlSketch sk(c.d, c.m, rng());
    std::vector<std::uint8_t> rec(sk.bytes_per_vector());
    sk.encode(r.data(), 1, rec.data());
    check_signs(sk, r, rec);
    const double e = sk.estimate(rec.data(), sk.project(q.data()));
    s1 += e;
    s2 += e * e;
  }
  McResult res{s1 / n, s2 / n - (s1 / n) * (s1 / n), 0, 1, qr, q2, r2};
  const double v = ref::to_double(ref::qjl_variance(Real(q2), Real(r2), Real(qr), c.m));
  RC_ASSERT(std::fabs(res.mean_sign - qr) <= 5 * std::sqrt(v / n));
  RC_ASSERT(std::fabs(res.var_sign / v - 1) <= 5 * std::sqrt((2 + 6.0 / c.m) / (n - 1)));
}

// The QJL kernels: records, reconstructions and scores (QjlSketch::scores, the attention inner loop)
// at every level the CPU reports equal the scalar contract bit for bit, and each score is the estimator within the float rounding of
// its sum: K = ceil(m / 16) terms per partial sum and 4 tree levels, then the float scale, the product
// with the norm and the product with the sum -- gamma_{K+8} of sqrt(pi/2)/m ||r|| sum_j |(S q)_j|
// (estimate() in double errs by far less). `flip` flips the sign bit of the largest |(S q)_j| in the
// records first (the test of the test: that moves a score by 2 sqrt(pi/2)/m ||r|| max_j |(S q)_j|).
void check_scores(bool flip) {
  const int d = *rc::gen::inRange(1, 65), m = *rc::gen::inRange(1, 301);
  const std::size_t n = static_cast<std::size_t>(*rc::gen::inRange(1, 41));
  boost::random::mt19937_64 rng(*rc::gen::arbitrary<std::uint64_t>());
  boost::random::normal_distribution<float> normal;
  const fast::QjlSketch sk(d, m, rng());
  const std::size_t stride = sk.bytes_per_vector() + static_cast<std::size_t>(*rc::gen::inRange(0, 6));
  std::vector<float> r(n * static_cast<std::size_t>(d)), q(static_cast<std::size_t>(d));
  for (auto& v : r) v = normal(rng);
  for (auto& v : q) v = normal(rng);
  std::vector<std::uint8_t> rec(n * stride, 0xa5);
  sk.encode_strided(r.data(), n, rec.data(), stride, fast::SimdLevel::scalar);
  // The records (signs packed by each level's kernel; the bytes between records untouched) and the
  // reconstructions (signs unpacked by it) are the scalar contract's, bit for bit.
  std::vector<float> back(n * static_cast<std::size_t>(d)), back_level(back.size());
  sk.reconstruct_strided(rec.data(), n, stride, back.data(), fast::SimdLevel::scalar);
  for (fast::SimdLevel level : testing::cpu_levels()) {
    std::vector<std::uint8_t> rec_level(n * stride, 0xa5);
    sk.encode_strided(r.data(), n, rec_level.data(), stride, level);
    RC_ASSERT(rec_level == rec);
    sk.reconstruct_strided(rec.data(), n, stride, back_level.data(), level);
    RC_ASSERT(std::memcmp(back.data(), back_level.data(), back.size() * sizeof(float)) == 0);
  }
  const std::vector<float> pq = sk.project(q.data());
  std::size_t jmax = 0;
  double sum_abs = 0;
  for (std::size_t j = 0; j < pq.size(); ++j) {
    sum_abs += std::fabs(pq[j]);
    if (std::fabs(pq[j]) > std::fabs(pq[jmax])) jmax = j;
  }
  if (flip)
    for (std::size_t k = 0; k < n; ++k) rec[k * stride + 4 + jmax / 8] ^= static_cast<std::uint8_t>(1u << (jmax % 8));
  std::vector<float> want(n), got(n);
  sk.scores(rec.data(), n, stride, pq, want.data(), fast::SimdLevel::scalar);
  for (fast::SimdLevel level : testing::cpu_levels()) {
    sk.scores(rec.data(), n, stride, pq, got.data(), level);
    RC_ASSERT(std::memcmp(want.data(), got.data(), n * sizeof(float)) == 0);
  }
  const double u = 0x1p-24, K = std::ceil(m / 16.0) + 8;
  for (std::size_t k = 0; k < n; ++k) {
    float norm;
    std::memcpy(&norm, rec.data() + k * stride, 4);
    // The estimator of the records as encoded (before any flip), in double.
    std::vector<std::uint8_t> orig(rec.begin() + static_cast<std::ptrdiff_t>(k * stride), rec.begin() + static_cast<std::ptrdiff_t>(k * stride + stride));
    if (flip) orig[4 + jmax / 8] ^= static_cast<std::uint8_t>(1u << (jmax % 8));
    const double est = sk.estimate(orig.data(), pq);
    const double bound = K * u / (1 - K * u) * std::sqrt(M_PI / 2) / m * norm * sum_abs;
    RC_ASSERT(std::fabs(static_cast<double>(want[k]) - est) <= bound);
  }
}

RC_GTEST_PROP(D4, qjl_kernels_equal_the_contract_at_every_level_and_scores_the_estimator_within_rounding, ()) { check_scores(false); }

TEST(D4, qjl_scores_comparator_rejects_a_flipped_sign_bit) {
  EXPECT_TRUE(falsified("the largest projection's bit flipped", [] { check_scores(true); }));
}

// TurboQuant's inner-product codec, fused (TurboCodec with its QJL stage, Hadamard path): for a fixed
// x, q and rotation, over fresh sketches S (qjl_seed), the decoded x^ = ||x|| R^T (c + r^) gives
// <q, x^> with mean <q, x> and variance ||x||^2 [(pi/2) ||q||^2 ||r||^2 - <q, r_o>^2] / m, where
// r_o = (x - x^_mse) / ||x|| is the MSE stage's residual in x's coordinates (= R^T r: the same norm and
// inner products). `variance_factor` scales the variance the comparator expects (1: the theorem).
struct ProdCase {
  std::uint64_t seed;
  int d, bits, m, q_mix;
};
void showValue(const ProdCase& c, std::ostream& os) {
  os << "{d " << c.d << ", b " << c.bits << ", m " << c.m << ", q_mix " << c.q_mix << "}";
}
rc::Gen<ProdCase> gen_prod() {
  return rc::gen::exec([] {
    const int d = 1 << *rc::gen::inRange(3, 7);  // 8..64
    return ProdCase{*rc::gen::arbitrary<std::uint64_t>(), d, *rc::gen::inRange(1, 5), *rc::gen::inRange(8, 2 * d + 1),
                    *rc::gen::inRange(0, 3)};
  });
}
struct ProdMc {
  double mean = 0, var = 0, truth = 0, v_exact = 0, slack = 0, mse_only = 0;
};
ProdMc simulate_prod(const ProdCase& c, int draws) {
  boost::random::mt19937_64 rng(c.seed);
  boost::random::normal_distribution<float> normal;
  const std::size_t d = static_cast<std::size_t>(c.d);
  std::vector<float> x(d), q(d), xm(d), xh(d);
  const float scale = std::exp(normal(rng));
  for (auto& v : x) v = scale * normal(rng);
  const fast::ScalarCodebook cb = fast::shipped_sphere_codebook(c.d, c.bits).value().codebook;
  const fast::TurboCodec mse(c.d, c.bits, cb, {c.seed});
  std::vector<std::uint8_t> rec(mse.bytes_per_vector());
  mse.encode(x.data(), 1, rec.data());
  mse.decode(rec.data(), 1, xm.data());
  double xn2 = 0;
  for (float v : x) xn2 += static_cast<double>(v) * v;
  const double xn = std::sqrt(xn2);
  std::vector<double> ro(d);
  double r2 = 0;
  for (std::size_t i = 0; i < d; ++i) {
    ro[i] = (static_cast<double>(x[i]) - xm[i]) / xn;
    r2 += ro[i] * ro[i];
  }
  // q: Gaussian, plus (q_mix = 1, 2) a component along the residual, where the QJL stage's share of the
  // mean is largest: a dead or mis-scaled stage then moves the mean by many standard errors.
  double g2 = 0;
  for (auto& v : q) {
    v = normal(rng);
    g2 += static_cast<double>(v) * v;
  }
  for (std::size_t i = 0; i < d; ++i)
    q[i] = static_cast<float>(q[i] + c.q_mix * std::sqrt(g2 / r2) * ro[i]);
  double q2 = 0, qr = 0, q1 = 0, truth = 0, mse_only = 0;
  for (std::size_t i = 0; i < d; ++i) {
    q2 += static_cast<double>(q[i]) * q[i];
    qr += static_cast<double>(q[i]) * ro[i];
    q1 += std::fabs(q[i]);
    truth += static_cast<double>(q[i]) * x[i];
    mse_only += static_cast<double>(q[i]) * xm[i];
  }
  ProdMc res;
  res.truth = truth;
  res.mse_only = mse_only;
  res.v_exact = xn2 * ref::to_double(ref::qjl_variance(Real(q2), Real(r2), Real(qr), c.m));
  // Float rounding of one decode, bounded per coordinate and summed against |q| (one bound for every
  // draw): the inverse WHT of u = c + r^ (log2 d levels, the scale, the norm: gamma_{log2 d + 3} of
  // ||x|| / sqrt(d) sum |u|), and r^ itself (m-term fma chains, the scale: gamma_{m + 2} of
  // sqrt(pi/2)/m ||r|| sum_j |S_ji|, at most sqrt(pi/2)/m ||r|| * max_i sum_j |S_ji| per entry).
  const double u = 0x1p-24, lg = std::log2(static_cast<double>(c.d));
  auto gamma = [&](double k) { return k * u / (1 - k * u); };
  double s1 = 0, s2 = 0, worst = 0;
  for (int k = 0; k < draws; ++k) {
    const fast::TurboCodec prod(c.d, c.bits, cb, {c.seed, fast::RotationKind::automatic, c.m, rng()});
    std::vector<std::uint8_t> pr(prod.bytes_per_vector());
    prod.encode(x.data(), 1, pr.data());
    prod.decode(pr.data(), 1, xh.data());
    double e = 0;
    for (std::size_t i = 0; i < d; ++i) e += static_cast<double>(q[i]) * xh[i];
    s1 += e;
    s2 += e * e;
    const std::vector<float>& S = prod.qjl()->matrix();
    double max_col = 0, c_abs = 0, rn = 0;
    float rnf;
    std::memcpy(&rnf, pr.data() + 4 + (d * static_cast<std::size_t>(c.bits) + 7) / 8, 4);
    rn = rnf;
    for (std::size_t i = 0; i < d; ++i) {
      double col = 0;
      for (int j = 0; j < c.m; ++j) col += std::fabs(S[static_cast<std::size_t>(j) * d + i]);
      max_col = std::max(max_col, col);
    }
    for (float cv : cb.centroids) c_abs = std::max(c_abs, static_cast<double>(std::fabs(cv)));
    const double rhat_entry = std::sqrt(M_PI / 2) / c.m * rn * max_col;
    const double sum_u = static_cast<double>(d) * (c_abs + rhat_entry);
    worst = std::max(worst, q1 * (gamma(lg + 3) * xn / std::sqrt(static_cast<double>(d)) * sum_u +
                                  xn / std::sqrt(static_cast<double>(d)) * static_cast<double>(d) * gamma(c.m + 2) * rhat_entry));
  }
  res.mean = s1 / draws;
  res.var = s2 / draws - res.mean * res.mean;
  res.slack = worst;
  return res;
}
void check_prod(const ProdMc& r, int draws, int m, double variance_factor, bool use_mse_only_mean) {
  const double v = r.v_exact * variance_factor;
  const double mean = use_mse_only_mean ? r.mse_only : r.mean;
  RC_ASSERT(std::fabs(mean - r.truth) <= 5 * std::sqrt(v / draws) + r.slack);
  // (n-1) s^2 / sigma^2 of a near-Gaussian sum of m signs: relative SE sqrt((2 + 6/m) / (n - 1)) as above.
  RC_ASSERT(std::fabs(r.var / v - 1) <= 5 * std::sqrt((2 + 6.0 / m) / (draws - 1)) + r.slack * r.slack / v);
}
constexpr int kProdDraws = 1500;

RC_GTEST_PROP(D4, fused_inner_product_codec_is_unbiased_with_the_exact_variance, ()) {
  const ProdCase c = *gen_prod();
  check_prod(simulate_prod(c, kProdDraws), kProdDraws, c.m, 1.0, false);
}

// Tests of the test: the comparator rejects the plain-Gaussian-sketch variance (the pi/2 inflation
// missing: the variance expected 2/pi as large) and an estimator whose QJL stage is dead (the MSE
// stage's <q, x^_mse> taken for the mean), on q with a residual component.
TEST(D4, fused_codec_comparator_rejects_a_variance_without_pi_over_2) {
  EXPECT_TRUE(falsified("variance x 2/pi", [] {
    const ProdCase c = *gen_prod();
    check_prod(simulate_prod(c, kProdDraws), kProdDraws, c.m, 2 / M_PI, false);
  }));
}
TEST(D4, fused_codec_comparator_rejects_a_dead_qjl_stage) {
  EXPECT_TRUE(falsified("mean of the MSE stage alone", [] {
    ProdCase c = *gen_prod();
    c.q_mix = 2;
    check_prod(simulate_prod(c, kProdDraws), kProdDraws, c.m, 1.0, true);
  }));
}

// D6 identity with the perturbation's sign as a parameter (+1: the property; -1: the test of the
// test, the identity evaluated for -xi).
void check_kl_identity(int sign) {
  const int n = *rc::gen::inRange(2, 200);
  boost::random::mt19937_64 rng(*rc::gen::arbitrary<std::uint64_t>());
  boost::random::normal_distribution<double> normal;
  const double scale = std::exp(normal(rng)), noise = std::exp(normal(rng));
  std::vector<Real> z(n), xi(n), xs(n);
  for (int i = 0; i < n; ++i) {
    z[i] = Real(scale * normal(rng));
    xi[i] = Real(noise * normal(rng));
    xs[i] = xi[i] * sign;
  }
  const Real direct = ref::kl_softmax_direct(z, xi), identity = ref::kl_softmax_identity(z, xs);
  RC_ASSERT(direct >= -ldexp(Real(1), -200));
  // Both are sums of ~3n rounded terms of magnitude <= max |logit| + log n: 2^-200 relative is far
  // above 256-bit rounding and far below any algebra error.
  RC_ASSERT(abs(direct - identity) <= ldexp(Real(1), -200) * (Real(1) + abs(direct)) * Real(n));
}

RC_GTEST_PROP(D6, kl_identity_holds, ()) { check_kl_identity(1); }

TEST(D6, identity_comparator_rejects_the_wrong_sign) {
  EXPECT_TRUE(falsified("identity for -xi", [] { check_kl_identity(-1); }));
}

// D6 Jensen with the bound's factor as a parameter (1/2: the theorem; 1/8: the test of the test).
void check_jensen(double factor) {
  // Jensen: E KL = E log E_p e^xi - 0 <= log E_p E e^xi = sigma^2 / 2. Monte-Carlo mean over 2000
  // noise draws, one-sided: mean - 5 SE <= the bound.
  const int n = *rc::gen::inRange(2, 64);
  const double sigma = *rc::gen::inRange(1, 300) / 100.0;
  boost::random::mt19937_64 rng(*rc::gen::arbitrary<std::uint64_t>());
  boost::random::normal_distribution<double> normal;
  std::vector<Real> z(n), xi(n);
  for (auto& v : z) v = Real(2 * normal(rng));
  const int draws = 2000;
  double s1 = 0, s2 = 0;
  for (int k = 0; k < draws; ++k) {
    for (auto& v : xi) v = Real(sigma * normal(rng));
    const double kl = ref::to_double(ref::kl_softmax_identity(z, xi));
    s1 += kl;
    s2 += kl * kl;
  }
  const double mean = s1 / draws, se = std::sqrt(std::max(0.0, s2 / draws - mean * mean) / draws);
  RC_ASSERT(mean - 5 * se <= ref::to_double(ref::kl_gaussian_noise_bound(Real(sigma))) * (factor * 2));
}

RC_GTEST_PROP(D6, expected_kl_under_gaussian_noise_is_at_most_half_sigma_squared, ()) { check_jensen(0.5); }

TEST(D6, jensen_comparator_rejects_a_quarter_of_the_bound) {
  EXPECT_TRUE(falsified("sigma^2 / 8", [] { check_jensen(0.125); }));
}

}  // namespace
}  // namespace dpq::props
