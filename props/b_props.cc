// Part B: the PQ ratio theorem (B2) on data whose B1 regime is measured, B3 (shared transform keeps
// alpha <= 1; per-source whitening does not), the GGD fit's confidence interval, the eta tiers on
// Gaussian data, and D_delta / D_V approaching the determinant ratio as the rate grows.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <functional>
#include <random>

#include "deltapq/reference/pq.h"
#include "support.h"

namespace dpq::props {
namespace {

using ref::Certified;
using ref::PqOptions;
using ref::PqReport;
using ref::PqTransform;
using ref::Verdict;

// Rows of a source: z i.i.d. from a family, mixed by a random matrix B and scaled: x = s B z.
enum class Shape { gaussian, laplace, uniform, student5 };
std::vector<double> draw(std::mt19937_64& rng, Shape shape, std::size_t n, int d, const std::vector<double>& mix, double scale) {
  std::normal_distribution<double> normal;
  std::exponential_distribution<double> expo;
  std::uniform_real_distribution<double> unif(-1, 1);
  std::student_t_distribution<double> t5(5);
  std::vector<double> z(d), x(n * d);
  for (std::size_t i = 0; i < n; ++i) {
    for (int j = 0; j < d; ++j) {
      switch (shape) {
        case Shape::gaussian: z[j] = normal(rng); break;
        case Shape::laplace: z[j] = (rng() & 1 ? 1 : -1) * expo(rng); break;
        case Shape::uniform: z[j] = unif(rng); break;
        case Shape::student5: z[j] = t5(rng); break;
      }
    }
    for (int r = 0; r < d; ++r) {
      double s = 0;
      for (int j = 0; j < d; ++j) s += mix[r * d + j] * z[j];
      x[i * d + r] = scale * s;
    }
  }
  return x;
}

std::vector<double> random_mix(std::mt19937_64& rng, int d, double off_diagonal) {
  std::normal_distribution<double> normal;
  std::vector<double> m(d * d);
  for (int r = 0; r < d; ++r)
    for (int j = 0; j < d; ++j) m[r * d + j] = (r == j ? 1.0 + std::abs(normal(rng)) : off_diagonal * normal(rng));
  return m;
}

ref::SymmetricEigen eig_of(const std::vector<double>& x, std::size_t n, int d) {
  return ref::symmetric_eigen(ref::sample_moments(ref::to_real(x.data(), n, d)).covariance, "Sigma_V");
}

PqReport audit(const std::vector<double>& v, const std::vector<double>& dl, std::size_t n, int d, const PqOptions& o) {
  return ref::pq_audit(v, n, dl, n, d, eig_of(v, n, d), o);
}

struct B2Case {
  std::uint64_t seed;
  int d, m, bits;
  Shape v_shape, d_shape;
  double d_scale, off;
  PqTransform transform;
};
rc::Gen<B2Case> gen_b2_case() {
  return rc::gen::apply(
      [](std::uint64_t seed, int d, int mi, int bits, int vs, int ds, double log_scale, double off, int tr) {
        std::vector<int> divisors;
        for (int m = 1; m <= d; ++m)
          if (d % m == 0) divisors.push_back(m);
        return B2Case{seed, d, divisors[mi % divisors.size()], bits, static_cast<Shape>(vs), static_cast<Shape>(ds),
                      std::pow(10.0, log_scale), off, static_cast<PqTransform>(tr)};
      },
      rc::gen::arbitrary<std::uint64_t>(), rc::gen::inRange(1, 7), rc::gen::inRange(0, 6), rc::gen::inRange(1, 5),
      rc::gen::inRange(0, 4), rc::gen::inRange(0, 4), rc::gen::map(rc::gen::inRange(-200, 50), [](int k) { return k / 100.0; }),
      rc::gen::element(0.0, 0.3, 1.0), rc::gen::inRange(0, 3));
}

RC_GTEST_PROP(B2, ratio_theorem_holds_when_the_regime_is_measured, ()) {
  const B2Case c = *gen_b2_case();
  std::mt19937_64 rng(c.seed);
  const std::size_t n = 400;
  const auto v = draw(rng, c.v_shape, n, c.d, random_mix(rng, c.d, c.off), 1.0);
  const auto dl = draw(rng, c.d_shape, n, c.d, random_mix(rng, c.d, c.off), c.d_scale);
  PqOptions o;
  o.shape = {c.d, c.m, c.bits};
  o.transform = c.transform;
  o.kmeans.seed = c.seed;
  const PqReport p = audit(v, dl, n, c.d, o);
  RC_PRE(p.alpha_finite && p.eta_empirical < 1);  // B1 measured on the data
  RC_ASSERT(ref::pq_ratio_check(p, p.alpha, p.eta_empirical).verdict != Verdict::fails);
}

// ---- B4 ----
// mu = alpha (1 + eta)/(1 - eta) < 1  <=>  eta < (1 - alpha)/(1 + alpha). alpha = a +- e and eta are
// dyadic with 20-bit numerators, so (alpha' (1 + eta) vs 1 - eta) is decided exactly in Real for the
// interval ends alpha' = a +- e: the verdict must be `holds` iff the upper end satisfies the condition,
// `fails` iff the lower end violates it, `undecided` otherwise -- ties at a + e or a - e included,
// which the generator produces on purpose (eta = 0 puts the threshold at alpha = 1 exactly; other
// targeted cases put mu within one grid step of 1).
using JointFn = std::function<ref::JointCondition(const Certified&, bool, const Real&)>;

void check_b4(const JointFn& joint) {
  const int kind = *rc::gen::inRange(0, 3);
  const Real grid = ldexp(Real(1), -20);
  Real a, e, eta;
  if (kind == 0) {  // a tie at an end of the interval: eta = 0, a +- e = 1
    e = Real(*rc::gen::inRange(0, 1 << 10)) * grid;
    a = *rc::gen::arbitrary<bool>() ? Real(1) - e : Real(1) + e;
    eta = Real(0);
  } else {  // random, or near the threshold: alpha just below/above (1 - eta)/(1 + eta)
    eta = Real(*rc::gen::inRange(0, 1 << 20)) * grid;
    e = Real(*rc::gen::inRange(0, kind == 1 ? 1 << 12 : 4)) * grid;
    const Real threshold = (1 - eta) / (1 + eta);
    a = kind == 1 ? Real(*rc::gen::inRange(0, 3 << 20)) * grid
                  : floor(threshold / grid) * grid + Real(*rc::gen::inRange(-3, 4)) * grid;
    RC_PRE(a >= 0);
  }
  const ref::JointCondition j = joint({a, e}, true, eta);
  const Real f_num = 1 + eta, f_den = 1 - eta;  // exact: dyadic
  const bool upper_holds = (a + e) * f_num < f_den;  // mu at alpha = a + e is < 1
  const bool lower_fails = (a - e) * f_num > f_den;  // mu at alpha = a - e is > 1
  RC_TAG(upper_holds ? "holds" : lower_fails ? "fails" : "undecided");
  RC_ASSERT(j.verdict == (upper_holds ? Verdict::holds : lower_fails ? Verdict::fails : Verdict::undecided));
  // The stated equivalence with the threshold, at the value itself (exact comparisons).
  if (e == 0 && a * f_num != f_den) RC_ASSERT((j.verdict == Verdict::holds) == (eta < (1 - a) / (1 + a)));
}

RC_GTEST_PROP(B4, joint_condition_is_mu_below_one_with_alphas_error, ()) { check_b4(ref::joint_condition); }

TEST(B4, the_property_catches_mu_without_the_one_minus_eta) {
  // mu = alpha (1 + eta): the denominator forgotten.
  EXPECT_TRUE(falsified("mu = alpha (1 + eta)", [] {
    check_b4([](const Certified& alpha, bool finite, const Real& eta) {
      ref::JointCondition j = ref::joint_condition(alpha, finite, Real(0));
      j.mu = {alpha.value * (1 + eta), alpha.error * (1 + eta) + ref::rounding_slack(alpha.value * (1 + eta), 8)};
      j.verdict = ref::verdict_lt(j.mu, {Real(1), Real(0)});
      return j;
    });
  }));
  EXPECT_TRUE(falsified("alpha's error dropped", [] {
    check_b4([](const Certified& alpha, bool finite, const Real& eta) { return ref::joint_condition({alpha.value, Real(0)}, finite, eta); });
  }));
}

TEST(B4, infinite_alpha_or_eta_at_least_one_fails) {
  EXPECT_EQ(ref::joint_condition({Real(0.1), Real(0)}, false, Real(0)).verdict, Verdict::fails);
  EXPECT_EQ(ref::joint_condition({Real(0.1), Real(0)}, true, Real(1)).verdict, Verdict::fails);
  EXPECT_FALSE(isfinite(ref::joint_condition({Real(0.1), Real(0)}, true, Real(1)).mu.value));
}

TEST(B2, the_property_catches_a_min_instead_of_max_alpha) {
  // Test of the test: with alpha = min_m alpha_m the inequality must fail on heterogeneous blocks.
  const auto ok = falsified("min alpha", [] {
    const std::uint64_t seed = *rc::gen::arbitrary<std::uint64_t>();
    std::mt19937_64 rng(seed);
    const std::size_t n = 400;
    const std::vector<double> ident = {1, 0, 0, 1}, squash = {1, 0, 0, 0.05};
    const auto v = draw(rng, Shape::gaussian, n, 2, ident, 1.0);
    const auto dl = draw(rng, Shape::gaussian, n, 2, squash, 1.0);
    PqOptions o;
    o.shape = {2, 2, 3};
    o.transform = PqTransform::identity;
    const PqReport p = audit(v, dl, n, 2, o);
    Certified amin = p.blocks[0].alpha.alpha;
    for (const auto& b : p.blocks)
      if (b.alpha.alpha.value < amin.value) amin = b.alpha.alpha;
    RC_ASSERT(ref::pq_ratio_check(p, amin, p.eta_empirical).verdict != Verdict::fails);
  });
  EXPECT_TRUE(ok);
}

// ---- B3 ----
RC_GTEST_PROP(B3, shared_transform_keeps_alpha_at_most_one, ()) {
  const DominatedPair pair = *gen_dominated_pair(8);
  RC_PRE(pair.scale <= 1.0);
  const int d = static_cast<int>(pair.sigma_v.rows());
  std::vector<int> divisors;
  for (int m = 1; m <= d; ++m)
    if (d % m == 0) divisors.push_back(m);
  const int m = *rc::gen::elementOf(divisors);
  const auto kind = static_cast<PqTransform>(*rc::gen::inRange(0, 3));
  const ref::SymmetricEigen ev = ref::symmetric_eigen(pair.sigma_v, "Sigma_V");
  RC_PRE(kind != PqTransform::soft_zca || ev.values.sum() > 0);
  const RMatrix t = ref::pq_transform_matrix(kind, ev, Real("1e-3"));
  const ref::AlphaReport a = ref::transformed_alpha(pair.sigma_delta, pair.sigma_v, t, m);
  RC_PRE(a.finite);  // a singular block of Sigma_V: alpha is +inf, B3 says nothing
  RC_ASSERT(ref::verdict_le(a.alpha, {Real(1), Real(0)}) != Verdict::fails);
}

// The family on which per-source whitening breaks B3, built rather than searched for: Sigma_V =
// diag(1, s, X), Sigma_delta = diag(a, r s, X/2) (X a diagonal tail of the other d - 2 coordinates), all
// dyadic, with a <= 1/16 < 1/2 <= r < 1, so Sigma_delta < Sigma_V. Soft-ZCA with eps = e tr(S)/d lifts
// coordinate 2 to r s / (r s + eps_delta) for delta and s / (s + eps_V) for V; the first is larger iff
// r eps_V > eps_delta, i.e. r tr Sigma_V > tr Sigma_delta, which r > a and r >= 1/2 guarantee. So alpha > 1
// on every member: the check must fail on the first case, not on case 27 of 100.
struct PerSourceCase {
  int dim, log2_s, log2_a, r16;
};
void showValue(const PerSourceCase& c, std::ostream& os) {
  os << "{d " << c.dim << ", s 2^-" << c.log2_s << ", a 2^-" << c.log2_a << ", r " << c.r16 << "/16}";
}
rc::Gen<PerSourceCase> gen_per_source_case() {
  return rc::gen::exec([] {
    return PerSourceCase{*rc::gen::inRange(2, 7), *rc::gen::inRange(7, 15), *rc::gen::inRange(4, 11),
                         *rc::gen::inRange(8, 16)};
  });
}
struct PerSourceResult {
  Verdict loewner;
  ref::AlphaReport alpha;
};
PerSourceResult per_source_soft_zca(const PerSourceCase& c) {
  RMatrix sv = RMatrix::Zero(c.dim, c.dim), sd = RMatrix::Zero(c.dim, c.dim);
  sv(0, 0) = Real(1);
  sd(0, 0) = ldexp(Real(1), -c.log2_a);
  sv(1, 1) = ldexp(Real(1), -c.log2_s);
  sd(1, 1) = sv(1, 1) * c.r16 / 16;
  for (int i = 2; i < c.dim; ++i) {
    sv(i, i) = ldexp(Real(1), -i);
    sd(i, i) = sv(i, i) / 2;
  }
  const ref::SymmetricEigen ev = ref::symmetric_eigen(sv, "Sigma_V");
  const ref::SymmetricEigen ed = ref::symmetric_eigen(sd, "Sigma_delta");
  const RMatrix tv = ref::pq_transform_matrix(PqTransform::soft_zca, ev, Real("1e-2"));
  const RMatrix td = ref::pq_transform_matrix(PqTransform::soft_zca, ed, Real("1e-2"));
  return {ref::loewner_le(sd, sv).verdict, ref::per_source_alpha(sd, td, sv, tv, c.dim)};
}

TEST(B3, per_source_whitening_breaks_it_on_every_member_of_the_constructed_family) {
  // The B3 check, applied to per-source whitening: falsified, and on the very first case.
  int cases = 0, first_failing = 0;
  const auto ok = falsified("per-source Soft-ZCA", [&] {
    ++cases;
    const PerSourceResult r = per_source_soft_zca(*gen_per_source_case());
    const bool caught = !r.alpha.finite || ref::verdict_le(r.alpha.alpha, {Real(1), Real(0)}) == Verdict::fails;
    if (caught && first_failing == 0) first_failing = cases;
    RC_ASSERT(!caught);
  });
  EXPECT_TRUE(ok);
  EXPECT_EQ(first_failing, 1) << "the first case must already be a counterexample";
}

// And every member really is a counterexample with its premise holding (the statement above, checked
// over the whole family).
RC_GTEST_PROP(B3, every_member_of_the_constructed_family_has_alpha_above_one, ()) {
  const PerSourceResult r = per_source_soft_zca(*gen_per_source_case());
  RC_ASSERT(r.loewner == Verdict::holds);
  RC_ASSERT(r.alpha.finite);
  RC_ASSERT(ref::verdict_le(r.alpha.alpha, {Real(1), Real(0)}) == Verdict::fails);
}

// ---- B5 tier 2: the GGD fit recovers beta within its confidence interval ----
// Y = +-a G^(1/beta), G ~ Gamma(1/beta, 1). Delta method: R = m2 / m1^2 has standard error
// sqrt(grad^T C grad / n), grad = (-2 mu2/mu1^3, 1/mu1^2), C the covariance of (|Y|, Y^2) from the
// population moments mu_k = a^k Gamma((k+1)/beta)/Gamma(1/beta). 6 standard errors: a correct fit
// leaves the interval with probability ~2e-9 per case.
struct GgdInterval {
  Real lo, hi;  // of the moment ratio
};
GgdInterval ratio_interval(double beta, std::size_t n) {
  auto mu = [&](int k) { return std::exp(std::lgamma((k + 1) / beta) - std::lgamma(1 / beta)); };  // a = 1
  const double m1 = mu(1), m2 = mu(2), m3 = mu(3), m4 = mu(4);
  const double g1 = -2 * m2 / (m1 * m1 * m1), g2 = 1 / (m1 * m1);
  const double var = (g1 * g1 * (m2 - m1 * m1) + g2 * g2 * (m4 - m2 * m2) + 2 * g1 * g2 * (m3 - m1 * m2)) / n;
  const Real r = ref::ggd_moment_ratio(Real(beta));
  return {r - 6 * std::sqrt(var), r + 6 * std::sqrt(var)};
}

std::vector<double> ggd_sample(std::mt19937_64& rng, double beta, double sigma, std::size_t n) {
  std::gamma_distribution<double> gamma(1 / beta, 1.0);
  const double a = sigma * std::exp(0.5 * (std::lgamma(1 / beta) - std::lgamma(3 / beta)));
  std::vector<double> y(n);
  for (double& v : y) v = (rng() & 1 ? a : -a) * std::pow(gamma(rng), 1 / beta);
  return y;
}

void check_ggd_recovery(double beta, double shift) {
  const std::uint64_t seed = *rc::gen::arbitrary<std::uint64_t>();
  const double sigma = std::pow(10.0, *rc::gen::inRange(-30, 30) / 10.0);
  std::mt19937_64 rng(seed);
  const std::size_t n = 20000;
  const auto y = ggd_sample(rng, beta, sigma, n);
  const Real ratio = ref::sample_moment_ratio(y.data(), n, 1);
  const ref::GgdFit fit = ref::fit_ggd_shape(ratio);
  // The interval of beta is the image of the ratio interval (the ratio decreases in beta).
  const GgdInterval iv = ratio_interval(beta + shift, n);
  const ref::GgdFit lo = ref::fit_ggd_shape(iv.hi), hi = ref::fit_ggd_shape(iv.lo);
  RC_LOG() << "beta " << beta << ": fit " << ref::to_double(fit.beta) << " in [" << ref::to_double(lo.beta) << ", "
           << ref::to_double(hi.beta) << "]\n";
  RC_ASSERT(fit.beta >= lo.beta);
  RC_ASSERT(fit.beta <= hi.beta);
}

RC_GTEST_PROP(B5, ggd_fit_recovers_beta_within_its_interval, ()) {
  check_ggd_recovery(*rc::gen::inRange(70, 400) / 100.0, 0.0);
}

TEST(B5, the_interval_property_rejects_a_wrong_beta) {
  EXPECT_TRUE(falsified("beta + 0.5", [] { check_ggd_recovery(*rc::gen::inRange(70, 300) / 100.0, 0.5); }));
}

// ---- B5: the tiers on Gaussian data ----
// Two Gaussian sources with different covariances have the same shape: every eta is 0 in population.
// GGD tier: the fitted coordinates' ratios lie in pi/2 +- 6 SE (delta method, Gaussian moments), so
// |log S| of a source is at most (1/g) sum_j max |log ratio_j| over that interval, and eta_GGD at most
// tanh of the mean of the two sources' bounds. kNN tier: 6 of its propagated standard errors.
// Empirical tier (blocks of one coordinate, where any two Gaussians are scale copies): log r has
// standard error at most SE(log D) + SE(log A), SE(log D) = sd/(D sqrt n), SE(log A) = sqrt(2/n).
void check_tiers_vanish(Shape delta_shape) {
  const std::uint64_t seed = *rc::gen::arbitrary<std::uint64_t>();
  const int d = *rc::gen::element(1, 2, 4);
  const int m = *rc::gen::element(d, d / 2 > 0 ? d / 2 : 1);
  const int bits = *rc::gen::inRange(2, 5);
  std::mt19937_64 rng(seed);
  const std::size_t n = 4000;
  const auto v = draw(rng, Shape::gaussian, n, d, random_mix(rng, d, 0.5), 1.0);
  const auto dl = draw(rng, delta_shape, n, d, random_mix(rng, d, delta_shape == Shape::gaussian ? 0.5 : 0.0), 0.1);
  PqOptions o;
  o.shape = {d, m, bits};
  o.transform = *rc::gen::element(PqTransform::identity, PqTransform::eigenbasis, PqTransform::soft_zca);
  o.kmeans.iterations = 200;
  o.kmeans.seed = seed;
  const PqReport p = audit(v, dl, n, d, o);
  const int dm = d / m;
  const Real g = Real(dm) / Real(dm + 2);
  const GgdInterval iv = ratio_interval(2.0, n);
  const Real beta_hi = ref::fit_ggd_shape(iv.lo).beta, beta_lo = ref::fit_ggd_shape(iv.hi).beta;
  // max |log ratio_j| over the interval (log ratio is monotone in beta there), summed over d_m coordinates, / g.
  const Real per_coord = std::max(abs(ref::ggd_log_relative_shape({beta_lo}, g)), abs(ref::ggd_log_relative_shape({beta_hi}, g))) * g;
  const Real log_s_bound = per_coord * dm / g;
  for (const auto& b : p.blocks) {
    const ref::ShapeTiers& st = b.shape;
    RC_LOG() << "block " << b.block << ": eta GGD " << ref::to_double(st.eta_ggd) << " (bound " << ref::to_double(tanh(log_s_bound))
             << "), kNN " << (st.eta_knn ? ref::to_double(*st.eta_knn) : -1) << " (6 se " << ref::to_double(6 * st.eta_knn_se)
             << "), empirical " << ref::to_double(b.eta_empirical) << "\n";
    RC_ASSERT(st.eta_ggd <= tanh(log_s_bound));
    RC_ASSERT(st.eta_knn.has_value());
    RC_ASSERT(*st.eta_knn <= 6 * st.eta_knn_se);
    if (dm == 1) {
      const double se_v = ref::to_double(b.v.distortion_sd / b.v.distortion.value) / std::sqrt(n) + std::sqrt(2.0 / n);
      const double se_d = ref::to_double(b.delta.distortion_sd / b.delta.distortion.value) / std::sqrt(n) + std::sqrt(2.0 / n);
      RC_ASSERT(b.eta_empirical <= tanh(Real(3 * (se_v + se_d))));
    }
  }
}

RC_GTEST_PROP(B5, eta_tiers_vanish_on_gaussian_data, ()) { check_tiers_vanish(Shape::gaussian); }

TEST(B5, the_tier_property_flags_laplace_against_gaussian) {
  // Test of the test: the same property with a Laplace delta source must fail.
  EXPECT_TRUE(falsified("laplace", [] { check_tiers_vanish(Shape::laplace); }));
}

// ---- High resolution: D_delta / D_V approaches the determinant ratio as the bits grow ----
// One 2-D block, Sigma_V isotropic, Sigma_delta anisotropic (condition c in 100..1000). At 1 bit the
// two cells split the long axis: r_delta = (1 - 2/pi) sqrt(c) + 1/sqrt(c) against r_V = 2 - 2/pi, a
// log gap of 1 to 2; at 7 bits both sources are near the high-resolution regime (gap: sampling noise,
// ~0.02 at n = 8000).
RC_GTEST_PROP(B1, distortion_ratio_approaches_determinant_ratio, ()) {
  const std::uint64_t seed = *rc::gen::arbitrary<std::uint64_t>();
  const double cond = std::pow(10.0, *rc::gen::inRange(200, 300) / 100.0);
  std::mt19937_64 rng(seed);
  const std::size_t n = 8000;
  const auto v = draw(rng, Shape::gaussian, n, 2, {1, 0, 0, 1}, 1.0);
  const auto dl = draw(rng, Shape::gaussian, n, 2, {1, 0, 0, 1 / std::sqrt(cond)}, 0.3);
  auto gap = [&](int bits) {
    PqOptions o;
    o.shape = {2, 1, bits};
    o.transform = PqTransform::identity;
    o.kmeans.iterations = 100;
    o.kmeans.seed = seed;
    o.knn_max_points = 50;  // the kNN tier is not under test here
    const PqReport p = audit(v, dl, n, 2, o);
    // log (D_delta/D_V) - log (A_delta/A_V) = log r_delta - log r_V
    return ref::to_double(abs(log(p.blocks[0].delta.ratio) - log(p.blocks[0].v.ratio)));
  };
  const double low = gap(1), high = gap(7);
  RC_LOG() << "cond " << cond << ": |log ratio gap| 1 bit " << low << ", 7 bits " << high << "\n";
  RC_ASSERT(high < low);
}

}  // namespace
}  // namespace dpq::props
