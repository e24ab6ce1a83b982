// A3 on the adaptive path (issue 16): the double enclosures of the covariance and of alpha*, and every
// verdict they decide, against the full MPFR path on the same rows -- including the tight cases where the
// full path's answer is "undecided" (Sigma_delta = Sigma_V exactly).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <random>

#include "deltapq/reference/adaptive.h"
#include "support.h"

namespace dpq::props {
namespace {

using ref::Certified;
using ref::Verdict;

// Two row sets of d columns: V's rows, and delta's rows -- independent ones, or V's own rows times a dyadic
// s (alpha* = s^2 exactly; s = 1 is the tie). Columns are mixed and scaled over six decades.
struct RowPair {
  std::vector<double> v, delta;
  std::size_t tokens_v = 0, tokens_delta = 0, dim = 0;
  double s = 0;  // 0: independent rows
};

rc::Gen<RowPair> gen_row_pair() {
  return rc::gen::exec([] {
    RowPair p;
    p.dim = static_cast<std::size_t>(*rc::gen::inRange(1, 13));
    p.tokens_v = p.dim + 2 + static_cast<std::size_t>(*rc::gen::inRange(0, 40));
    const int mode = *rc::gen::inRange(0, 4);  // 0, 1: independent; 2: s = 1; 3: s = 1/2 or 2
    std::mt19937_64 rng(*rc::gen::arbitrary<std::uint64_t>());
    std::normal_distribution<double> g;
    std::uniform_real_distribution<double> decade(-3, 3);
    const std::size_t d = p.dim;
    std::vector<double> mix(d * d), scale(d);
    for (auto& m : mix) m = g(rng);
    for (auto& c : scale) c = std::pow(10.0, decade(rng));
    auto rows = [&](std::size_t n, double shift) {
      std::vector<double> out(n * d);
      std::vector<double> z(d);
      for (std::size_t t = 0; t < n; ++t) {
        for (auto& zi : z) zi = g(rng);
        for (std::size_t j = 0; j < d; ++j) {
          double acc = shift;
          for (std::size_t k = 0; k < d; ++k) acc += mix[j * d + k] * z[k];
          out[t * d + j] = acc * scale[j];
        }
      }
      return out;
    };
    p.v = rows(p.tokens_v, 100.0);  // a large mean: the centring must not cost accuracy
    if (mode <= 1) {
      p.tokens_delta = p.tokens_v - 1;
      p.delta = rows(p.tokens_delta, 0.0);
      for (auto& x : p.delta) x *= mode == 0 ? 0.3 : 1.5;
    } else {
      p.s = mode == 2 ? 1.0 : (*rc::gen::arbitrary<bool>() ? 0.5 : 2.0);
      p.tokens_delta = p.tokens_v;
      p.delta = p.v;
      for (auto& x : p.delta) x *= p.s;  // exact: a power of two
    }
    return p;
  });
}

// The comparator: the cheap layer's enclosures contain the full path's values, and every verdict the cheap
// layer decides is the full path's verdict. `shrink` scales the cheap alpha's error (1 = as certified).
void check_adaptive_agrees(const RowPair& p, double shrink) {
  const auto cv = ref::covariance_double(p.v.data(), p.tokens_v, p.dim);
  const auto cd = ref::covariance_double(p.delta.data(), p.tokens_delta, p.dim);
  RC_ASSERT(cv.has_value());
  RC_ASSERT(cd.has_value());
  const RMatrix sv = ref::sample_moments(ref::to_real(p.v.data(), p.tokens_v, p.dim)).covariance;
  const RMatrix sd = ref::sample_moments(ref::to_real(p.delta.data(), p.tokens_delta, p.dim)).covariance;
  // The covariance's componentwise bound (the full path's own rounding is one division, ~2^-256 relative).
  auto check_covariance = [](const ref::DoubleCovariance& c, const RMatrix& exact) {
    for (Eigen::Index i = 0; i < exact.rows(); ++i)
      for (Eigen::Index j = 0; j < exact.cols(); ++j) {
        const Real bound = Real(c.scaled_error * c.scale(i) * c.scale(j) + c.mean_error(i) * c.mean_error(j) + c.extra_error) +
                           ldexp(abs(exact(i, j)), -200);
        RC_ASSERT(abs(Real(c.sigma(i, j)) - exact(i, j)) <= bound);
      }
  };
  check_covariance(*cv, sv);
  check_covariance(*cd, sd);
  const auto cheap = ref::domination_factor_enclosure(*cd, *cv);
  RC_TAG(cheap ? "cheap" : "escalated", p.s == 1.0 ? "tie" : "generic");
  if (!cheap) return;  // escalation is always allowed; the generic cases must mostly stay cheap (see the tags)
  const ref::DominationFactor full = ref::domination_factor(sd, sv);
  RC_ASSERT(full.finite);
  const Real diff = abs(cheap->factor.alpha.value - full.alpha.value);
  RC_ASSERT(diff <= cheap->factor.alpha.error * Real(shrink) + full.alpha.error);
  if (p.s > 0) RC_ASSERT(abs(cheap->factor.alpha.value - Real(p.s * p.s)) <= cheap->factor.alpha.error * Real(shrink));
  const Certified one{Real(1), Real(0)};
  const Verdict cheap_dominated = ref::verdict_le(cheap->for_decisions(), one);
  if (cheap_dominated != Verdict::undecided) RC_ASSERT(cheap_dominated == ref::verdict_le(full.alpha, one));
  if (p.s == 1.0) RC_ASSERT(cheap_dominated == Verdict::undecided);
  if (const auto lo = ref::loewner_from_alpha(*cheap, *cd, *cv)) RC_ASSERT(*lo == ref::loewner_le(sd, sv).verdict);
  else if (p.s > 0 && p.s != 1.0) RC_FAIL("a dyadic s != 1 leaves a wide margin: the cheap Loewner verdict must decide");
}

RC_GTEST_PROP(A3, adaptive_alpha_agrees_with_the_full_path, ()) { check_adaptive_agrees(*gen_row_pair(), 1.0); }

// Tests of the test: an enclosure a million times narrower than certified is caught (the true errors are
// ~1e-16 relative, the certified ones ~1e-13 and more), and so is a claimed Loewner verdict on a tie.
TEST(A3, adaptive_comparator_rejects_a_narrowed_enclosure) {
  EXPECT_TRUE(falsified("alpha error x 1e-6", [] { check_adaptive_agrees(*gen_row_pair(), 1e-6); }));
}

TEST(A3, adaptive_comparator_rejects_a_decided_tie) {
  EXPECT_TRUE(falsified("tie reported as dominated", [] {
    RowPair p = *gen_row_pair();
    RC_PRE(p.s == 1.0);
    const auto cv = ref::covariance_double(p.v.data(), p.tokens_v, p.dim);
    auto cheap = ref::domination_factor_enclosure(*cv, *cv);
    RC_PRE(cheap.has_value());
    cheap->factor.alpha.error = Real(0);  // the mutant: no enclosure width, no widening
    cheap->full_path_error = 0;
    RC_ASSERT(ref::verdict_le(cheap->factor.alpha, {Real(1), Real(0)}) == Verdict::undecided);
  }));
}

}  // namespace
}  // namespace dpq::props
