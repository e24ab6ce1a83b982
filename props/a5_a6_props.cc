// A5 (clipped finite-second-moment bound) and A6 (comparative clipped theorem, necessity of tails).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <boost/math/quadrature/exp_sinh.hpp>
#include <cmath>
#include <limits>

#include "deltapq/reference/bounds.h"
#include "support.h"

namespace dpq::props {
namespace {

using ref::Certified;
using ref::TailModel;
using ref::Verdict;

struct Prepared {
  RMatrix y;
  ref::SymmetricEigen eig;
};
Prepared prepare(const RMatrix& x) {
  const auto m = ref::sample_moments(x);
  Prepared p{RMatrix(), ref::symmetric_eigen(m.covariance, "Sigma")};
  p.y = ref::eigen_coordinates(x, m.mean, p.eig.vectors);
  return p;
}

// The A5 comparator: measured D against a bound, sample-wise.
void check_a5(const Prepared& p, const ref::RealDesign& design, const ref::ClippedBound& bound) {
  RC_ASSERT(ref::verdict_le(ref::empirical_distortion(p.y, design).certified(), bound.certified()) != Verdict::fails);
}

RC_GTEST_PROP(A5, clipped_bound_holds_samplewise, ()) {
  const SampleCase c = *gen_sample_case(10, 300);
  RC_TAG(family_name(c.family));
  const Prepared p = prepare(draw_sample(c));
  const auto design = ref::matched_design(p.eig.values, Real(*gen_kappa()), *gen_bits(c.dim));
  check_a5(p, design, ref::clipped_bound_empirical(p.y, design));
  check_a5(p, design, ref::clipped_bound_moment(p.y, design));
}

TEST(A5, comparator_rejects_a_bound_without_the_overload_term) {
  const auto ok = falsified("overload dropped", [] {
    SampleCase c = *gen_sample_case(4, 300);
    c.family = Family::student_t;
    c.shape = 2.5;
    c.tokens = 300;
    const Prepared p = prepare(draw_sample(c));
    const auto design = ref::matched_design(p.eig.values, Real(1), std::vector<int>(c.dim, 8));
    ref::ClippedBound wrong = ref::clipped_bound_empirical(p.y, design);
    wrong.overload.setZero();
    check_a5(p, design, wrong);
  });
  EXPECT_TRUE(ok);
}

// Quadrature of tau against Monte-Carlo, with a non-asymptotic interval. The integrand
// e = (|Z| - kappa + h)^2 1{|Z| > kappa} is unbounded and, for light tails and large kappa, a few
// hundred exceedances among 1e5 zeros: so skewed that a CLT interval of 5 standard errors failed at
// far more than its nominal rate (seed 3650653311009158918). Median of means needs only a variance
// bound: split the n draws into k = 29 blocks; by Chebyshev a block mean leaves
// tau +- 3 s / sqrt(n / k) with probability <= 1/9, and the median leaves it only if 15 of the 29
// blocks do: P(Bin(29, 1/9) >= 15) = 8.1e-8 per case. s^2 <= E e^2, from the model's density by
// quadrature (an independent integral: the fourth power, never computed by the code under test).
// Student-t nu > 4 keeps E e^2 finite; nu >= 8.5 here as before.
constexpr int kMomBlocks = 29;
constexpr double kMomChebyshev = 3;

// E[e^2] = 2 int_kappa^inf (z - kappa + h)^4 f(z) dz, as an upper bound: the quadrature's error
// estimate is added and 2^-20 relative covers the double evaluation of f (a few ulp per point).
double second_moment_bound(const TailModel& m, double kappa, double h) {
  boost::math::quadrature::exp_sinh<double> integrator;
  double error = 0;
  const double v = integrator.integrate(
      [&](double z) {
        const double f = ref::to_double(ref::model_density(m, Real(z)));
        if (f == 0) return 0.0;  // far out, where e^4 may overflow
        const double e = z - kappa + h;
        return e * e * e * e * f;
      },
      kappa, std::numeric_limits<double>::infinity(), 1e-10, &error);
  return 2 * (v + error) * (1 + 0x1p-20);
}

// The sample size that makes the interval at most kRelativeWidth of the claimed tau (so a claim off
// by a factor 2 is always rejected), at least 1e5; cases needing more than 4e6 draws are skipped.
constexpr double kRelativeWidth = 0.2;
void check_tau_mc(const TailModel& m, double kappa, int bits, std::uint64_t seed, double tau) {
  const double h = std::ldexp(kappa, -bits);
  const double s = std::sqrt(second_moment_bound(m, kappa, h));
  const double factor = kMomChebyshev * std::sqrt(double{kMomBlocks});
  const double wanted = std::ceil(std::pow(factor * s / (kRelativeWidth * tau), 2));
  RC_PRE(wanted <= 4e6);
  const std::size_t block = static_cast<std::size_t>(std::ceil(std::max(1e5, wanted) / kMomBlocks));
  const std::size_t n = block * kMomBlocks;
  const auto z = draw_model(m, n, seed);
  std::vector<double> means(kMomBlocks);
  for (int j = 0; j < kMomBlocks; ++j) {
    double sum = 0;
    for (std::size_t i = j * block; i < (j + 1) * block; ++i) {
      const double a = std::fabs(z[i]);
      sum += a > kappa ? (a - kappa + h) * (a - kappa + h) : 0.0;
    }
    means[j] = sum / static_cast<double>(block);
  }
  std::nth_element(means.begin(), means.begin() + kMomBlocks / 2, means.end());
  const double median = means[kMomBlocks / 2];
  const double width = factor * s / std::sqrt(static_cast<double>(n));
  // Rounding (Higham): each term is three roundings from the exact e(a) of the drawn double, the
  // recursive sum of a block's non-negative terms block - 1 more and the division one more, so
  // |block mean - exact| <= gamma_{block+3} mean; tau arrives rounded to double (u tau).
  const double u = 0x1p-53, nu = (static_cast<double>(block) + 3) * u;
  RC_ASSERT(std::fabs(median - tau) <= width + nu / (1 - nu) * median + u * tau);
}

rc::Gen<TailModel> gen_mc_model() {
  return rc::gen::exec([] {
    switch (*rc::gen::inRange(0, 3)) {
      case 0: return TailModel::gaussian();
      case 1: return TailModel::student_t(Real(*rc::gen::inRange(85, 301) / 10.0));
      default: return TailModel::gen_gaussian(Real(*rc::gen::inRange(5, 41) / 10.0));
    }
  });
}

RC_GTEST_PROP(A5, tail_functional_quadrature_matches_monte_carlo, ()) {
  const TailModel m = *gen_mc_model();
  const double kappa = *rc::gen::inRange(5, 31) / 10.0;  // [0.5, 3]: enough tail mass to estimate
  const int bits = *rc::gen::inRange(0, 17);
  RC_TAG(m.name());
  check_tau_mc(m, kappa, bits, *rc::gen::arbitrary<std::uint64_t>(), ref::to_double(ref::tail_functional(m, Real(kappa), bits).value));
}

TEST(A5, monte_carlo_comparator_rejects_a_one_sided_tail) {
  const auto ok = falsified("tau / 2", [] {
    const TailModel m = *gen_mc_model();
    const double kappa = *rc::gen::inRange(5, 21) / 10.0;
    check_tau_mc(m, kappa, 4, *rc::gen::arbitrary<std::uint64_t>(),
                 ref::to_double(ref::tail_functional(m, Real(kappa), 4).value) / 2);
  });
  EXPECT_TRUE(ok);
}

RC_GTEST_PROP(A5, tail_functional_quadrature_matches_closed_form, ()) {
  const bool student = *rc::gen::arbitrary<bool>();
  const TailModel m = student ? TailModel::student_t(Real(*rc::gen::inRange(21, 301) / 10.0))
                              : TailModel::gen_gaussian(Real(*rc::gen::inRange(5, 41) / 10.0));
  const Real kappa(*rc::gen::inRange(5, 81) / 10.0);
  const int bits = *rc::gen::inRange(0, 17);
  const Certified q = ref::tail_functional(m, kappa, bits);
  const Certified closed = ref::tail_functional_closed_form(m, kappa, bits);
  // closed.error comes from the measured accuracy of Boost's incomplete beta/gamma on MPFR
  // (kSpecialFunctionAccuracyBits, checked in tests/reference_test.cc), q.error from tanh-sinh.
  RC_TAG(m.name());
  RC_ASSERT(abs(q.value - closed.value) <= q.error + closed.error);
}

// A6: S_delta <= S_V and tau^delta <= tau^V coordinate-wise => B'^delta <= B'^V.
void check_a6(const ref::SymmetricEigen& ed, const ref::SymmetricEigen& ev, const Real& kappa,
              const std::vector<int>& bits, const RVector& tau_d, const RVector& tau_v) {
  RC_ASSERT(ref::verdict_le(ref::a6_bound(ed, kappa, bits, tau_d), ref::a6_bound(ev, kappa, bits, tau_v)) !=
            Verdict::fails);
}

RC_GTEST_PROP(A6, ordering_under_tail_domination, ()) {
  DominatedPair p = *gen_dominated_pair(32);
  RC_PRE(p.scale <= 1.0);
  const int d = static_cast<int>(p.sigma_v.rows());
  const auto ed = ref::symmetric_eigen(p.sigma_delta, "S_delta");
  const auto ev = ref::symmetric_eigen(p.sigma_v, "S_V");
  RVector tau_v(d), tau_d(d);
  for (int i = 0; i < d; ++i) {
    tau_v(i) = Real(*rc::gen::inRange(0, 1000) / 100.0);
    tau_d(i) = tau_v(i) * Real(*rc::gen::inRange(0, 101) / 100.0);
  }
  RC_ASSERT(!ref::first_tail_domination_violation(tau_d, tau_v));
  check_a6(ed, ev, Real(*gen_kappa()), *gen_bits(d), tau_d, tau_v);
}

RC_GTEST_PROP(A6, counterexample_without_tail_domination, ()) {
  // Student-t nu = 2.5 deltas with half or more of the V covariance against Gaussian V.
  const int d = *rc::gen::inRange(1, 9);
  RVector lambda(d);
  for (int i = 0; i < d; ++i) lambda(i) = Real(*rc::gen::inRange(1, 1000) / 100.0);
  const Real scale(*rc::gen::inRange(50, 96) / 100.0);
  const int bits = *rc::gen::inRange(2, 9);
  const auto ce = ref::a6_counterexample(lambda, scale, TailModel::student_t(Real("2.5")), TailModel::gaussian(), bits);
  RC_ASSERT(ce.found);
  // The A6 comparator, fed the counterexample, must reject it: tail domination is necessary.
  ref::SymmetricEigen ev;
  ev.values = lambda;
  ev.radius = RVector::Zero(d);
  ref::SymmetricEigen ed = ev;
  ed.values = lambda * scale;
  const std::vector<int> b(d, bits);
  const RVector td = RVector::Constant(d, ref::tail_functional(TailModel::student_t(Real("2.5")), ce.kappa, bits).value);
  const RVector tv = RVector::Constant(d, ref::tail_functional(TailModel::gaussian(), ce.kappa, bits).value);
  RC_ASSERT(ref::first_tail_domination_violation(td, tv).has_value());
  RC_ASSERT(ref::verdict_le(ref::a6_bound(ed, ce.kappa, b, td), ref::a6_bound(ev, ce.kappa, b, tv)) == Verdict::fails);
}

}  // namespace
}  // namespace dpq::props
