// B5 tier 2's formulas, generic over the number type: the reference evaluates them in Real (pq.h's
// ggd_* functions call these with Real), the bootstrap of the source layer in double (its replicates
// need a sampling interval, not 30 digits). One formula, two types.
#pragma once

#include <cmath>
#include <limits>
#include <vector>

namespace dpq::ref::ggd {

// E[Y^2] / E[|Y|]^2 = Gamma(1/b) Gamma(3/b) / Gamma(2/b)^2 of a generalized Gaussian of shape b.
template <class T>
T moment_ratio(const T& beta) {
  using std::exp;
  using std::lgamma;
  return exp(lgamma(1 / beta) + lgamma(3 / beta) - 2 * lgamma(2 / beta));
}

template <class T>
struct Fit {
  T beta;                      // +inf in the uniform limit
  bool uniform_limit = false;  // ratio <= 4/3 (b -> inf): treated as uniform
  bool below_range = false;    // ratio beyond the b = 0.02 value: beta reported as 0.02
  int iterations = 0;
};

// Solves moment_ratio(beta) = ratio (finite, > 0) by bisection in log beta on [0.02, 1e4] to a bracket
// of 1/8, then the Illinois variant of regula falsi to a relative bracket width below `tol`.
template <class T>
Fit<T> fit_shape(const T& ratio, const T& tol) {
  using std::abs;
  using std::exp;
  using std::log;
  Fit<T> fit;
  const T inf = std::numeric_limits<T>::infinity();
  if (ratio <= T(4) / T(3)) {
    fit.uniform_limit = true;
    fit.beta = inf;
    return fit;
  }
  const T target = log(ratio);
  auto f = [&](const T& logb) { return T(log(moment_ratio(T(exp(logb)))) - target); };  // decreasing in log beta
  T a = log(T(2) / T(100)), b = log(T(10000));
  T fa = f(a), fb = f(b);
  if (fa < 0) {
    fit.below_range = true;
    fit.beta = T(2) / T(100);
    return fit;
  }
  if (fb > 0) {  // between the b = 1e4 value and 4/3: indistinguishable from uniform at this range
    fit.uniform_limit = true;
    fit.beta = inf;
    return fit;
  }
  while (b - a > T(1) / T(8)) {
    const T c = (a + b) / 2, fc = f(c);
    ++fit.iterations;
    if (fc > 0) {
      a = c;
      fa = fc;
    } else {
      b = c;
      fb = fc;
    }
  }
  int side = 0;
  T c = (a + b) / 2;
  for (int it = 0; it < 200 && b - a > tol * (1 + abs(c)); ++it) {
    c = (a * fb - b * fa) / (fb - fa);
    const T fc = f(c);
    ++fit.iterations;
    if (fc == 0) {
      a = b = c;
      break;
    }
    if (fc > 0) {
      a = c;
      fa = fc;
      if (side == 1) fb /= 2;
      side = 1;
    } else {
      b = c;
      fb = fc;
      if (side == -1) fa /= 2;
      side = -1;
    }
  }
  fit.beta = exp((a + b) / 2);
  return fit;
}

// log of integral phi^g over R for N(0, sigma^2).
template <class T>
T gaussian_log_power_integral(const T& sigma, const T& g) {
  using std::acos;
  using std::log;
  const T two_pi = 2 * T(acos(T(-1)));
  return (1 - g) / 2 * log(two_pi * sigma * sigma) - log(g) / 2;
}

// log of integral p^g over R for the GGD of shape beta and standard deviation sigma (beta = +inf: uniform).
template <class T>
T log_power_integral(const T& beta, const T& sigma, const T& g) {
  using std::isfinite;
  using std::lgamma;
  using std::log;
  using std::sqrt;
  if (!isfinite(beta)) return (1 - g) * log(2 * sigma * sqrt(T(3)));  // uniform on [-a, a], a = sqrt(3) sigma
  const T log_a = log(sigma) + (lgamma(1 / beta) - lgamma(3 / beta)) / 2;
  return (1 - g) * (log(T(2)) + log_a + lgamma(1 / beta) - log(beta)) - log(g) / beta;
}

// log S of a product of independent GGD coordinates relative to the Gaussian of the same covariance.
template <class T>
T log_relative_shape(const std::vector<T>& betas, const T& g) {
  T s(0);
  for (const T& b : betas) s += log_power_integral(b, T(1), g) - gaussian_log_power_integral(T(1), g);
  return s / g;
}

}  // namespace dpq::ref::ggd
