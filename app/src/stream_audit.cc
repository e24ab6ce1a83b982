#include "deltapq/app/stream_audit.h"

#include "deltapq/core/error.h"

namespace dpq::app {
namespace {

// The covariance of float rows in Real from the rows themselves (exact but for one rounding; the
// pipeline's double moments can be slightly indefinite when T < d, which the certified tests reject).
ref::RMatrix covariance_of(const pipeline::Stream& s) {
  const std::vector<double> v(s.data.begin(), s.data.end());
  return ref::sample_moments(ref::to_real(v.data(), s.rows, s.dim)).covariance;
}

std::vector<double> as_doubles(const pipeline::Stream& s) { return std::vector<double>(s.data.begin(), s.data.end()); }

// Part B on one stream: V against its open-loop deltas under a PQ of the given shape (Soft-ZCA).
ref::PqReport pq_stream(const pipeline::Stream& s, const ref::PqShape& shape) {
  const std::vector<double> v = as_doubles(s);
  const ref::SymmetricEigen eig =
      ref::symmetric_eigen(ref::sample_moments(ref::to_real(v.data(), s.rows, s.dim)).covariance, "Sigma_V");
  ref::PqOptions o;
  o.shape = shape;
  return ref::pq_audit_stream(v, s.rows, static_cast<int>(s.dim), eig, o);
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
  StreamAuditReport report;
  report.input = manifest.dir;
  report.options = options;
  for (const KvFile& f : manifest.files) {
    const std::string path = manifest.resolve(f.path);
    const pipeline::Stream s = load_stream(manifest, f);
    if (s.rows < 3) throw Error(path + ": " + std::to_string(s.rows) + " tokens; the pipeline needs at least 3");
    StreamReport r;
    r.file = f;
    r.tokens = s.rows;
    r.dim = s.dim;
    const pipeline::Moments mv = pipeline::moments(s);
    r.trace_v = mv.trace();
    const fast::Codec key(pipeline::matched_design(mv, options.kappa, options.bits, true));
    r.calibration = pipeline::calibrate(s, key, options.kappa, options.bits);
    const fast::Codec delta(r.calibration.delta_design);
    const ref::RMatrix sigma_v = covariance_of(s);
    r.alpha_open = ref::domination_factor(covariance_of(pipeline::deltas(s)), sigma_v);
    r.alpha_closed = ref::domination_factor(covariance_of(r.calibration.steady_state_deltas), sigma_v);
    r.calibration.steady_state_deltas = {};
    r.dominated = r.alpha_closed.finite ? ref::verdict_lt(r.alpha_closed.alpha, {ref::Real(1), ref::Real(0)}) : Verdict::fails;
    r.certificate = pipeline::certificate(options.kappa, options.bits, r.calibration.open_loop.trace(),
                                          r.calibration.steady_state.trace());
    pipeline::MonitorOptions monitor = options.monitor;
    EtaTiers tiers;
    monitor.eta = r.eta = stream_eta(options.eta, s, &tiers);
    if (options.eta.automatic) r.eta_tiers = tiers;
    r.zones = pipeline::run_zoned(s, key, delta, monitor);
    r.zones.loop = {};
    r.mse_direct = pipeline::run_direct(s, key).mse;
    r.mse_delta = pipeline::run_loop(s, pipeline::LoopMode::closed, key, delta).mse;
    if (f.kind == "k_post")
      if (const KvFile* pre = manifest.find(f.layer, f.head, "k_pre"))
        r.trace_v_rotated_mean = pipeline::rotated_mean_trace(s, load_stream(manifest, *pre), path);
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
      report.pq_joint_holds += r.pq->joint.verdict == Verdict::holds;
    }
    report.premise_holds += r.dominated == Verdict::holds;
    report.streams.push_back(std::move(r));
  }
  return report;
}

}  // namespace dpq::app
