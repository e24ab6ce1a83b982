#include "deltapq/reference/clip_search.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "deltapq/core/design.h"
#include "deltapq/core/error.h"

namespace dpq::ref {
namespace {

void check(const std::vector<double>& y, std::size_t tokens, const std::vector<double>& lambda, const std::vector<int>& bits) {
  const std::size_t d = lambda.size();
  if (bits.size() != d) throw Error("kappa search: " + std::to_string(bits.size()) + " bit widths for d = " + std::to_string(d));
  if (tokens == 0 || d == 0 || y.size() != tokens * d)
    throw Error("kappa search: " + std::to_string(y.size()) + " values for T = " + std::to_string(tokens) + ", d = " + std::to_string(d));
  for (std::size_t k = 0; k < y.size(); ++k)
    if (!std::isfinite(y[k]))
      throw Error("kappa search: non-finite coordinate at row " + std::to_string(k / d) + ", column " + std::to_string(k % d));
  for (std::size_t i = 0; i < d; ++i) {
    if (!(lambda[i] >= 0) || !std::isfinite(lambda[i])) throw Error("kappa search: lambda_" + std::to_string(i) + " is negative or not finite");
    if (bits[i] < 0 || bits[i] > kMaxBits) throw Error("kappa search: b_" + std::to_string(i) + " outside 0..16");
  }
}

}  // namespace

double matched_distortion(const std::vector<double>& y, std::size_t tokens, const std::vector<double>& lambda,
                          const std::vector<int>& bits, double kappa) {
  check(y, tokens, lambda, bits);
  const std::size_t d = lambda.size();
  const double lambda_max = *std::max_element(lambda.begin(), lambda.end());
  std::vector<double> clip(d);
  for (std::size_t i = 0; i < d; ++i) clip[i] = matched_clip(lambda[i], lambda_max, kappa);
  double total = 0;
  for (std::size_t t = 0; t < tokens; ++t)
    for (std::size_t i = 0; i < d; ++i) {
      const double v = y[t * d + i];
      const double e = v - cell_center(cell_index(v, clip[i], bits[i]), clip[i], bits[i]);
      total += e * e;
    }
  return total / static_cast<double>(tokens);
}

KappaChoice mse_optimal_kappa(const std::vector<double>& y, std::size_t tokens, const std::vector<double>& lambda,
                              const std::vector<int>& bits) {
  check(y, tokens, lambda, bits);
  KappaChoice c;
  c.distortion_at_3 = matched_distortion(y, tokens, lambda, bits, 3.0);
  c.distortion = c.distortion_at_3;
  c.evaluations = 1;
  if (std::all_of(bits.begin(), bits.end(), [](int b) { return b == 0; })) return c;
  auto f = [&](double kappa) {
    ++c.evaluations;
    return matched_distortion(y, tokens, lambda, bits, kappa);
  };
  // Grid: kappa_j = 2^(-2 + 10 j / 64), j = 0..64 (1/4 .. 256); ties to the smaller kappa.
  constexpr int kSteps = 64;
  auto grid = [](int j) { return std::exp2(-2.0 + 10.0 * j / kSteps); };
  int best = 0;
  double best_value = f(grid(0));
  for (int j = 1; j <= kSteps; ++j) {
    const double v = f(grid(j));
    if (v < best_value) {
      best = j;
      best_value = v;
    }
  }
  // Golden section on log kappa between the grid neighbours.
  double lo = std::log(grid(std::max(0, best - 1))), hi = std::log(grid(std::min(kSteps, best + 1)));
  const double g = (std::sqrt(5.0) - 1) / 2;
  double a = hi - g * (hi - lo), b = lo + g * (hi - lo);
  double fa = f(std::exp(a)), fb = f(std::exp(b));
  while (hi - lo > 1e-6) {
    if (fa <= fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - g * (hi - lo);
      fa = f(std::exp(a));
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + g * (hi - lo);
      fb = f(std::exp(b));
    }
  }
  double kappa = grid(best), value = best_value;
  for (const auto& [k, v] : {std::pair{std::exp(a), fa}, std::pair{std::exp(b), fb}})
    if (v < value) {
      kappa = k;
      value = v;
    }
  if (c.distortion_at_3 <= value) {  // kappa = 3 itself is a candidate
    kappa = 3.0;
    value = c.distortion_at_3;
  }
  c.kappa = kappa;
  c.distortion = value;
  return c;
}

std::vector<KappaChoice> mse_optimal_kappas(const std::vector<double>& y, std::size_t tokens, const std::vector<double>& lambda,
                                            const std::vector<int>& bits) {
  check(y, tokens, lambda, bits);
  const std::size_t d = lambda.size();
  const double lambda_max = *std::max_element(lambda.begin(), lambda.end());
  std::vector<KappaChoice> out;
  std::vector<double> column(tokens);
  for (std::size_t i = 0; i < d; ++i) {
    for (std::size_t t = 0; t < tokens; ++t) column[t] = y[t * d + i];
    // One coordinate alone: its matched clip must keep the null-direction floor of the whole design.
    const double floor_variance = lambda_max * kNullDirection;
    out.push_back(mse_optimal_kappa(column, tokens, {std::max(lambda[i], lambda_max > 0 ? floor_variance : 0.0)}, {bits[i]}));
  }
  return out;
}

}  // namespace dpq::ref
