// D7: the statistics of the paper-claims checker (double: rank statistics and resampling, no rounding
// question arises at the sample sizes they serve).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace dpq::ref {

// Rank-biserial Mann-Whitney r(A vs B) = P(X_B > X_A) - P(X_B < X_A) for a lower-is-better metric:
// positive means A tends to be lower (A wins). Ties count half.
double rank_biserial(const std::vector<double>& a, const std::vector<double>& b);
// Energy distance (Szekely-Rizzo): 2 E|X - Y| - E|X - X'| - E|Y - Y'| (V-statistics).
double energy_distance(const std::vector<double>& a, const std::vector<double>& b);
// Two-sided permutation p-value of the rank-biserial statistic, p = (b + 1)/(m + 1) (Phipson-Smyth),
// m random relabelings (seeded).
double permutation_p(const std::vector<double>& a, const std::vector<double>& b, int m, std::uint64_t seed);
double median(std::vector<double> v);
// Percentile bootstrap confidence interval of the median (seeded).
std::pair<double, double> bootstrap_median_ci(const std::vector<double>& v, double level, int resamples, std::uint64_t seed);

}  // namespace dpq::ref
