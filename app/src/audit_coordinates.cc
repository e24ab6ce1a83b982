// The audit's coordinate statistics (A2, A5, A6 on one source), on the full path from MPFR eigen-coordinates,
// or on issue 16's cheap path from double coordinates that are certified to lie within eps_t of the full
// path's. Every discrete decision the statistics make -- a coordinate's cell, inside or outside its clip,
// above or below the tail threshold -- is taken from the double coordinate only when it is at least eps_t
// (plus the clip's own uncertainty) away from the decision's boundary, so it is the full path's decision;
// otherwise the cheap path declines and the caller runs the full one. The continuous parts carry their
// perturbation into the certified errors. Derivation: proofs-notes/A5.md ("Adaptive precision").
#include "audit_internal.h"

#include <algorithm>
#include <cmath>

#include "deltapq/core/design.h"
#include "deltapq/reference/adaptive.h"
#include "deltapq/reference/quantizer.h"

namespace dpq::app::detail {
namespace {

using namespace ref;
constexpr double kU = kDoubleRoundoff;
double gamma(double n) { return gamma_double(n); }
using RowMatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// A sum of non-negative doubles with its rounding, then the caller's certified term errors.
struct Accumulator {
  double value = 0, error = 0;
  std::size_t terms = 0;
  void add(double v, double e) {
    value += v;
    error += e;
    ++terms;
  }
  // Enclosure of the exact sum of the exact terms, divided by n.
  Certified certified(double n) const {
    const double g = gamma(static_cast<double>(terms) + 4);
    return {Real(value / n), Real((error * (1 + g) + g * value) / n * (1 + 4 * kU))};
  }
};

// |x^2 - y^2| for |x - y| <= dx, with x's own square rounded once.
double square_error(double x, double dx) { return 2 * std::abs(x) * dx + dx * dx + kU * x * x; }

// The cell of y under clip c with b bits, or -1 when y is within `margin` of an inner cell boundary
// -c + j step (j = 1 .. L - 1): there the full path's cell cannot be inferred.
std::int64_t certain_cell(double y, double c, int b, double margin) {
  const std::int64_t cells = std::int64_t{1} << b;
  if (cells > 1) {
    const double step = (c + c) / static_cast<double>(cells);
    const double j = std::clamp(std::nearbyint((y + c) / step), 1.0, static_cast<double>(cells - 1));
    if (std::abs(y - (-c + j * step)) <= margin) return -1;
  }
  return cell_index(y, c, b);
}

}  // namespace

SourceStatistics full_statistics(const RMatrix& coords, const RVector& lambda, const Real& kappa, const std::vector<int>& bits) {
  SourceStatistics s;
  const RealDesign support = support_design(coords, bits);
  s.distortion_support = empirical_distortion(coords, support).certified();
  const Real b = bounded_support_bound(support);
  s.support_bound = {b, rounding_slack(b, 4.0 * static_cast<double>(support.dim()))};
  const RealDesign matched = matched_design(lambda, kappa, bits);
  s.distortion_matched = empirical_distortion(coords, matched).certified();
  s.exact_overload = clipped_bound_empirical(coords, matched);
  s.moment = clipped_bound_moment(coords, matched);
  s.tau = empirical_tail_functional(coords, lambda, kappa, bits);
  s.tau_error = RVector::Zero(s.tau.size());
  return s;
}

std::optional<SourceStatistics> cheap_statistics(const std::vector<double>& rows, std::size_t tokens, std::size_t dim,
                                                 double row_relative_error, const RVector& mean, const SymmetricEigen& eig,
                                                 const Real& kappa, const std::vector<int>& bits) {
  const auto n = static_cast<Eigen::Index>(tokens), d = static_cast<Eigen::Index>(dim);
  const double nd = static_cast<double>(tokens);
  Eigen::VectorXd mu(d);
  Eigen::MatrixXd basis(d, d);
  for (Eigen::Index i = 0; i < d; ++i) mu(i) = to_double(mean(i));
  for (Eigen::Index i = 0; i < d; ++i)
    for (Eigen::Index j = 0; j < d; ++j) basis(i, j) = to_double(eig.vectors(i, j));
  const Eigen::Map<const RowMatrixD> r(rows.data(), n, d);
  const RowMatrixD z = r.rowwise() - mu.transpose();
  const RowMatrixD y = z * basis;
  if (!y.allFinite()) return std::nullopt;
  // eps_t >= |y_full(t, i) - y(t, i)| for every i: the rows' own rounding, mu and the basis rounded to double,
  // the centring, the product (gamma_d), and the full path's own rounding at p bits, each through a basis
  // column of norm <= 1 + eta (proofs-notes/A5.md).
  const double eta = to_double(eig.orthogonality_defect);
  const double full = full_path_scale(20);
  const double mu_norm = mu.norm();
  const double inflate = (1 + eta) * (1 + 2 * (static_cast<double>(dim) + 8) * kU);
  std::vector<double> eps(tokens);
  double eps_max = 0;
  for (Eigen::Index t = 0; t < n; ++t) {
    const double rn = r.row(t).norm(), zn = z.row(t).norm();
    eps[static_cast<std::size_t>(t)] = (row_relative_error * rn + 1.01 * kU * mu_norm +
                                        (2 * kU + gamma(static_cast<double>(dim) + 2)) * (1 + kU) * zn + full * (rn + mu_norm)) *
                                       inflate;
    eps_max = std::max(eps_max, eps[static_cast<std::size_t>(t)]);
  }

  SourceStatistics s;
  s.cheap = true;
  // A2, support design c_i = max_t |Y_ti|: known to eps_max. A coordinate whose max could be 0 (the full path
  // then uses c = 1) is left to the full path.
  {
    Accumulator dist, bound;
    for (Eigen::Index i = 0; i < d; ++i) {
      const int b = bits[static_cast<std::size_t>(i)];
      double c = 0;
      for (Eigen::Index t = 0; t < n; ++t) c = std::max(c, std::abs(y(t, i)));
      const double delta = eps_max;
      if (!(c > 2 * delta)) return std::nullopt;
      const double w = std::ldexp(1.0, -2 * b);
      bound.add(c * c * w, (2 * c * delta + delta * delta) * w + 2 * kU * c * c * w);
      for (Eigen::Index t = 0; t < n; ++t) {
        const double v = y(t, i), e_t = eps[static_cast<std::size_t>(t)];
        // A cell boundary -c + j step moves by at most delta when c does; so does the reconstruction.
        const std::int64_t k = certain_cell(v, c, b, e_t + delta + 8 * kU * (std::abs(v) + c));
        if (k < 0) return std::nullopt;
        const double e = v - cell_center(k, c, b);
        dist.add(e * e, square_error(e, e_t + delta + 4 * kU * (std::abs(v) + c)));
      }
    }
    s.distortion_support = dist.certified(nd);
    s.support_bound = bound.certified(1.0);
  }
  // A5, matched design: the clips come from the full path's eigenvalues, exactly as there.
  const RealDesign matched = matched_design(eig.values, kappa, bits);
  s.exact_overload = {RVector::Zero(d), RVector::Zero(d), Real(0)};
  s.moment = s.exact_overload;
  s.tau = RVector::Zero(d);
  s.tau_error = RVector::Zero(d);
  Accumulator dist, over;
  Real moment_error(0);
  const double kappa_d = to_double(kappa);
  for (Eigen::Index i = 0; i < d; ++i) {
    const int b = bits[static_cast<std::size_t>(i)];
    const Real& c_full = matched.clip[static_cast<std::size_t>(i)];
    const double c = to_double(c_full), delta = 2 * kU * c;  // |c - c_full| <= u c
    const double half_step = std::ldexp(c, -b);
    const double lambda = std::max(to_double(eig.values(i)), 0.0);
    const bool tail = eig.values(i) > 0;
    const double sqrt_lambda = std::sqrt(lambda), threshold = kappa_d * sqrt_lambda;
    const double h_tail = std::ldexp(kappa_d, -b);
    if (tail && !(sqrt_lambda > 0 && std::isfinite(1 / sqrt_lambda))) return std::nullopt;
    std::size_t inside = 0;
    Accumulator over_i, m4_i, tau_i;
    for (Eigen::Index t = 0; t < n; ++t) {
      const double v = y(t, i), a = std::abs(v), e_t = eps[static_cast<std::size_t>(t)];
      const std::int64_t k = certain_cell(v, c, b, e_t + delta + 8 * kU * (a + c));
      if (k < 0) return std::nullopt;
      const double e = v - cell_center(k, c, b);
      dist.add(e * e, square_error(e, e_t + delta + 4 * kU * (a + c)));
      // Inside the clip or not (A5's P(|Y| <= c) and its overload term).
      if (std::abs(a - c) <= e_t + delta + 4 * kU * (a + c)) return std::nullopt;
      if (a <= c) {
        ++inside;
      } else {
        const double o = a - c + half_step;
        over_i.add(o * o, square_error(o, e_t + 2 * delta + 4 * kU * (a + c)));
      }
      // (a + e)^4 - a^4 expanded: positive terms only, so its own rounding is relative (no cancellation).
      const double a2 = a * a, p = e_t;
      m4_i.add(a2 * a2, (4 * a2 * a * p + 6 * a2 * p * p + 4 * a * p * p * p + p * p * p * p) * (1 + 16 * kU) + 4 * kU * a2 * a2);
      // The tail functional: above kappa sqrt(lambda) or not, then (z - kappa + h)^2 with z = |y| / sqrt(lambda).
      if (tail) {
        if (std::abs(a - threshold) <= e_t + 8 * kU * (a + threshold)) return std::nullopt;
        if (a > threshold) {
          const double zt = a / sqrt_lambda, o = zt - kappa_d + h_tail;
          tau_i.add(o * o, square_error(o, (e_t + 4 * kU * a) / sqrt_lambda + 4 * kU * (zt + kappa_d + h_tail)));
        }
      }
    }
    // The covariance term from the exact count, as the full path forms it.
    const Real cov = c_full * c_full * ldexp(Real(1), -2 * b) * Real(static_cast<double>(inside)) / Real(nd);
    s.exact_overload.covariance_term(i) = cov;
    s.moment.covariance_term(i) = cov;
    const Certified o = over_i.certified(nd), m4 = m4_i.certified(nd), ta = tau_i.certified(nd);
    s.exact_overload.overload(i) = o.value;
    over.add(to_double(o.value), to_double(o.error));
    // O_i <= E Y^4 / c^2, with c's relative error 2u twice.
    const Real c2 = c_full * c_full;
    s.moment.overload(i) = m4.value / c2;
    moment_error += (m4.error + m4.value * Real(8 * kU)) / c2;
    s.tau(i) = ta.value;
    s.tau_error(i) = ta.error;
  }
  s.distortion_matched = dist.certified(nd);
  const Real slack_cov = rounding_slack(s.exact_overload.covariance_term.sum(), nd + 4.0 * static_cast<double>(dim));
  s.exact_overload.error = Real(over.certified(1.0).error) + slack_cov +
                           rounding_slack(s.exact_overload.total(), 2.0 * static_cast<double>(dim) + 4);
  s.moment.error = moment_error + slack_cov + rounding_slack(s.moment.total(), 2.0 * static_cast<double>(dim) + 4);
  for (const Real* v : {&s.distortion_support.error, &s.distortion_matched.error, &s.support_bound.error, &s.exact_overload.error,
                        &s.moment.error})
    if (!isfinite(*v)) return std::nullopt;
  if (!isfinite(s.tau_error.sum()) || !isfinite(s.moment.total())) return std::nullopt;
  return s;
}

}  // namespace dpq::app::detail
