#include "deltapq/app/uncertainty.h"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>

#include "deltapq/core/error.h"

namespace dpq::app {

void validate(const BootstrapOptions& o) {
  if (o.replicates < 20 || o.replicates > 100000)
    throw Error("--replicates = " + std::to_string(o.replicates) + " is outside 20..100000");
  if (!(o.confidence > 0.5 && o.confidence < 1))
    throw Error("--confidence = " + std::to_string(o.confidence) + " must be in (0.5, 1)");
}

Verdict source_verdict(const std::optional<ref::Interval>& margin) {
  if (!margin) return Verdict::undecided;
  if (margin->lo > 0) return Verdict::holds;
  if (margin->hi < 0) return Verdict::fails;
  return Verdict::undecided;
}

Eigen::MatrixXd covariance(const RowMatrix& rows) { return covariance(rows, 0, rows.cols()); }

Eigen::MatrixXd covariance(const RowMatrix& rows, Eigen::Index col, Eigen::Index cols) {
  const auto block = rows.middleCols(col, cols);
  const Eigen::RowVectorXd mean = block.colwise().mean();
  const RowMatrix c = block.rowwise() - mean;
  // A symmetric rank-k update: half the products of c^T c.
  Eigen::MatrixXd s = Eigen::MatrixXd::Zero(cols, cols);
  s.selfadjointView<Eigen::Lower>().rankUpdate(c.transpose(), 1.0 / static_cast<double>(rows.rows()));
  return s.selfadjointView<Eigen::Lower>();
}

double covariance_trace(const RowMatrix& rows, Eigen::Index col, Eigen::Index cols) {
  const auto block = rows.middleCols(col, cols);
  const Eigen::RowVectorXd mean = block.colwise().mean();
  return (block.rowwise() - mean).squaredNorm() / static_cast<double>(rows.rows());
}

double domination_factor_double(const Eigen::MatrixXd& sd, const Eigen::MatrixXd& sv) {
  const Eigen::LLT<Eigen::MatrixXd> llt(sv);
  if (llt.info() != Eigen::Success) return std::nan("");
  const Eigen::MatrixXd l = llt.matrixL();
  for (Eigen::Index i = 0; i < l.rows(); ++i)
    if (!(l(i, i) > 1e-150)) return std::nan("");
  Eigen::MatrixXd a = l.triangularView<Eigen::Lower>().solve(sd);
  a = l.triangularView<Eigen::Lower>().solve(a.transpose()).transpose();
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es((a + a.transpose()) / 2, Eigen::EigenvaluesOnly);
  return es.eigenvalues().maxCoeff();
}

namespace {

std::vector<double> squared_norm_series(const RowMatrix& rows) {
  const Eigen::RowVectorXd mean = rows.colwise().mean();
  std::vector<double> s(static_cast<std::size_t>(rows.rows()));
  for (Eigen::Index t = 0; t < rows.rows(); ++t) s[static_cast<std::size_t>(t)] = (rows.row(t) - mean).squaredNorm();
  return s;
}

}  // namespace

PairedBlockBootstrap::PairedBlockBootstrap(RowMatrix x, RowMatrix delta, const BootstrapOptions& options,
                                           const std::vector<std::vector<double>>& extra)
    : x_(std::move(x)), delta_(std::move(delta)), options_(options) {
  if (x_.rows() != delta_.rows() || x_.rows() < 2) throw Error("bootstrap: the paired rows differ in count or are fewer than 2");
  double b = std::max(ref::automatic_block_length(squared_norm_series(x_)), ref::automatic_block_length(squared_norm_series(delta_)));
  for (const auto& s : extra) b = std::max(b, ref::automatic_block_length(s));
  block_ = static_cast<std::size_t>(std::lround(b));
}

std::vector<double> PairedBlockBootstrap::estimate(const PairedStatistic& f) const {
  std::vector<double> out;
  f(x_, delta_, out);
  return out;
}

std::vector<std::vector<double>> PairedBlockBootstrap::replicates(const PairedStatistic& f) const {
  const auto n = static_cast<std::size_t>(x_.rows());
  std::mt19937_64 rng(options_.seed);
  std::vector<std::vector<double>> reps;
  RowMatrix xs(x_.rows(), x_.cols()), ds(delta_.rows(), delta_.cols());
  std::vector<double> out;
  for (int r = 0; r < options_.replicates; ++r) {
    const std::vector<std::size_t> idx = ref::circular_block_resample(n, block_, rng);
    for (std::size_t t = 0; t < n; ++t) {
      xs.row(static_cast<Eigen::Index>(t)) = x_.row(static_cast<Eigen::Index>(idx[t]));
      ds.row(static_cast<Eigen::Index>(t)) = delta_.row(static_cast<Eigen::Index>(idx[t]));
    }
    out.clear();
    f(xs, ds, out);
    if (reps.empty()) reps.resize(out.size());
    for (std::size_t k = 0; k < out.size() && k < reps.size(); ++k) reps[k].push_back(out[k]);
  }
  return reps;
}

BootstrapSetup PairedBlockBootstrap::setup(const std::string& what) const {
  BootstrapSetup s;
  s.method = "circular block bootstrap of " + what;
  s.block_rule = "Politis-White (2004) with the Patton-Politis-White (2009) correction; the largest length over the "
                 "series ||x_t - mean||^2, ||delta_t - mean||^2 and alpha*'s influence series";
  s.interval = "bias-corrected normal";
  s.block_length = block_;
  s.replicates = options_.replicates;
  s.confidence = options_.confidence;
  s.seed = options_.seed;
  return s;
}

std::vector<std::optional<ref::Interval>> intervals(const std::vector<double>& estimates,
                                                    const std::vector<std::vector<double>>& replicates, double level,
                                                    int* failed) {
  std::vector<std::optional<ref::Interval>> out(estimates.size());
  std::vector<bool> bad;
  for (std::size_t k = 0; k < estimates.size() && k < replicates.size(); ++k) {
    const auto& r = replicates[k];
    if (bad.size() < r.size()) bad.resize(r.size(), false);
    std::size_t finite = 0;
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (std::isfinite(r[i])) ++finite;
      else bad[i] = true;
    }
    if (std::isfinite(estimates[k]) && 2 * finite >= r.size() && finite >= 2)
      out[k] = ref::bias_corrected_normal_interval(estimates[k], r, level);
  }
  if (failed) *failed = static_cast<int>(std::count(bad.begin(), bad.end(), true));
  return out;
}

MeanInterval series_mean_interval(const std::vector<double>& series, const BootstrapOptions& options) {
  if (series.size() < 2) throw Error("bootstrap: a series of fewer than 2 values");
  MeanInterval m;
  m.block_length = static_cast<std::size_t>(std::lround(ref::automatic_block_length(series)));
  double mean = 0;
  for (double v : series) mean += v;
  mean /= static_cast<double>(series.size());
  std::mt19937_64 rng(options.seed);
  std::vector<double> reps;
  for (int r = 0; r < options.replicates; ++r) {
    const auto idx = ref::circular_block_resample(series.size(), m.block_length, rng);
    double s = 0;
    for (std::size_t i : idx) s += series[i];
    reps.push_back(s / static_cast<double>(series.size()));
  }
  m.ci = ref::bias_corrected_normal_interval(mean, reps, options.confidence);
  return m;
}

std::string small_sample_warning(std::size_t n, std::size_t d, const std::string& what) {
  if (n >= 10 * d) return "";
  const double q = std::sqrt(static_cast<double>(d) / static_cast<double>(n));
  std::ostringstream os;
  os.precision(3);
  os << what << ": " << n << " rows for d = " << d << " (n/d = " << static_cast<double>(n) / static_cast<double>(d)
     << " < 10): the sample covariance's eigenvalues spread around the source's by up to the factors ["
     << (q < 1 ? (1 - q) * (1 - q) : 0.0) << ", " << (1 + q) * (1 + q)
     << "] (Marchenko-Pastur), so alpha* and determinant ratios are biased; read the intervals, not the point values";
  return os.str();
}

}  // namespace dpq::app
