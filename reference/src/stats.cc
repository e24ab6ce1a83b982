#include "deltapq/reference/stats.h"

#include <boost/random/mersenne_twister.hpp>
#include <boost/random/uniform_int_distribution.hpp>
#include <algorithm>
#include <cmath>

#include "deltapq/core/error.h"

namespace dpq::ref {

double rank_biserial(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.empty() || b.empty()) throw Error("rank-biserial: an empty sample");
  // P(X_B > X_A) - P(X_B < X_A) by sorting b and counting, O((n + m) log m).
  std::vector<double> sb = b;
  std::sort(sb.begin(), sb.end());
  double greater = 0, less = 0;
  for (double x : a) {
    const auto lo = std::lower_bound(sb.begin(), sb.end(), x), hi = std::upper_bound(sb.begin(), sb.end(), x);
    less += static_cast<double>(lo - sb.begin());
    greater += static_cast<double>(sb.end() - hi);
  }
  return (greater - less) / (static_cast<double>(a.size()) * static_cast<double>(b.size()));
}

double energy_distance(const std::vector<double>& a, const std::vector<double>& b) {
  auto mean_abs = [](const std::vector<double>& x, const std::vector<double>& y) {
    double s = 0;
    for (double u : x)
      for (double v : y) s += std::fabs(u - v);
    return s / (static_cast<double>(x.size()) * static_cast<double>(y.size()));
  };
  return 2 * mean_abs(a, b) - mean_abs(a, a) - mean_abs(b, b);
}

double permutation_p(const std::vector<double>& a, const std::vector<double>& b, int m, std::uint64_t seed) {
  const double observed = std::fabs(rank_biserial(a, b));
  std::vector<double> pool = a;
  pool.insert(pool.end(), b.begin(), b.end());
  boost::random::mt19937_64 rng(seed);
  int extreme = 0;
  std::vector<double> x(a.size()), y(b.size());
  for (int k = 0; k < m; ++k) {
    for (std::size_t i = pool.size(); i > 1; --i) {  // Fisher-Yates
      boost::random::uniform_int_distribution<std::size_t> pick(0, i - 1);
      std::swap(pool[i - 1], pool[pick(rng)]);
    }
    std::copy(pool.begin(), pool.begin() + static_cast<std::ptrdiff_t>(a.size()), x.begin());
    std::copy(pool.begin() + static_cast<std::ptrdiff_t>(a.size()), pool.end(), y.begin());
    if (std::fabs(rank_biserial(x, y)) >= observed) ++extreme;
  }
  return (extreme + 1.0) / (m + 1.0);
}

double median(std::vector<double> v) {
  if (v.empty()) throw Error("median of an empty sample");
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::pair<double, double> bootstrap_median_ci(const std::vector<double>& v, double level, int resamples, std::uint64_t seed) {
  boost::random::mt19937_64 rng(seed);
  boost::random::uniform_int_distribution<std::size_t> pick(0, v.size() - 1);
  std::vector<double> meds, s(v.size());
  for (int r = 0; r < resamples; ++r) {
    for (auto& x : s) x = v[pick(rng)];
    meds.push_back(median(s));
  }
  std::sort(meds.begin(), meds.end());
  const double alpha = (1 - level) / 2;
  const auto at = [&](double q) { return meds[std::min(meds.size() - 1, static_cast<std::size_t>(q * static_cast<double>(meds.size())))]; };
  return {at(alpha), at(1 - alpha)};
}

}  // namespace dpq::ref
