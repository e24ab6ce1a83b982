#include "deltapq/app/stream_audit.h"

#include "deltapq/reference/adaptive.h"
#include "deltapq/reference/clip_search.h"

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <optional>
#include <thread>

#include "deltapq/app/report_wire.h"
#include "item_map.h"
#include "deltapq/core/error.h"
#include "deltapq/fast/simd.h"

namespace dpq::app {
namespace {

// The covariance of float rows in Real from the rows themselves (exact but for one rounding; the
// pipeline's double moments can be slightly indefinite when T < d, which the certified tests reject).
ref::RMatrix covariance_of(const pipeline::Stream& s) {
  const std::vector<double> v(s.data.begin(), s.data.end());
  return ref::sample_moments(v.data(), s.rows, s.dim).covariance;
}

std::vector<double> as_doubles(const pipeline::Stream& s) { return std::vector<double>(s.data.begin(), s.data.end()); }

// Part B on one stream: V against its open-loop deltas under a PQ of the given shape (Soft-ZCA).
ref::PqReport pq_stream(const pipeline::Stream& s, const ref::PqShape& shape) {
  const std::vector<double> v = as_doubles(s);
  const ref::SymmetricEigen eig =
      ref::symmetric_eigen(ref::sample_moments(v.data(), s.rows, s.dim).covariance, "Sigma_V");
  ref::PqOptions o;
  o.shape = shape;
  return ref::pq_audit_stream(v, s.rows, static_cast<int>(s.dim), eig, o);
}


double logdet(const Eigen::MatrixXd& a) {
  const Eigen::LLT<Eigen::MatrixXd> llt(a);
  if (llt.info() != Eigen::Success) return std::nan("");
  double s = 0;
  for (Eigen::Index i = 0; i < a.rows(); ++i) s += 2 * std::log(llt.matrixL()(i, i));
  return s;
}

// The source layer of one stream: pairs over t = 1..T-1 of x_t, the open-loop delta u_t, the loop's
// previous error e_{t-1} = x_{t-1} - x^_{t-1}, and the closed-loop delta delta_t.
void add_stream_source_layer(StreamReport& r, const pipeline::Stream& s, const pipeline::LoopResult& direct,
                             const pipeline::LoopResult& closed, const StreamAuditOptions& options) {
  const std::size_t n = s.rows - 1, d = s.dim;
  const auto dd = static_cast<Eigen::Index>(d);
  RowMatrix x(static_cast<Eigen::Index>(n), 3 * dd), delta(static_cast<Eigen::Index>(n), dd);
  for (std::size_t t = 1; t < s.rows; ++t)
    for (std::size_t j = 0; j < d; ++j) {
      const auto row = static_cast<Eigen::Index>(t - 1), col = static_cast<Eigen::Index>(j);
      x(row, col) = s.row(t)[j];
      x(row, dd + col) = static_cast<double>(s.row(t)[j]) - s.row(t - 1)[j];
      x(row, 2 * dd + col) = static_cast<double>(s.row(t - 1)[j]) - closed.reconstruction.row(t - 1)[j];
      delta(row, col) = closed.quantized_deltas.row(t - 1)[j];
    }
  const PairedStatistic stat = [dd](const RowMatrix& xs, const RowMatrix& ds, std::vector<double>& out) {
    const Eigen::MatrixXd sv = covariance(xs, 0, dd), su = covariance(xs, dd, dd), sd = covariance(ds);
    out = {domination_factor_double(su, sv), domination_factor_double(sd, sv),
           std::exp((logdet(sd) - logdet(sv)) / static_cast<double>(dd)), covariance_trace(xs, 2 * dd, dd) / sd.trace()};
  };
  const PairedBlockBootstrap boot(x, delta, options.bootstrap);
  const std::vector<double> est = boot.estimate(stat);
  r.alpha_det = est[2];
  r.c3_ratio = est[3];
  if (!options.bootstrap.enabled) return;
  StreamUncertainty u;
  u.block_length = boot.block_length();
  const auto ci = intervals(est, boot.replicates(stat), options.bootstrap.confidence, nullptr);
  u.alpha_open = ci[0];
  u.alpha_closed = ci[1];
  u.alpha_det = ci[2];
  u.c3_ratio = ci[3];
  if (u.alpha_closed) u.dominated = source_verdict(ref::Interval{1 - u.alpha_closed->hi, 1 - u.alpha_closed->lo});
  if (u.c3_ratio && r.certificate.issued)
    u.c3_premise = source_verdict(ref::Interval{r.certificate.rho - u.c3_ratio->hi, r.certificate.rho - u.c3_ratio->lo});
  std::vector<double> g, y, red, gain;
  for (pipeline::Zone z : r.zones.zones) {
    g.push_back(z == pipeline::Zone::green);
    y.push_back(z == pipeline::Zone::yellow);
    red.push_back(z == pipeline::Zone::red);
  }
  for (std::size_t t = 0; t < s.rows; ++t) {
    double ed = 0, ec = 0;
    for (std::size_t j = 0; j < d; ++j) {
      const double a = static_cast<double>(s.row(t)[j]) - direct.reconstruction.row(t)[j];
      const double b = static_cast<double>(s.row(t)[j]) - closed.reconstruction.row(t)[j];
      ed += a * a;
      ec += b * b;
    }
    gain.push_back(ed - ec);
  }
  if (g.size() >= 2) {
    u.green = series_mean_interval(g, options.bootstrap).ci;
    u.yellow = series_mean_interval(y, options.bootstrap).ci;
    u.red = series_mean_interval(red, options.bootstrap).ci;
  }
  u.mse_gain = series_mean_interval(gain, options.bootstrap).ci;
  r.uncertainty = u;
}

}  // namespace

double stream_eta(const EtaChoice& choice, const pipeline::Stream& s, EtaTiers* tiers) {
  if (!choice.automatic) return choice.value;
  const pipeline::Stream du = pipeline::deltas(s);
  const std::vector<double> v = as_doubles(s), d = as_doubles(du);
  const ref::ShapeTiers st = ref::shape_tiers(v.data(), s.rows, d.data(), du.rows, static_cast<int>(s.dim), 5, 4096, 2026);
  if (tiers) {
    tiers->ggd = ref::to_double(st.eta_ggd);
    if (st.eta_knn) tiers->knn = ref::to_double(*st.eta_knn);
  }
  return ref::to_double(st.eta_max());
}

StreamAuditReport audit_streams(const KvManifest& manifest, const StreamAuditOptions& options) {
  return audit_streams(kv_streams(manifest), options);
}

namespace {

// --kappa auto for one stream: the kappa minimising the empirical distortion of the stream's coordinates
// y = (x - mu) U in its key design's basis (computed in double from the float design), b bits each.
double auto_kappa(const pipeline::Stream& s, const pipeline::Moments& mv, int bits) {
  const fast::FastDesign d = pipeline::matched_design(mv, 3.0, bits, true);
  const pipeline::DesignCoordinates c = pipeline::design_coordinates(s, d);
  return ref::mse_optimal_kappa(c.y, s.rows, c.variance, d.bits).kappa;
}

// One stream's report (independent of every other stream: the parallel loop below relies on it).
StreamReport audit_one(const KvStreams& streams, const KvFile& f, const StreamAuditOptions& options, std::string& warning) {
  const std::string& path = f.path;
  const pipeline::Stream s = streams.load(f);
  if (s.rows < 3) throw Error(path + ": " + std::to_string(s.rows) + " tokens; the pipeline needs at least 3");
  StreamReport r;
  r.file = f;
  r.tokens = s.rows;
  r.dim = s.dim;
  const pipeline::Moments mv = pipeline::moments(s);
  r.trace_v = mv.trace();
  r.kappa = options.kappa_auto ? auto_kappa(s, mv, options.bits) : options.kappa;
  const double kappa = r.kappa;
  const fast::Codec key(pipeline::matched_design(mv, kappa, options.bits, true));
  r.calibration = pipeline::calibrate(s, key, kappa, options.bits);
  const fast::Codec delta(r.calibration.delta_design);
  // alpha* of the open-loop and the steady-state deltas (A3). Adaptive: first in double with a certified
  // enclosure (ref::domination_factor_enclosure); the full MPFR path -- Sigma_V's eigendecomposition once for
  // both -- only where that enclosure does not exist or cannot decide the domination premise.
  std::optional<ref::RMatrix> sigma_v;
  std::optional<ref::SymmetricEigen> eig_v;
  auto full_alpha = [&](const pipeline::Stream& deltas) {
    if (!sigma_v) {
      sigma_v = covariance_of(s);
      eig_v = ref::symmetric_eigen(*sigma_v, "Sigma_V");
    }
    const ref::RMatrix sigma_delta = covariance_of(deltas);
    return ref::domination_factor(sigma_delta, *sigma_v, *eig_v, ref::symmetric_eigen(sigma_delta, "Sigma_delta"));
  };
  const std::optional<ref::DoubleCovariance> cheap_v =
      options.full_precision ? std::nullopt : ref::covariance_double(as_doubles(s).data(), s.rows, s.dim);
  auto alpha = [&](const pipeline::Stream& deltas, bool decides) {
    if (cheap_v)
      if (const auto cheap_delta = ref::covariance_double(as_doubles(deltas).data(), deltas.rows, deltas.dim))
        if (const auto cheap = ref::domination_factor_enclosure(*cheap_delta, *cheap_v))
          if (!decides || ref::verdict_lt(cheap->for_decisions(), {ref::Real(1), ref::Real(0)}) != Verdict::undecided) {
            ++r.alpha_cheap;
            return cheap->factor;
          }
    return full_alpha(deltas);
  };
  r.alpha_open = alpha(pipeline::deltas(s), false);
  r.alpha_closed = alpha(r.calibration.steady_state_deltas, true);
  r.calibration.steady_state_deltas = {};
  r.dominated = r.alpha_closed.finite ? ref::verdict_lt(r.alpha_closed.alpha, {ref::Real(1), ref::Real(0)}) : Verdict::fails;
  r.certificate = pipeline::certificate(kappa, options.bits, r.calibration.open_loop.trace(),
                                        r.calibration.steady_state.trace());
  pipeline::MonitorOptions monitor = options.monitor;
  EtaTiers tiers;
  monitor.eta = r.eta = stream_eta(options.eta, s, &tiers);
  if (options.eta.automatic) r.eta_tiers = tiers;
  r.zones = pipeline::run_zoned(s, key, delta, monitor);
  r.zones.loop = {};
  const pipeline::LoopResult direct = pipeline::run_direct(s, key);
  const pipeline::LoopResult closed = pipeline::run_loop(s, pipeline::LoopMode::closed, key, delta);
  r.mse_direct = direct.mse;
  r.mse_delta = closed.mse;
  add_stream_source_layer(r, s, direct, closed, options);
  if (f.kind == "k_post")
    if (const KvFile* pre = streams.find(f.layer, f.head, "k_pre"))
      r.trace_v_rotated_mean = pipeline::rotated_mean_trace(s, streams.load(*pre), path);
  if (options.pq) {
    ref::PqShape shape;
    try {
      shape = ref::make_pq_shape(static_cast<int>(s.dim), options.pq->blocks, options.pq->bits);
    } catch (const Error& e) {
      throw Error(path + ": --pq " + options.pq_text + ": " + e.what());
    }
    if (s.rows - 1 < static_cast<std::size_t>(shape.centroids()))
      throw Error(path + ": " + std::to_string(s.rows - 1) + " delta rows, but --pq " + options.pq_text +
                  " needs at least " + std::to_string(shape.centroids()));
    r.pq = pq_stream(s, shape);
    r.pq_b2_empirical = ref::pq_ratio_check(*r.pq, r.pq->alpha, r.pq->eta_empirical).verdict;
  }
  warning = small_sample_warning(s.rows - 1, s.dim, path);
  return r;
}

}  // namespace

int default_jobs() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(std::min(n, 256u));
}

void use_one_blas_thread() { fast::set_blas_threads(1); }

StreamAuditReport audit_streams(const KvStreams& streams, const StreamAuditOptions& options) {
  StreamAuditReport report;
  report.input = streams.input;
  report.options = options;
  if (streams.files.empty()) throw Error(streams.input + ": no k_pre, k_post or v stream to audit");
  if (options.jobs < 1 || options.jobs > 1024) throw Error("--jobs " + std::to_string(options.jobs) + " is outside 1..1024");
  // A stream's result is its report and its small-sample warning; on the wire the report's size first.
  struct Result {
    StreamReport report;
    std::string warning;
  };
  auto results = detail::map_items<Result>(
      streams.files.size(), options.jobs, options.distribution,
      [&](std::size_t i) {
        Result r;
        r.report = audit_one(streams, streams.files[i], options, r.warning);
        return r;
      },
      [](const Result& r) {
        const std::string wire = to_wire(r.report);
        return std::to_string(wire.size()) + ":" + wire + r.warning;
      },
      [](const std::string& bytes) {
        const std::size_t colon = bytes.find(':');
        const std::size_t size = std::stoull(bytes.substr(0, colon));
        return Result{stream_report_from_wire(bytes.substr(colon + 1, size)), bytes.substr(colon + 1 + size)};
      },
      options.progress);
  if (!results) {  // an MPI rank other than 0: its streams went to rank 0
    report.complete = false;
    return report;
  }
  for (Result& res : *results) {
    StreamReport& r = res.report;
    if (r.pq) report.pq_joint_holds += r.pq->joint.verdict == Verdict::holds;
    report.premise_holds += r.dominated == Verdict::holds;
    if (r.uncertainty) {
      report.source_holds += r.uncertainty->dominated == Verdict::holds;
      report.source_fails += r.uncertainty->dominated == Verdict::fails;
      report.source_undecided += r.uncertainty->dominated == Verdict::undecided;
    }
    if (!res.warning.empty() && report.warnings.size() < 5) report.warnings.push_back(res.warning);
    report.streams.push_back(std::move(r));
  }
  return report;
}

}  // namespace dpq::app
