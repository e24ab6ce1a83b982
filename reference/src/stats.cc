#include "deltapq/reference/stats.h"

#include <boost/random/mersenne_twister.hpp>
#include <boost/random/uniform_int_distribution.hpp>
#include <algorithm>
#include <cstdint>
#include <boost/math/distributions/normal.hpp>
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
  if (a.empty() || b.empty()) throw Error("permutation p: an empty sample");
  for (const auto* x : {&a, &b})
    for (double v : *x)
      if (std::isnan(v)) throw Error("permutation p: a NaN in a sample (ranks are undefined)");
  const double observed = std::fabs(rank_biserial(a, b));
  // Each relabeling's r through doubled mid-ranks of the pooled sample (ties share their mean rank):
  // with U_A = #{b < a} + #{b = a}/2 = R_A - n_A (n_A + 1)/2, r = (n_A n_B - 2 U_A) / (n_A n_B), the
  // same integer numerator rank_biserial counts, so the same double. The shuffle moves ranks exactly
  // as it would move the values (the same swaps), so p is what relabeling the values gives.
  const std::size_t na = a.size(), n = na + b.size();
  std::vector<double> pool = a;
  pool.insert(pool.end(), b.begin(), b.end());
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) { return pool[i] < pool[j]; });
  std::vector<std::int64_t> rank2(n);  // 2 x mid-rank (1-based): integers
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j < n && pool[order[j]] == pool[order[i]]) ++j;
    for (std::size_t k = i; k < j; ++k) rank2[order[k]] = static_cast<std::int64_t>(i + j + 1);  // (i+1 + j)
    i = j;
  }
  const double pairs = static_cast<double>(na) * static_cast<double>(n - na);
  const std::int64_t na_term = static_cast<std::int64_t>(na) * static_cast<std::int64_t>(na + 1);  // 2 x n_A(n_A+1)/2
  boost::random::mt19937_64 rng(seed);
  int extreme = 0;
  for (int k = 0; k < m; ++k) {
    for (std::size_t i = n; i > 1; --i) {  // Fisher-Yates
      boost::random::uniform_int_distribution<std::size_t> pick(0, i - 1);
      std::swap(rank2[i - 1], rank2[pick(rng)]);
    }
    std::int64_t r2 = 0;
    for (std::size_t i = 0; i < na; ++i) r2 += rank2[i];
    const std::int64_t u2 = r2 - na_term;  // 2 U_A
    const double r = (pairs - static_cast<double>(u2)) / pairs;
    if (std::fabs(r) >= observed) ++extreme;
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

namespace {

double flat_top(double t) {
  t = std::fabs(t);
  return t <= 0.5 ? 1.0 : (t <= 1.0 ? 2.0 * (1.0 - t) : 0.0);
}

double quantile_sorted(const std::vector<double>& v, double q) {
  // Linear interpolation between order statistics (type 7).
  const double h = (static_cast<double>(v.size()) - 1) * q;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (h - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

}  // namespace

double automatic_block_length(const std::vector<double>& series) {
  const std::size_t n = series.size();
  if (n < 8) return 1;
  double mean = 0;
  for (double v : series) mean += v;
  mean /= static_cast<double>(n);
  const double nd = static_cast<double>(n);
  const auto kn = static_cast<std::size_t>(std::max(5.0, std::ceil(std::sqrt(std::log10(nd)))));
  const std::size_t m_max = static_cast<std::size_t>(std::ceil(std::sqrt(nd))) + kn;
  const std::size_t lags = std::min(n - 1, m_max + kn);
  std::vector<double> r(lags + 1, 0.0);  // autocovariances
  for (std::size_t k = 0; k <= lags; ++k) {
    double s = 0;
    for (std::size_t t = k; t < n; ++t) s += (series[t] - mean) * (series[t - k] - mean);
    r[k] = s / nd;
  }
  if (!(r[0] > 0)) return 1;  // a constant series
  const double threshold = 2.0 * std::sqrt(std::log10(nd) / nd);
  std::size_t m_hat = m_max;
  for (std::size_t m = 0; m + kn <= lags; ++m) {
    bool insignificant = true;
    for (std::size_t j = 1; j <= kn && insignificant; ++j) insignificant = std::fabs(r[m + j] / r[0]) < threshold;
    if (insignificant) {
      m_hat = m;
      break;
    }
  }
  const std::size_t big_m = std::min(2 * std::max<std::size_t>(m_hat, 1), std::min(m_max, lags));
  double g = r[0], big_g = 0;
  for (std::size_t k = 1; k <= big_m; ++k) {
    const double w = flat_top(static_cast<double>(k) / static_cast<double>(big_m));
    g += 2 * w * r[k];
    big_g += 2 * w * static_cast<double>(k) * r[k];
  }
  const double d_cb = 4.0 / 3.0 * g * g;
  const double b_max = std::ceil(std::min(3 * std::sqrt(nd), nd / 3));
  if (!(d_cb > 0)) return 1;
  const double b = std::pow(2 * big_g * big_g / d_cb, 1.0 / 3.0) * std::pow(nd, 1.0 / 3.0);
  return std::clamp(std::isfinite(b) ? b : 1.0, 1.0, b_max);
}

std::vector<std::size_t> circular_block_resample(std::size_t n, std::size_t block, std::mt19937_64& rng) {
  std::vector<std::size_t> idx;
  idx.reserve(n);
  block = std::max<std::size_t>(1, std::min(block, n));
  while (idx.size() < n) {
    const std::size_t start = static_cast<std::size_t>(rng() % n);
    for (std::size_t k = 0; k < block && idx.size() < n; ++k) idx.push_back((start + k) % n);
  }
  return idx;
}

Interval percentile_interval(std::vector<double> replicates, double level) {
  replicates.erase(std::remove_if(replicates.begin(), replicates.end(), [](double v) { return !std::isfinite(v); }),
                   replicates.end());
  if (replicates.empty()) throw Error("bootstrap: no finite replicate");
  std::sort(replicates.begin(), replicates.end());
  const double a = (1 - level) / 2;
  return {quantile_sorted(replicates, a), quantile_sorted(replicates, 1 - a)};
}

Interval basic_interval(double estimate, std::vector<double> replicates, double level) {
  const Interval p = percentile_interval(std::move(replicates), level);
  return {2 * estimate - p.hi, 2 * estimate - p.lo};
}

Interval bias_corrected_normal_interval(double estimate, std::vector<double> replicates, double level) {
  replicates.erase(std::remove_if(replicates.begin(), replicates.end(), [](double v) { return !std::isfinite(v); }),
                   replicates.end());
  if (replicates.size() < 2) throw Error("bootstrap: fewer than 2 finite replicates");
  double mean = 0, var = 0;
  for (double v : replicates) mean += v;
  mean /= static_cast<double>(replicates.size());
  for (double v : replicates) var += (v - mean) * (v - mean);
  var /= static_cast<double>(replicates.size() - 1);
  const double z = boost::math::quantile(boost::math::normal_distribution<double>(), 1 - (1 - level) / 2);
  const double center = 2 * estimate - mean, half = z * std::sqrt(var);
  return {center - half, center + half};
}

}  // namespace dpq::ref
