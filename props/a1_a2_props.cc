// A1 (scalar cell lemma, tie rule) and A2 (bounded-support bound, matched form, trace corollary).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <stdexcept>

#include "deltapq/reference/bounds.h"
#include "support.h"

namespace dpq::props {
namespace {

using ref::Certified;
using ref::Verdict;

// The A1 comparator: both cases of the lemma for one scalar, for any quantizer q.
template <class Quantizer>
void check_a1(const Real& y, const Real& c, int b, Quantizer q) {
  const Real err = abs(y - q(y, c, b));
  const Real half_step = ref::step(c, b) / 2;  // exact
  if (abs(y) <= c) {
    // Rounding is monotone and half_step is representable: no slack is needed.
    RC_ASSERT(err <= half_step);
  } else {
    // Equality up to the rounding of the two sides (at most 2 + 3 operations).
    const Real expected = abs(y) - c + half_step;
    RC_ASSERT(abs(err - expected) <= ref::rounding_slack(abs(y) + c + half_step, 5));
  }
}

Real correct_q(const Real& y, const Real& c, int b) { return ref::quantize(y, c, b); }

// y drawn from the places where the lemma is delicate: exact cell boundaries, +-c, 0, just
// inside and outside the clip, and anywhere in [-3c, 3c].
Real interesting_y(const Real& c, int b) {
  const std::int64_t cells = std::int64_t{1} << b;
  const Real step = ref::step(c, b);
  switch (*rc::gen::inRange(0, 6)) {
    case 0: return -c + Real(static_cast<double>(*rc::gen::inRange<std::int64_t>(0, cells + 1))) * step;
    case 1: return *rc::gen::element(Real(1), Real(-1)) * c;
    case 2: return Real(0);
    case 3: return c * (Real(1) + ldexp(Real(*rc::gen::element(1, -1)), -*rc::gen::inRange(1, 200)));
    case 4: return -c * (Real(1) + ldexp(Real(*rc::gen::element(1, -1)), -*rc::gen::inRange(1, 200)));
    default: return c * Real(*rc::gen::inRange(-3000000, 3000001) / 1e6);
  }
}

RC_GTEST_PROP(A1, scalar_cell_lemma_holds_for_every_scalar, ()) {
  const int b = *rc::gen::inRange(0, 17);
  const Real c = Real(*rc::gen::inRange(1, 1000000) / 1000.0);
  const Real y = interesting_y(c, b);
  RC_TAG(b);
  check_a1(y, c, b, correct_q);
}

RC_GTEST_PROP(A1, boundary_values_go_to_the_upper_cell, ()) {
  const int b = *rc::gen::inRange(1, 17);
  const Real c = Real(*rc::gen::inRange(1, 1000000) / 1000.0);
  const std::int64_t cells = std::int64_t{1} << b;
  const std::int64_t k = *rc::gen::inRange<std::int64_t>(0, cells);
  const Real y = -c + Real(static_cast<double>(k)) * ref::step(c, b);  // exact boundary
  RC_ASSERT(ref::quantize_index(y, c, b) == k);
  RC_ASSERT(ref::quantize_index(c, c, b) == cells - 1);  // +c: clamped into the top cell
  RC_ASSERT(ref::quantize_index(-c, c, b) == 0);
}

// Test of the test: the comparator rejects a quantizer off by one cell, and one with a wrong clip.
TEST(A1, comparator_rejects_an_off_by_one_cell_quantizer) {
  const auto ok = falsified("off-by-one cell", [] {
    const int b = *rc::gen::inRange(1, 17);
    const Real c = Real(*rc::gen::inRange(1, 1000000) / 1000.0);
    check_a1(interesting_y(c, b), c, b, [](const Real& y, const Real& cc, int bb) {
      const std::int64_t k = std::min(ref::quantize_index(y, cc, bb) + 1, (std::int64_t{1} << bb) - 1);
      return ref::reconstruct(k, cc, bb);
    });
  });
  EXPECT_TRUE(ok);
}

TEST(A1, comparator_rejects_a_wrong_clip) {
  const auto ok = falsified("clip 0.9c", [] {
    const int b = *rc::gen::inRange(0, 17);
    const Real c = Real(*rc::gen::inRange(1, 1000000) / 1000.0);
    check_a1(interesting_y(c, b), c, b,
             [](const Real& y, const Real& cc, int bb) { return ref::quantize(y, cc * Real("0.9"), bb); });
  });
  EXPECT_TRUE(ok);
}

// A2 sample-wise, with the support design (|Y_i| <= c_i by construction) and random bits.
void check_a2(const RMatrix& x, const std::vector<int>& bits, double clip_factor) {
  const auto m = ref::sample_moments(x);
  const auto eig = ref::symmetric_eigen(m.covariance, "Sigma");
  const RMatrix y = ref::eigen_coordinates(x, m.mean, eig.vectors);
  ref::RealDesign design = ref::support_design(y, bits);
  for (auto& c : design.clip) c *= Real(clip_factor);
  const Certified measured = ref::empirical_distortion(y, design).certified();
  const Real bound = ref::bounded_support_bound(design);
  const Certified b{bound, ref::rounding_slack(bound, 3 * static_cast<double>(bits.size()))};
  RC_ASSERT(ref::verdict_le(measured, b) != Verdict::fails);
}

RC_GTEST_PROP(A2, bounded_support_bound_holds_samplewise, ()) {
  const SampleCase c = *gen_sample_case(16, 400);
  RC_TAG(family_name(c.family));
  check_a2(draw_sample(c), *gen_bits(c.dim), 1.0);
}

TEST(A2, comparator_rejects_a_design_that_does_not_cover_the_support) {
  // Shrinking every clip to 1/4 of the support violates A2's premise: the bound must then fail.
  const auto ok = falsified("clip = support / 4", [] {
    SampleCase c = *gen_sample_case(6, 200);
    c.tokens = std::max(c.tokens, 50);
    check_a2(draw_sample(c), std::vector<int>(static_cast<std::size_t>(c.dim), 8), 0.25);
  });
  EXPECT_TRUE(ok);
}

// The harness of every test of a test: only a counterexample is a catch. A property that throws,
// gives up (every case discarded) or passes is not.
TEST(Harness, falsified_counts_only_a_counterexample) {
  EXPECT_TRUE(falsified("a false assertion", [] { RC_ASSERT(*rc::gen::inRange(0, 10) < 0); }));
  EXPECT_FALSE(falsified("an exception", [] { throw std::runtime_error("not a counterexample"); }));
  EXPECT_FALSE(falsified("every case discarded", [] { RC_PRE(*rc::gen::inRange(0, 10) < 0); }));
  EXPECT_FALSE(falsified("a true assertion", [] { RC_ASSERT(*rc::gen::inRange(0, 10) >= 0); }));
}

RC_GTEST_PROP(A2, matched_form_holds_when_support_is_inside_kappa_sigma, ()) {
  const SampleCase c = *gen_sample_case(8, 200);
  const auto bits = *gen_bits(c.dim);
  const Real kappa(*gen_kappa());
  const RMatrix x = draw_sample(c);
  const auto m = ref::sample_moments(x);
  const auto eig = ref::symmetric_eigen(m.covariance, "Sigma");
  const RMatrix y = ref::eigen_coordinates(x, m.mean, eig.vectors);
  const ref::RealDesign design = ref::matched_design(eig.values, kappa, bits);
  bool premise = true;
  for (Eigen::Index i = 0; i < y.cols(); ++i)
    for (Eigen::Index t = 0; t < y.rows(); ++t) premise = premise && abs(y(t, i)) <= design.clip[i];
  RC_CLASSIFY(premise);
  const Certified bound = ref::bounded_support_bound_matched(eig, kappa, bits);
  const Certified trace = ref::trace_corollary_bound(eig, kappa, bits);
  RC_ASSERT(ref::verdict_le(bound, trace) != Verdict::fails);  // trace corollary, always
  // The design as built floors a null direction (lambda_i <= kNullDirection lambda_max: T <= d makes
  // one, its lambda_i ~1e-80 rather than 0) at kappa sqrt(kNullDirection lambda_max) (core's
  // matched_clip). Its bound is sum_i c_i^2 4^-b_i; the matched form kappa^2 sum_i lambda_i 4^-b_i is
  // that only where no clip is floored (a floored coordinate's values ~1e-81 still cost (c/2)^2).
  const Real lambda_max = eig.values.maxCoeff();
  bool floored = false;
  for (Eigen::Index i = 0; i < eig.values.size(); ++i) floored = floored || !(eig.values(i) > lambda_max * Real(kNullDirection));
  RC_CLASSIFY(floored, "a null direction");
  if (premise) {
    const Certified d = ref::empirical_distortion(y, design).certified();
    const Real b_design = ref::bounded_support_bound(design);  // a sum of d non-negative products
    RC_ASSERT(ref::verdict_le(d, Certified{b_design, ref::rounding_slack(b_design, 4.0 * design.dim())}) != Verdict::fails);
    if (!floored) RC_ASSERT(ref::verdict_le(d, bound) != Verdict::fails);
  }
}

}  // namespace
}  // namespace dpq::props
