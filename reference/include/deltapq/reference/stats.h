// D7: the statistics of the paper-claims checker (double: rank statistics and resampling, no rounding
// question arises at the sample sizes they serve).
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
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

// ---- Sampling uncertainty of statistics of dependent data (KV streams are autocorrelated) ----

// The automatic block length of Politis & White (2004), with the correction of Patton, Politis &
// White (2009), for the circular block bootstrap of a stationary series' mean: b = (2 G^2 / D)^(1/3)
// n^(1/3), G and D from flat-top lag-window estimates of the autocovariances up to the lag where the
// autocorrelations become insignificant (|rho| < 2 sqrt(log10 n / n) for K_n = max(5, sqrt(log10 n))
// consecutive lags). Clamped to [1, min(3 sqrt n, n / 3)]; 1 for a series without dependence.
double automatic_block_length(const std::vector<double>& series);

// n indices of a circular block bootstrap resample: blocks of `block` consecutive indices (wrapping
// around) starting at uniform positions, concatenated and cut to n.
std::vector<std::size_t> circular_block_resample(std::size_t n, std::size_t block, std::mt19937_64& rng);

struct Interval {
  double lo = 0, hi = 0;
};
// Percentile interval of bootstrap replicates at `level` (e.g. 0.95); non-finite replicates dropped.
Interval percentile_interval(std::vector<double> replicates, double level);
// The basic (reverse percentile) interval [2 t - q_hi, 2 t - q_lo] around the estimate t: it carries
// the bootstrap's estimate of the estimator's bias (the replicates' shift from t) back to the source.
Interval basic_interval(double estimate, std::vector<double> replicates, double level);

// The bias-corrected normal interval (Efron & Tibshirani 1993, 13.x): (2 t - mean*) +- z sd*, z the
// normal quantile of the level; the bootstrap's bias estimate mean* - t is removed from the estimate.
// On Gaussian AR(1) sources with a known domination factor it covers at 91-95 % for a nominal 95 %
// (props/uncertainty_props.cc measures it). Non-finite replicates dropped; throws when none is left.
Interval bias_corrected_normal_interval(double estimate, std::vector<double> replicates, double level);

}  // namespace dpq::ref
