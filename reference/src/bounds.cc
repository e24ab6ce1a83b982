#include "deltapq/reference/bounds.h"

#include "deltapq/core/error.h"

namespace dpq::ref {
namespace {

Real pow4_neg(int bits) { return ldexp(Real(1), -2 * bits); }  // 4^{-b}, exact

void require_bits_match(const SymmetricEigen& eig, const std::vector<int>& bits, const char* what) {
  if (static_cast<std::size_t>(eig.values.size()) != bits.size())
    throw Error(std::string(what) + ": " + std::to_string(eig.values.size()) + " eigenvalues but " +
                std::to_string(bits.size()) + " bit widths");
  for (std::size_t i = 0; i < bits.size(); ++i)
    if (bits[i] < 0 || bits[i] > kMaxBits)
      throw Error(std::string(what) + ": bits[" + std::to_string(i) + "] = " + std::to_string(bits[i]) +
                  " is outside 0..16");
}

void require_kappa(const Real& kappa) {
  if (!(kappa > 0) || !isfinite(kappa)) throw Error("kappa = " + to_string(kappa, 6) + " must be positive and finite");
}

// sum_i max(lambda_i, 0) w_i with the eigenvalue radii carried into the error (w_i >= 0).
Certified weighted_eigen_sum(const SymmetricEigen& eig, const RVector& weight) {
  Real value(0), err(0);
  for (Eigen::Index i = 0; i < weight.size(); ++i) {
    value += std::max(Real(eig.values(i)), Real(0)) * weight(i);
    err += eig.radius(i) * weight(i);
  }
  return {value, err + rounding_slack(value, 3.0 * static_cast<double>(weight.size()))};
}

}  // namespace

// A2
Real bounded_support_bound(const RealDesign& design) {
  validate_design(design);
  Real s(0);
  for (std::size_t i = 0; i < design.dim(); ++i) s += design.clip[i] * design.clip[i] * pow4_neg(design.bits[i]);
  return s;
}

// A2, matched form
Certified bounded_support_bound_matched(const SymmetricEigen& eig, const Real& kappa, const std::vector<int>& bits) {
  require_bits_match(eig, bits, "A2 matched bound");
  require_kappa(kappa);
  RVector w(eig.values.size());
  for (Eigen::Index i = 0; i < w.size(); ++i) w(i) = kappa * kappa * pow4_neg(bits[i]);
  return weighted_eigen_sum(eig, w);
}

// A2 trace corollary
Certified trace_corollary_bound(const SymmetricEigen& eig, const Real& kappa, const std::vector<int>& bits) {
  require_bits_match(eig, bits, "A2 trace corollary");
  require_kappa(kappa);
  int min_bits = kMaxBits;
  for (int b : bits) min_bits = std::min(min_bits, b);
  return weighted_eigen_sum(eig, RVector::Constant(eig.values.size(), kappa * kappa * pow4_neg(min_bits)));
}

// A4
ComparativeBound comparative_bounded_support(const SymmetricEigen& eig_delta, const SymmetricEigen& eig_v,
                                             const DominationFactor& alpha, const Real& kappa,
                                             const std::vector<int>& bits) {
  ComparativeBound out;
  out.bound_delta = bounded_support_bound_matched(eig_delta, kappa, bits);
  out.bound_v = bounded_support_bound_matched(eig_v, kappa, bits);
  out.alpha_finite = alpha.finite;
  if (alpha.finite) {
    const Real v = alpha.alpha.value * out.bound_v.value;
    out.alpha_bound_v = {v, alpha.alpha.error * out.bound_v.value + alpha.alpha.value * out.bound_v.error +
                                alpha.alpha.error * out.bound_v.error + rounding_slack(v, 1)};
    out.ordering = verdict_le(out.bound_delta, out.alpha_bound_v);
  } else {
    out.alpha_bound_v = {std::numeric_limits<Real>::infinity(), Real(0)};
    out.ordering = Verdict::holds;  // any finite bound is below +inf
  }
  out.advantage = verdict_lt(out.bound_delta, out.bound_v);
  return out;
}

// A5, sample-wise with the exact empirical overload term
ClippedBound clipped_bound_empirical(const RMatrix& coords, const RealDesign& design) {
  validate_design(design);
  const Eigen::Index d = coords.cols();
  if (static_cast<std::size_t>(d) != design.dim())
    throw Error("A5 bound: sample has " + std::to_string(d) + " coordinates, design has " + std::to_string(design.dim()));
  ClippedBound out{RVector::Zero(d), RVector::Zero(d), Real(0)};
  const auto n = static_cast<double>(coords.rows());
  const Real inv_t = Real(1) / Real(n);
  const Real u = unit_roundoff();
  Real term_error(0);
  for (Eigen::Index i = 0; i < d; ++i) {
    const Real& c = design.clip[i];
    const Real half_step = step(c, design.bits[i]) / 2;
    Real inside(0);
    for (Eigen::Index t = 0; t < coords.rows(); ++t) {
      const Real a = abs(coords(t, i));
      if (a <= c) {
        inside += 1;
      } else {
        const Real e = a - c + half_step;  // cancels: error relative to |y| + c, not to e
        out.overload(i) += e * e;
        term_error += squared_difference_error(e, u * Real(2) * (a + c + half_step));
      }
    }
    out.covariance_term(i) = c * c * pow4_neg(design.bits[i]) * inside * inv_t;
    out.overload(i) *= inv_t;
  }
  out.error = term_error * inv_t + rounding_slack(out.total(), n + 4);
  return out;
}

// A5, moment form: O_i <= E[Y_i^4] / c_i^2
ClippedBound clipped_bound_moment(const RMatrix& coords, const RealDesign& design) {
  ClippedBound out = clipped_bound_empirical(coords, design);
  const auto n = static_cast<double>(coords.rows());
  const Real inv_t = Real(1) / Real(n);
  for (Eigen::Index i = 0; i < coords.cols(); ++i) {
    Real m4(0);
    for (Eigen::Index t = 0; t < coords.rows(); ++t) {
      const Real y2 = coords(t, i) * coords(t, i);
      m4 += y2 * y2;
    }
    out.overload(i) = m4 * inv_t / (design.clip[i] * design.clip[i]);
  }
  // Every term is a product/sum of non-negative values: no cancellation.
  out.error = rounding_slack(out.total(), n + 8);
  return out;
}

// A5, model form
Certified clipped_bound_model(const SymmetricEigen& eig, const Real& kappa, const std::vector<int>& bits,
                              const TailModel& model) {
  require_bits_match(eig, bits, "A5 model bound");
  require_kappa(kappa);
  const Real inside = inside_probability(model, kappa);
  RVector w(eig.values.size());
  Real tau_err(0);
  for (Eigen::Index i = 0; i < w.size(); ++i) {
    const Certified tau = tail_functional(model, kappa, bits[i]);
    w(i) = kappa * kappa * pow4_neg(bits[i]) * inside + tau.value;
    tau_err += std::max(Real(eig.values(i)), Real(0)) * tau.error;
  }
  Certified out = weighted_eigen_sum(eig, w);
  // P(|Z| <= kappa) comes from Boost's erf / incomplete beta / incomplete gamma: relative accuracy
  // 2^-kSpecialFunctionAccuracyBits (measured in tests/reference_test.cc), not the working precision.
  out.error += tau_err + ldexp(out.value, -kSpecialFunctionAccuracyBits) * 2;
  return out;
}

RVector empirical_tail_functional(const RMatrix& coords, const RVector& lambda, const Real& kappa,
                                  const std::vector<int>& bits) {
  require_kappa(kappa);
  const Eigen::Index d = coords.cols();
  RVector tau = RVector::Zero(d);
  const Real inv_t = Real(1) / Real(static_cast<double>(coords.rows()));
  for (Eigen::Index i = 0; i < d; ++i) {
    if (!(lambda(i) > 0)) continue;
    const Real scale = Real(1) / sqrt(lambda(i));
    const Real h = ldexp(kappa, -bits[i]);
    for (Eigen::Index t = 0; t < coords.rows(); ++t) {
      const Real z = abs(coords(t, i)) * scale;
      if (z > kappa) {
        const Real e = z - kappa + h;
        tau(i) += e * e;
      }
    }
    tau(i) *= inv_t;
  }
  return tau;
}

// A6
Certified a6_bound(const SymmetricEigen& eig, const Real& kappa, const std::vector<int>& bits, const RVector& tau) {
  require_bits_match(eig, bits, "A6 bound");
  require_kappa(kappa);
  RVector w(tau.size());
  for (Eigen::Index i = 0; i < w.size(); ++i) w(i) = kappa * kappa * pow4_neg(bits[i]) + tau(i);
  return weighted_eigen_sum(eig, w);
}

std::optional<int> first_tail_domination_violation(const RVector& tau_delta, const RVector& tau_v) {
  for (Eigen::Index i = 0; i < tau_delta.size(); ++i)
    if (tau_delta(i) > tau_v(i)) return static_cast<int>(i);
  return std::nullopt;
}

// A6 necessity
A6Counterexample a6_counterexample(const RVector& lambda_v, const Real& scale, const TailModel& delta_model,
                                   const TailModel& v_model, int bits) {
  if (!(scale > 0) || !(scale < 1)) throw Error("A6 counterexample: scale = " + to_string(scale, 6) + " must be in (0, 1)");
  SymmetricEigen ev;
  ev.values = lambda_v;
  ev.radius = RVector::Zero(lambda_v.size());
  SymmetricEigen ed = ev;
  ed.values = lambda_v * scale;  // Sigma_delta = s Sigma_V <= Sigma_V
  const std::vector<int> b(static_cast<std::size_t>(lambda_v.size()), bits);
  A6Counterexample out;
  out.scale = scale;
  out.bits = bits;
  for (int step = 1; step <= 32; ++step) {  // kappa = 0.25, 0.5, ..., 8
    const Real kappa = Real(step) / 4;
    const Certified td = tail_functional(delta_model, kappa, bits);
    const Certified tv = tail_functional(v_model, kappa, bits);
    const Certified bd = a6_bound(ed, kappa, b, RVector::Constant(lambda_v.size(), td.value));
    const Certified bv = a6_bound(ev, kappa, b, RVector::Constant(lambda_v.size(), tv.value));
    const Real lsum = lambda_v.sum();
    const Certified bd_c{bd.value, bd.error + lsum * scale * td.error};
    const Certified bv_c{bv.value, bv.error + lsum * tv.error};
    if (verdict_le(bv_c, bd_c) == Verdict::holds && bd_c.value > bv_c.value) {
      out.found = true;
      out.kappa = kappa;
      out.bound_delta = bd_c;
      out.bound_v = bv_c;
      return out;
    }
  }
  return out;
}

}  // namespace dpq::ref
