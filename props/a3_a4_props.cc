// A3 (Loewner facts, domination factor) and A4 (comparative bounded-support theorem).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "deltapq/core/error.h"
#include "deltapq/reference/bounds.h"
#include "support.h"

namespace dpq::props {
namespace {

using ref::Certified;
using ref::Verdict;

// The A3 comparator: every consequence of S_delta <= S_V, none certified false.
void check_a3_monotonicity(const RMatrix& sd, const RMatrix& sv, std::uint64_t seed, bool strict) {
  for (const auto& c : ref::weyl_ordering(sd, sv)) RC_ASSERT(c.verdict != Verdict::fails);
  const auto tr = ref::trace_ordering(sd, sv);
  RC_ASSERT(tr.verdict != Verdict::fails);
  if (strict) RC_ASSERT(tr.verdict == Verdict::holds);  // a nonzero PSD difference has positive trace
  RC_ASSERT(ref::determinant_ordering(sd, sv).verdict != Verdict::fails);
  const int d = static_cast<int>(sd.rows());
  std::vector<int> block;
  for (int i = 0; i < d; ++i)
    if ((seed >> (i % 64)) & 1) block.push_back(i);
  if (block.empty()) block.push_back(static_cast<int>(seed % d));
  RC_ASSERT(ref::principal_block_ordering(sd, sv, block).verdict != Verdict::fails);
  const Factor w = random_factor(seed + 1, d, std::max(1, d - 1), 10.0, 1.0);
  const RMatrix wm = ref::to_real(w.b.data(), d, w.rank).transpose();  // (d-1) x d
  RC_ASSERT(ref::congruence_ordering(sd, sv, wm).verdict != Verdict::fails);
}

RC_GTEST_PROP(A3, loewner_order_implies_every_ordering, ()) {
  DominatedPair p = *gen_dominated_pair(64);
  RC_PRE(p.scale <= 1.0);
  RC_ASSERT(ref::loewner_le(p.sigma_delta, p.sigma_v).verdict != Verdict::fails);
  check_a3_monotonicity(p.sigma_delta, p.sigma_v, *rc::gen::arbitrary<std::uint64_t>(), p.strict);
}

TEST(A3, comparator_rejects_a_reversed_pair) {
  const auto ok = falsified("reversed", [] {
    DominatedPair p = *gen_dominated_pair(12);
    RC_PRE(p.strict && p.scale == 1.0);
    check_a3_monotonicity(p.sigma_v, p.sigma_delta, 12345, true);  // S_V <= S_delta is false
  });
  EXPECT_TRUE(ok);
}

// alpha* dominates at alpha* and fails below it.
void check_alpha_minimal(const RMatrix& sd, const RMatrix& sv, const ref::DominationFactor& a) {
  RC_ASSERT(a.finite);
  const Eigen::Index d = sv.rows();
  // Dominates at alpha*: lambda_min(alpha* S_V - S_delta) >= 0, allowing alpha*'s own error.
  const RMatrix scaled = sv * a.alpha.value;
  const auto lo = ref::loewner_le(sd, scaled);
  const ref::SymmetricEigen ev = ref::symmetric_eigen(sv, "S_V");
  Certified gap = lo.min_eigenvalue_of_difference;
  gap.error += a.alpha.error * (ev.values(0) + ev.radius(0)) +
               ref::rounding_slack(a.alpha.value * sv.norm(), 2.0 * static_cast<double>(d));
  RC_ASSERT(ref::verdict_le({Real(0), Real(0)}, gap) != Verdict::fails);
  // Fails below: the witness v has v^T S_V v = 1, v^T S_delta v = alpha*, so at
  // alpha' = alpha* (1 - 2^-64) the form v^T (alpha' S_V - S_delta) v = alpha' - alpha* < 0.
  if (a.alpha.value > 0) {
    const Real below = a.alpha.value * (Real(1) - ldexp(Real(1), -64));
    const Real qv = a.witness.dot(sv * a.witness);
    const Real qd = a.witness.dot(sd * a.witness);
    const Real form = below * qv - qd;
    const Real mag = (a.witness.cwiseAbs().transpose() * (sv.cwiseAbs() * below + sd.cwiseAbs()) *
                      a.witness.cwiseAbs())(0, 0);
    const Certified f{form, ref::rounding_slack(mag, 2.0 * static_cast<double>(d) + 4)};
    RC_ASSERT(ref::verdict_le(f, {Real(0), Real(0)}) == Verdict::holds);
  }
}

RC_GTEST_PROP(A3, domination_factor_is_minimal, ()) {
  DominatedPair p = *gen_dominated_pair(64);
  const auto a = ref::domination_factor(p.sigma_delta, p.sigma_v);
  RC_ASSERT(a.finite);  // range(S_delta) = range(A) is inside range([A C])
  // alpha* <= scale, since scale A A^T <= scale (A A^T + C C^T).
  RC_ASSERT(ref::verdict_le(a.alpha, {Real(p.scale), Real(0)}) != Verdict::fails);
  check_alpha_minimal(p.sigma_delta, p.sigma_v, a);
}

TEST(A3, minimality_comparator_rejects_an_overestimated_alpha) {
  const auto ok = falsified("alpha* x 1.01", [] {
    DominatedPair p = *gen_dominated_pair(10);
    auto a = ref::domination_factor(p.sigma_delta, p.sigma_v);
    RC_PRE(a.finite && a.alpha.value > 0);
    a.alpha.value *= Real("1.01");
    check_alpha_minimal(p.sigma_delta, p.sigma_v, a);
  });
  EXPECT_TRUE(ok);
}

RC_GTEST_PROP(A3, singular_sigma_v_range_condition, ()) {
  // S_V of rank r < d; S_delta inside its range gives a finite alpha*, one direction outside +inf.
  const SpdCase c = *gen_spd_case(64, false);
  RC_PRE(c.dim >= 2);
  const int r = *rc::gen::inRange(1, c.dim);
  const Factor fv = random_factor(c.seed, c.dim, r, std::pow(10.0, c.log10_condition), 1.0);
  const RMatrix sv = gram(fv);
  const RMatrix bv = ref::to_real(fv.b.data(), c.dim, r);
  const RMatrix inside = bv * bv.transpose() * Real(0.5);
  RC_ASSERT(ref::domination_factor(inside, sv).finite);
  const Factor out = random_factor(c.seed + 7, c.dim, c.dim, 1.0, 1.0);  // full rank: leaves the range
  const auto a = ref::domination_factor(gram(out), sv);
  RC_ASSERT(!a.finite);
  RC_ASSERT(!a.reason.empty());
}

TEST(A3, non_psd_input_is_a_clear_error) {
  ref::RMatrix a(2, 2), b(2, 2);
  a << 1, 0, 0, -1;
  b << 2, 0, 0, 2;
  try {
    ref::domination_factor(a, b);
    FAIL() << "no error for a non-PSD Sigma_delta";
  } catch (const dpq::Error& e) {
    EXPECT_NE(std::string(e.what()).find("not positive semi-definite"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Sigma_delta"), std::string::npos) << e.what();
  }
}

// A4: matched designs, same kappa, same bits by eigen-rank.
void check_a4(const RMatrix& sd, const RMatrix& sv, const std::vector<int>& bits, const Real& kappa,
              bool expect_strict) {
  const auto ed = ref::symmetric_eigen(sd, "S_delta");
  const auto ev = ref::symmetric_eigen(sv, "S_V");
  const auto a = ref::domination_factor(sd, sv);
  const auto cb = ref::comparative_bounded_support(ed, ev, a, kappa, bits);
  RC_ASSERT(cb.ordering != Verdict::fails);
  if (expect_strict) RC_ASSERT(cb.advantage == Verdict::holds);
  else RC_ASSERT(cb.advantage != Verdict::fails);
}

RC_GTEST_PROP(A4, comparative_bound_ordering_and_strictness, ()) {
  DominatedPair p = *gen_dominated_pair(64);
  RC_PRE(p.scale <= 1.0);
  const auto bits = *gen_bits(static_cast<int>(p.sigma_v.rows()));
  // Strict when alpha* <= 1 (scale <= 1) and S_delta != S_V (decided exactly: the entries are exact).
  const bool differs = (p.sigma_v - p.sigma_delta).cwiseAbs().maxCoeff() > 0;
  check_a4(p.sigma_delta, p.sigma_v, bits, Real(*gen_kappa()), differs);
}

TEST(A4, comparator_rejects_a_reversed_pair) {
  const auto ok = falsified("reversed", [] {
    DominatedPair p = *gen_dominated_pair(12);
    RC_PRE(p.strict && p.scale == 1.0);
    check_a4(p.sigma_v, p.sigma_delta, std::vector<int>(p.sigma_v.rows(), 4), Real(3), true);
  });
  EXPECT_TRUE(ok);
}

}  // namespace
}  // namespace dpq::props
