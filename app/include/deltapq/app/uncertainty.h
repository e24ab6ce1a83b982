// Sampling uncertainty: verdicts about the source, not only the sample. The reference certifies the
// arithmetic of a statistic of *this sample* to ~1e-70; how far the sample's statistic is from the
// source's is a different question, answered here by a block bootstrap (KV streams are
// autocorrelated): circular blocks of consecutive time indices, the block length chosen by the
// Politis-White rule on the series that drive the statistic, bias-corrected normal intervals
// (reference/stats.h; proofs-notes/E3.md derives and measures them).
//
// Two verdict layers follow: on this sample (the certified verdict) and for the source: "holds" when
// the interval of the claim's margin lies above 0, "fails" when it lies below 0, "undecided" otherwise,
// at the stated confidence.
#pragma once

#include <Eigen/Core>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "deltapq/core/verdict.h"
#include "deltapq/reference/stats.h"

namespace dpq::app {

struct BootstrapOptions {
  bool enabled = true;
  int replicates = 200;
  double confidence = 0.95;
  std::uint64_t seed = 2026;
};
// Throws dpq::Error naming the option unless replicates in 20..100000 and confidence in (0.5, 1).
void validate(const BootstrapOptions& o);

// What was done, for the report.
struct BootstrapSetup {
  std::string method;      // "circular block bootstrap of ..."
  std::string block_rule;  // how the block length was chosen
  std::string interval;    // "bias-corrected normal"
  std::size_t block_length = 1;
  int replicates = 0, failed = 0;  // failed: replicates where a statistic was not finite (e.g. a singular Sigma_V)
  double confidence = 0.95;
  std::uint64_t seed = 0;
};

// The source verdict on "statistic > 0" from its interval (undecided without one).
Verdict source_verdict(const std::optional<ref::Interval>& margin);

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Sample covariance (1/n) of rows, in double; of the columns [col, col + cols) only; its trace only.
Eigen::MatrixXd covariance(const RowMatrix& rows);
Eigen::MatrixXd covariance(const RowMatrix& rows, Eigen::Index col, Eigen::Index cols);
double covariance_trace(const RowMatrix& rows, Eigen::Index col, Eigen::Index cols);
// alpha* = lambda_max(S_V^{-1/2} S_delta S_V^{-1/2}) in double; NaN when S_V is not positive definite
// in double (the certified reference decides those cases; a replicate just drops out).
double domination_factor_double(const Eigen::MatrixXd& sigma_delta, const Eigen::MatrixXd& sigma_v);

// A statistic of one resample of the paired rows: writes its values to out.
using PairedStatistic = std::function<void(const RowMatrix& x, const RowMatrix& delta, std::vector<double>& out)>;

// The block bootstrap of statistics of paired rows (x_t, delta_t) (same row count): the block length
// is the largest Politis-White length of the series ||x_t - mean||^2, ||delta_t - mean||^2 and the
// `extra` series (e.g. a statistic's influence series); each replicate resamples the same time indices
// of x and delta (the pairing is kept).
class PairedBlockBootstrap {
 public:
  PairedBlockBootstrap(RowMatrix x, RowMatrix delta, const BootstrapOptions& options,
                       const std::vector<std::vector<double>>& extra = {});
  std::size_t block_length() const { return block_; }
  // The statistic on the original rows (the interval's estimate), then on every replicate:
  // replicates[k][r] is statistic k of replicate r.
  std::vector<double> estimate(const PairedStatistic& f) const;
  std::vector<std::vector<double>> replicates(const PairedStatistic& f) const;
  BootstrapSetup setup(const std::string& what) const;

 private:
  RowMatrix x_, delta_;
  BootstrapOptions options_;
  std::size_t block_ = 1;
};

// Intervals of several statistics at once from replicates (NaN-tolerant: nullopt for a statistic
// with fewer than half of its replicates finite). `failed` receives the count of replicates with a
// non-finite value in any statistic.
std::vector<std::optional<ref::Interval>> intervals(const std::vector<double>& estimates,
                                                    const std::vector<std::vector<double>>& replicates, double level,
                                                    int* failed);

// The block bootstrap of the mean of one series (per-token NLL differences, KL, zone indicators):
// circular blocks, Politis-White length on the series itself.
struct MeanInterval {
  ref::Interval ci;
  std::size_t block_length = 1;
};
MeanInterval series_mean_interval(const std::vector<double>& series, const BootstrapOptions& options);

// The warning for a covariance estimated from too few rows: empty when n >= 10 d; else names n, d and
// the Marchenko-Pastur spread (1 -+ sqrt(d/n))^2 of the sample eigenvalues around the source's.
std::string small_sample_warning(std::size_t n, std::size_t d, const std::string& what);

}  // namespace dpq::app
