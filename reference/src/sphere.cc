// D1/D2: Lloyd-Max on the sphere marginal. Special functions on MPFR live here and in tails.cc.
#include "deltapq/reference/sphere.h"

#include <boost/math/constants/constants.hpp>
#include <boost/math/special_functions/beta.hpp>
#include <boost/math/special_functions/erf.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <algorithm>
#include <cmath>
#include <limits>

#include "deltapq/core/error.h"

namespace dpq::ref {
namespace {

// The same closed forms in any number type (double for the start, Real for the result).
template <class T>
struct Dist {
  bool gaussian;
  T a;      // (d - 1) / 2
  T k;      // K_d
  T dim;
  explicit Dist(const Marginal& m) : gaussian(m.gaussian), dim(T(m.dim)) {
    using std::sqrt;
    if (!gaussian) {
      a = T(m.dim - 1) / 2;
      k = exp(boost::math::lgamma(T(m.dim) / 2) - boost::math::lgamma(a)) / sqrt(boost::math::constants::pi<T>());
    }
  }
  T upper() const { return gaussian ? std::numeric_limits<T>::infinity() : T(1); }
  // P(T >= x) for x >= 0.
  T tail(const T& x) const {
    using std::sqrt;
    if (!(x < upper())) return T(0);
    if (gaussian) return boost::math::erfc(x / sqrt(T(2))) / 2;
    return boost::math::ibeta(a, a, (1 - x) / 2);
  }
  // int_x^upper t f(t) dt for x >= 0.
  T first_tail(const T& x) const {
    using std::exp;
    using std::pow;
    using std::sqrt;
    if (!(x < upper())) return T(0);
    if (gaussian) return exp(-x * x / 2) / sqrt(2 * boost::math::constants::pi<T>());
    return k * pow(1 - x * x, a) / (2 * a);  // (d - 1) = 2a
  }
  T pdf(const T& x) const {
    using std::exp;
    using std::pow;
    using std::sqrt;
    if (gaussian) return exp(-x * x / 2) / sqrt(2 * boost::math::constants::pi<T>());
    if (!(x < 1)) return T(0);
    return k * pow(1 - x * x, a - 1);
  }
};

// Centroid conditions on the positive half (n = L/2 centroids, thresholds 0, mids, upper):
// F_k = c_k P_k - M_k. Returns max_k |F_k| / P_k.
template <class T>
T residuals(const Dist<T>& f, const std::vector<T>& c, std::vector<T>& F, std::vector<T>& P) {
  using std::abs;
  const std::size_t n = c.size();
  T worst(0);
  for (std::size_t i = 0; i < n; ++i) {
    const T lo = i == 0 ? T(0) : (c[i - 1] + c[i]) / 2;
    const T hi = i + 1 == n ? f.upper() : (c[i] + c[i + 1]) / 2;
    P[i] = f.tail(lo) - f.tail(hi);
    const T M = f.first_tail(lo) - f.first_tail(hi);
    F[i] = c[i] * P[i] - M;
    worst = std::max(worst, T(abs(F[i]) / P[i]));
  }
  return worst;
}

// One Newton step on F(c) = 0 (tridiagonal Jacobian, Thomas algorithm); returns the max relative step.
template <class T>
T newton_step(const Dist<T>& f, std::vector<T>& c) {
  using std::abs;
  const std::size_t n = c.size();
  std::vector<T> F(n), P(n), lower(n), diag(n), upper(n);
  residuals(f, c, F, P);
  for (std::size_t i = 0; i < n; ++i) {
    diag[i] = P[i];
    if (i + 1 < n) {  // threshold tau_i between c_i and c_{i+1}
      const T tau = (c[i] + c[i + 1]) / 2;
      const T g = f.pdf(tau) / 2;
      diag[i] += (c[i] - tau) * g;
      upper[i] = (c[i] - tau) * g;
    }
    if (i > 0) {
      const T tau = (c[i - 1] + c[i]) / 2;
      const T g = f.pdf(tau) / 2;
      diag[i] -= (c[i] - tau) * g;
      lower[i] = -(c[i] - tau) * g;
    }
  }
  // Solve J d = -F.
  std::vector<T> cp(n), dp(n);
  for (std::size_t i = 0; i < n; ++i) {
    const T m = diag[i] - (i ? lower[i] * cp[i - 1] : T(0));
    cp[i] = i + 1 < n ? upper[i] / m : T(0);
    dp[i] = (-F[i] - (i ? lower[i] * dp[i - 1] : T(0))) / m;
  }
  T worst(0);
  for (std::size_t i = n; i-- > 0;) {
    const T step = dp[i] - (i + 1 < n ? cp[i] * dp[i + 1] : T(0));
    dp[i] = step;
  }
  // Damp the step so that the centroids stay ordered and inside (0, upper).
  T scale(1);
  for (int tries = 0; tries < 60; ++tries) {
    bool ok = true;
    for (std::size_t i = 0; i < n && ok; ++i) {
      const T v = c[i] + scale * dp[i];
      ok = v > 0 && v < f.upper() && (i == 0 || v > c[i - 1] + scale * dp[i - 1]);
    }
    if (ok) break;
    scale /= 2;
  }
  for (std::size_t i = 0; i < n; ++i) {
    worst = std::max(worst, T(abs(scale * dp[i]) / abs(c[i])));
    c[i] += scale * dp[i];
  }
  return worst;
}

std::vector<double> double_start(const Marginal& m, int bits) {
  const Dist<double> f(m);
  const std::size_t n = std::size_t{1} << (bits - 1);
  const double sigma = m.gaussian ? 1.0 : 1.0 / std::sqrt(static_cast<double>(m.dim));
  std::vector<double> c(n);
  const double spread = m.gaussian ? 3.0 : std::min(3.0 * sigma, 0.99);  // ~3 sigma, inside the support
  for (std::size_t i = 0; i < n; ++i) c[i] = spread * (static_cast<double>(i) + 0.5) / static_cast<double>(n);
  std::vector<double> F(n), P(n);
  for (int it = 0; it < 300; ++it) {  // Lloyd: centroid of each cell
    residuals(f, c, F, P);
    for (std::size_t i = 0; i < n; ++i) c[i] -= F[i] / P[i];
  }
  for (int it = 0; it < 30; ++it)
    if (newton_step(f, c) < 1e-14) break;
  return c;
}

}  // namespace

Marginal Marginal::sphere(int d) {
  if (d < 2) throw Error("sphere marginal: d = " + std::to_string(d) + " (need d >= 2)");
  return Marginal{false, d};
}
Marginal Marginal::normal() { return Marginal{true, 0}; }
std::string Marginal::name() const { return gaussian ? "N(0,1)" : "sphere(d=" + std::to_string(dim) + ")"; }

Real marginal_density(const Marginal& m, const Real& t) {
  if (!m.gaussian && !(abs(t) <= 1)) return Real(0);
  return Dist<Real>(m).pdf(abs(t));
}

namespace {
// Signed interval [lo, hi] via the positive-half tails (no cancellation against 1).
template <class Fn>
Real signed_integral(const Real& lo, const Real& hi, Fn tail, bool odd) {
  if (!(lo <= hi)) return Real(0);
  if (lo >= 0) return tail(lo) - tail(hi);
  if (hi <= 0) return odd ? -(tail(-hi) - tail(-lo)) : tail(-hi) - tail(-lo);
  return odd ? (tail(Real(0)) - tail(hi)) - (tail(Real(0)) - tail(-lo)) : (tail(Real(0)) - tail(hi)) + (tail(Real(0)) - tail(-lo));
}
}  // namespace

Real cell_mass(const Marginal& m, const Real& lo, const Real& hi) {
  const Dist<Real> f(m);
  return signed_integral(lo, hi, [&](const Real& x) { return f.tail(x); }, false);
}
Real cell_first_moment(const Marginal& m, const Real& lo, const Real& hi) {
  const Dist<Real> f(m);
  return signed_integral(lo, hi, [&](const Real& x) { return f.first_tail(x); }, true);
}
Real cell_second_moment(const Marginal& m, const Real& lo, const Real& hi) {
  // Sphere: t^2 f_d = f_d - ((d-1)/d) f_{d+2} (as densities), so the moment is a difference of masses.
  // Gaussian: int t^2 phi = [-t phi] + int phi.
  if (m.gaussian) {
    const Dist<Real> f(m);
    auto part = [&](const Real& x) { return isinf(x) ? Real(0) : Real(x * f.pdf(x)); };
    return cell_mass(m, lo, hi) + part(lo) - part(hi);
  }
  const Marginal up = Marginal::sphere(m.dim + 2);
  return cell_mass(m, lo, hi) - Real(m.dim - 1) / Real(m.dim) * cell_mass(up, lo, hi);
}
Real second_moment(const Marginal& m) { return m.gaussian ? Real(1) : Real(1) / Real(m.dim); }

Codebook lloyd_max(const Marginal& m, int bits, const Real& tolerance) {
  if (bits < 1 || bits > 8) throw Error("Lloyd-Max: bits = " + std::to_string(bits) + " is outside 1..8");
  const std::vector<double> start = double_start(m, bits);
  const Dist<Real> f(m);
  std::vector<Real> c(start.begin(), start.end());
  Codebook cb;
  cb.marginal = m;
  cb.bits = bits;
  for (cb.newton_steps = 1; cb.newton_steps <= 40; ++cb.newton_steps)
    if (newton_step(f, c) < tolerance) break;
  const std::size_t n = c.size();
  std::vector<Real> F(n), P(n);
  cb.residual = residuals(f, c, F, P);
  // Full symmetric codebook.
  for (std::size_t i = n; i-- > 0;) cb.centroids.push_back(-c[i]);
  for (std::size_t i = 0; i < n; ++i) cb.centroids.push_back(c[i]);
  for (std::size_t i = 0; i + 1 < cb.centroids.size(); ++i)
    cb.thresholds.push_back((cb.centroids[i] + cb.centroids[i + 1]) / 2);
  // At the centroid condition, E(T - c_k)^2 over cell k = S_k - c_k M_k; sum S_k = E T^2.
  Real s(0);
  for (std::size_t i = 0; i < n; ++i) {
    const Real lo = i == 0 ? Real(0) : Real((c[i - 1] + c[i]) / 2);
    const Real hi = i + 1 == n ? f.upper() : Real((c[i] + c[i + 1]) / 2);
    s += c[i] * (f.first_tail(lo) - f.first_tail(hi));
  }
  cb.mse = second_moment(m) - 2 * s;
  return cb;
}

Real codebook_mse(const Marginal& m, const std::vector<Real>& centroids, const std::vector<Real>& thresholds) {
  const std::size_t L = centroids.size();
  if (L == 0) throw Error("codebook: no centroids");
  std::vector<Real> th = thresholds;
  if (th.empty())
    for (std::size_t i = 0; i + 1 < L; ++i) th.push_back((centroids[i] + centroids[i + 1]) / 2);
  if (th.size() != L - 1)
    throw Error("codebook: " + std::to_string(th.size()) + " thresholds for " + std::to_string(L) + " centroids");
  // Scored as a kernel applies the table: the code of t is the number of thresholds <= t, whatever their
  // order, so cell k is the k-th interval between the sorted thresholds and reconstructs to
  // centroids[k] as given (a table with two centroids swapped is scored with them swapped).
  std::sort(th.begin(), th.end());
  const Real lower = m.gaussian ? -std::numeric_limits<Real>::infinity() : Real(-1);
  const Real upper = m.gaussian ? std::numeric_limits<Real>::infinity() : Real(1);
  Real total(0);
  for (std::size_t k = 0; k < L; ++k) {
    Real lo = k == 0 ? lower : th[k - 1];
    Real hi = k + 1 == L ? upper : th[k];
    if (!m.gaussian) {
      lo = std::max(lo, Real(-1));
      hi = std::min(hi, Real(1));
    }
    if (!(lo < hi)) continue;
    const Real& c = centroids[k];
    total += cell_second_moment(m, lo, hi) - 2 * c * cell_first_moment(m, lo, hi) + c * c * cell_mass(m, lo, hi);
  }
  return total;
}

CodebookAudit audit_codebook(const Marginal& m, int bits, std::vector<Real> centroids, std::vector<Real> thresholds) {
  CodebookAudit a;
  const std::size_t L = std::size_t{1} << bits;
  if (centroids.size() != L) {
    // Not a b-bit codebook at all: nothing to score (and a huge table would cost minutes to score).
    a.defects.push_back("wrong size: " + std::to_string(centroids.size()) + " centroids for " + std::to_string(bits) +
                        " bits (expected " + std::to_string(L) + ")");
    a.scored = false;
    a.mse = a.optimal_mse = a.excess_pct = std::numeric_limits<Real>::quiet_NaN();
    return a;
  }
  for (std::size_t i = 0; i + 1 < centroids.size(); ++i)
    if (!(centroids[i] < centroids[i + 1])) {
      a.defects.push_back("not monotone: centroid " + std::to_string(i) + " = " + to_string(centroids[i], 8) +
                          " >= centroid " + std::to_string(i + 1) + " = " + to_string(centroids[i + 1], 8));
      break;
    }
  Real scale(0);
  for (const Real& c : centroids) scale = std::max(scale, Real(abs(c)));
  for (std::size_t i = 0; i < centroids.size() / 2; ++i) {
    const Real asym = abs(centroids[i] + centroids[centroids.size() - 1 - i]);
    if (asym > scale * Real("1e-6")) {
      a.defects.push_back("not symmetric: centroid " + std::to_string(i) + " + centroid " +
                          std::to_string(centroids.size() - 1 - i) + " = " + to_string(asym, 6));
      break;
    }
  }
  if (!thresholds.empty()) {
    if (thresholds.size() + 1 != centroids.size()) {
      a.defects.push_back("wrong number of thresholds: " + std::to_string(thresholds.size()));
      thresholds.clear();
    } else {
      for (std::size_t i = 0; i < thresholds.size(); ++i) {
        const Real mid = (centroids[i] + centroids[i + 1]) / 2;
        if (abs(thresholds[i] - mid) > scale * Real("1e-6")) {
          a.defects.push_back("threshold " + std::to_string(i) + " = " + to_string(thresholds[i], 8) +
                              " is not the midpoint " + to_string(mid, 8));
          break;
        }
      }
    }
  }
  // Tables for unit vectors are often published on the N(0, 1) scale (to be divided by sqrt(d)):
  // take whichever reading gives the smaller MSE on the sphere marginal, and say so.
  a.mse = codebook_mse(m, centroids, thresholds);
  if (!m.gaussian) {
    const Real s = sqrt(Real(m.dim));
    std::vector<Real> scaled = centroids, scaled_th = thresholds;
    for (auto& c : scaled) c /= s;
    for (auto& t : scaled_th) t /= s;
    const Real alt = codebook_mse(m, scaled, scaled_th);
    if (alt < a.mse) {
      a.mse = alt;
      a.scaled_by_inv_sqrt_d = true;
    }
  }
  a.optimal_mse = lloyd_max(m, bits).mse;
  a.excess_pct = (a.mse - a.optimal_mse) / a.optimal_mse * 100;
  return a;
}

}  // namespace dpq::ref
