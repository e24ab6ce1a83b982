// The audit's adaptive path (issue 16) against its full MPFR path on the same stream: the A2, A4, A5 and A6
// entries (and A3's alpha* and Loewner premise behind them) must carry the same verdicts, readings and
// premises, every certified value must agree within the two certified errors, and the tail functional
// within its error. Streams include lattice-valued ones, whose coordinates can sit exactly on a cell
// boundary or a clip (the adaptive path must then decline or agree), and equal bits, where the trace
// corollary is undecided by design.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <random>

#include "deltapq/app/audit.h"
#include "support.h"

namespace dpq::props {
namespace {

using ref::Certified;
using ref::Verdict;

struct AuditCase {
  std::vector<double> rows;
  std::size_t tokens = 0, dim = 0;
  app::AuditOptions options;
};

rc::Gen<AuditCase> gen_audit_case() {
  return rc::gen::exec([] {
    AuditCase c;
    c.dim = static_cast<std::size_t>(*rc::gen::inRange(1, 7));
    c.tokens = c.dim + 2 + static_cast<std::size_t>(*rc::gen::inRange(0, 50));
    const int mode = *rc::gen::inRange(0, 3);  // 0: AR(1) Gaussian; 1: heavy-tailed; 2: small integers (a lattice)
    std::mt19937_64 rng(*rc::gen::arbitrary<std::uint64_t>());
    std::normal_distribution<double> g;
    std::student_t_distribution<double> heavy(3.0);
    std::uniform_int_distribution<int> lattice(-2, 2);
    const double scale = std::pow(10.0, *rc::gen::inRange(-4, 5));
    std::vector<double> state(c.dim, 0.0);
    for (std::size_t t = 0; t < c.tokens; ++t)
      for (std::size_t i = 0; i < c.dim; ++i) {
        double v;
        if (mode == 0) v = state[i] = 0.9 * state[i] + g(rng);
        else if (mode == 1) v = heavy(rng);
        else v = lattice(rng);
        c.rows.push_back(mode == 2 ? v : v * scale + 50 * scale);
      }
    c.options.bits = *rc::gen::inRange(0, 9);
    c.options.kappa = ref::Real(*rc::gen::element(0.5, 1.0, 2.0, 3.0, 4.5));
    c.options.bootstrap.enabled = false;
    c.options.allow_small_sample = true;
    return c;
  });
}

// `shrink` scales the adaptive report's certified errors (1: as certified).
void check_adaptive_audit(const AuditCase& c, double shrink) {
  app::AuditOptions full_options = c.options;
  full_options.full_precision = true;
  app::AuditReport a, f;
  try {
    a = app::run_audit(c.rows, c.tokens, c.dim, c.options, "<adaptive>");
  } catch (const Error&) {
    RC_ASSERT_THROWS_AS(app::run_audit(c.rows, c.tokens, c.dim, full_options, "<full>"), Error);  // the same refusal
    return;
  }
  f = app::run_audit(c.rows, c.tokens, c.dim, full_options, "<full>");
  RC_TAG(a.v.coordinates_adaptive ? "V coordinates double" : "V coordinates mpfr",
         a.alpha_adaptive ? "alpha double" : "alpha mpfr");
  RC_ASSERT(!f.v.coordinates_adaptive && !f.alpha_adaptive && !f.loewner_adaptive);
  RC_ASSERT(a.loewner == f.loewner);
  RC_ASSERT(a.alpha.finite == f.alpha.finite);
  const Real tiny = ldexp(Real(1), -200);
  auto agree = [&](const Certified& x, const Certified& y) {
    RC_ASSERT(abs(x.value - y.value) <= x.error * Real(shrink) + y.error + tiny * (abs(x.value) + abs(y.value)));
  };
  if (a.alpha.finite) agree(a.alpha.alpha, f.alpha.alpha);
  RC_ASSERT(a.theorems.size() == f.theorems.size());
  for (std::size_t k = 0; k < a.theorems.size(); ++k) {
    const app::TheoremEntry& x = a.theorems[k];
    const app::TheoremEntry& y = f.theorems[k];
    RC_ASSERT(x.id == y.id);
    RC_ASSERT(x.claim == y.claim);
    RC_ASSERT(x.source == y.source);
    RC_ASSERT(x.verdict == y.verdict);
    RC_ASSERT(x.reading() == y.reading());
    RC_ASSERT(x.premises.size() == y.premises.size());
    for (std::size_t p = 0; p < x.premises.size(); ++p) RC_ASSERT(x.premises[p].verdict == y.premises[p].verdict);
    if (isfinite(x.measured.value) || isfinite(y.measured.value)) agree(x.measured, y.measured);
    if (isfinite(x.bound.value) || isfinite(y.bound.value)) agree(x.bound, y.bound);
  }
  for (const auto* src : {&a.v, &a.delta}) {
    const app::SourceSummary& other = src == &a.v ? f.v : f.delta;
    agree(src->distortion_support, other.distortion_support);
    agree(src->distortion_matched, other.distortion_matched);
    for (Eigen::Index i = 0; i < src->tau.size(); ++i)
      RC_ASSERT(abs(src->tau(i) - other.tau(i)) <= src->tau_error(i) * Real(shrink) + tiny * (src->tau(i) + other.tau(i)));
  }
}

RC_GTEST_PROP(A5, adaptive_audit_agrees_with_the_full_path, ()) { check_adaptive_audit(*gen_audit_case(), 1.0); }

// Test of the test: with the adaptive path's certified errors taken away, the two paths' values differ by
// more than the full path's ~2^-250 errors, so the comparator must catch it.
TEST(A5, adaptive_audit_comparator_rejects_dropped_errors) {
  EXPECT_TRUE(falsified("adaptive errors x 0", [] { check_adaptive_audit(*gen_audit_case(), 0.0); }));
}

}  // namespace
}  // namespace dpq::props
