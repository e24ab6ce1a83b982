#include "deltapq/pipeline/pipeline.h"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <cmath>
#include <algorithm>
#include <limits>
#include <sstream>

#include "deltapq/core/error.h"
#include "deltapq/model/llama2.h"

namespace dpq::pipeline {
namespace {

using MatD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// One row through a codec: encode then decode (the fast codec's own round trip).
struct RowCodec {
  const fast::Codec& codec;
  std::vector<std::uint8_t> codes;
  explicit RowCodec(const fast::Codec& c) : codec(c), codes(c.bytes_per_row()) {}
  void operator()(const float* in, float* out) {
    codec.encode(in, 1, codes.data());
    codec.decode(codes.data(), 1, out);
  }
};

// log det of an exponentially weighted covariance A <- alpha A + beta v v^T, tracked through its Cholesky
// factor: a scaled rank-one update costs O(d^2) per token where an eigen- or Cholesky decomposition costs
// O(d^3). While A is not positive definite (the first tokens, a constant coordinate) the factor is
// recomputed from A itself until it exists; log det is NaN until then. The update is written out because
// Eigen's LLT::rankUpdate has no scaled form (A <- alpha A + ...) and no way to rescale its factor.
class TrackedLogDet {
 public:
  void update(double alpha, double beta, const Eigen::VectorXd& v, const MatD& a) {
    if (valid_) {
      rank_one_update(alpha, beta, v);
      if (!valid_) refactor(a);
    } else {
      refactor(a);
    }
  }
  void refactor(const MatD& a) {
    const Eigen::LLT<MatD> llt(a);
    valid_ = llt.info() == Eigen::Success;
    if (valid_) l_ = llt.matrixL();
    valid_ = valid_ && positive_diagonal();
  }
  double log_det() const {
    if (!valid_) return std::numeric_limits<double>::quiet_NaN();
    double s = 0;
    for (Eigen::Index k = 0; k < l_.rows(); ++k) s += std::log(l_(k, k));
    return 2 * s;
  }

 private:
  bool positive_diagonal() const {
    for (Eigen::Index k = 0; k < l_.rows(); ++k)
      if (!(l_(k, k) > 0) || !std::isfinite(l_(k, k))) return false;
    return true;
  }
  // L L^T <- alpha L L^T + beta v v^T (alpha > 0, beta >= 0): scale, then the classic rotation-based update.
  void rank_one_update(double alpha, double beta, const Eigen::VectorXd& v) {
    const Eigen::Index d = l_.rows();
    l_ *= std::sqrt(alpha);
    work_ = v * std::sqrt(beta);
    for (Eigen::Index k = 0; k < d; ++k) {
      const double lkk = l_(k, k), xk = work_(k);
      const double r = std::hypot(lkk, xk);
      const double c = r / lkk, s = xk / lkk;
      l_(k, k) = r;
      for (Eigen::Index i = k + 1; i < d; ++i) {
        l_(i, k) = (l_(i, k) + s * work_(i)) / c;
        work_(i) = c * work_(i) - s * l_(i, k);
      }
    }
    valid_ = positive_diagonal();
  }
  MatD l_;
  Eigen::VectorXd work_;
  bool valid_ = false;
};

}  // namespace

double Moments::trace() const {
  double t = 0;
  const std::size_t d = mean.size();
  for (std::size_t i = 0; i < d; ++i) t += covariance[i * d + i];
  return t;
}

Moments moments(const Stream& s) {
  if (s.rows < 1 || s.dim < 1) throw Error("moments: empty stream");
  Moments m;
  const std::size_t d = s.dim;
  m.mean.assign(d, 0.0);
  for (std::size_t t = 0; t < s.rows; ++t)
    for (std::size_t i = 0; i < d; ++i) m.mean[i] += s.row(t)[i];
  for (auto& v : m.mean) v /= static_cast<double>(s.rows);
  // The centred rows in double, then one symmetric rank-k update (half the products, blocked).
  const auto n = static_cast<Eigen::Index>(s.rows), dd = static_cast<Eigen::Index>(d);
  MatD c(n, dd);
  for (Eigen::Index t = 0; t < n; ++t)
    for (Eigen::Index i = 0; i < dd; ++i)
      c(t, i) = static_cast<double>(s.row(static_cast<std::size_t>(t))[i]) - m.mean[static_cast<std::size_t>(i)];
  Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(dd, dd);
  cov.selfadjointView<Eigen::Lower>().rankUpdate(c.transpose(), 1.0 / static_cast<double>(s.rows));
  m.covariance.resize(d * d);
  Eigen::Map<Eigen::MatrixXd>(m.covariance.data(), dd, dd) = cov.selfadjointView<Eigen::Lower>();
  return m;
}

Stream deltas(const Stream& s) {
  Stream u{s.rows ? s.rows - 1 : 0, s.dim, {}};
  for (std::size_t t = 1; t < s.rows; ++t)
    for (std::size_t i = 0; i < s.dim; ++i) u.data.push_back(s.row(t)[i] - s.row(t - 1)[i]);
  return u;
}

DesignCoordinates design_coordinates(const Stream& s, const fast::FastDesign& d) {
  const std::size_t n = s.rows, dim = s.dim;
  DesignCoordinates c{std::vector<double>(n * dim), std::vector<double>(dim, 0.0)};
  std::vector<double> centred(dim);
  for (std::size_t t = 0; t < n; ++t) {
    for (std::size_t j = 0; j < dim; ++j) centred[j] = static_cast<double>(s.row(t)[j]) - (d.mean.empty() ? 0.0 : d.mean[j]);
    for (std::size_t i = 0; i < dim; ++i) {
      double v = 0;
      if (d.basis.empty()) {
        v = centred[i];
      } else {
        for (std::size_t j = 0; j < dim; ++j) v += centred[j] * d.basis[j * dim + i];
      }
      c.y[t * dim + i] = v;
      c.variance[i] += v * v / static_cast<double>(n);
    }
  }
  return c;
}

fast::FastDesign matched_design(const Moments& m, double kappa, int bits, bool centered) {
  const std::size_t d = m.mean.size();
  const Eigen::Map<const MatD> cov(m.covariance.data(), static_cast<Eigen::Index>(d), static_cast<Eigen::Index>(d));
  Eigen::SelfAdjointEigenSolver<MatD> es(cov);
  fast::FastDesign ds;
  ds.bits.assign(d, bits);
  if (centered)
    for (double v : m.mean) ds.mean.push_back(static_cast<float>(v));
  const double top = es.eigenvalues()(static_cast<Eigen::Index>(d) - 1);
  // The widest clip must be a finite float whose smallest step is still a normal float.
  const double widest = matched_clip(top, top, kappa);
  if (!(widest <= std::numeric_limits<float>::max()))
    throw Error("kappa = " + std::to_string(kappa) + ": the matched clip kappa sqrt(lambda_max) = " + std::to_string(widest) +
                " overflows float32 (use a smaller --kappa)");
  ds.basis.resize(d * d);
  for (std::size_t r = 0; r < d; ++r) {  // rank r = r-th largest eigenvalue
    const auto col = static_cast<Eigen::Index>(d - 1 - r);
    ds.clip.push_back(static_cast<float>(matched_clip(es.eigenvalues()(col), top, kappa)));
    for (std::size_t j = 0; j < d; ++j) ds.basis[j * d + r] = static_cast<float>(es.eigenvectors()(static_cast<Eigen::Index>(j), col));
  }
  return ds;
}

LoopResult run_loop(const Stream& s, LoopMode mode, const fast::Codec& key, const fast::Codec& delta,
                    const std::vector<bool>& resets) {
  RowCodec qk(key), qd(delta);
  auto kf = [&](const float* in, float* out) { qk(in, out); };
  auto df = [&](const float* in, float* out) { qd(in, out); };
  DeltaLoop<float, decltype(kf), decltype(df)> loop(s.dim, mode, kf, df);
  LoopResult r;
  r.reconstruction = {s.rows, s.dim, std::vector<float>(s.rows * s.dim)};
  r.quantized_deltas = {0, s.dim, {}};
  double err = 0;
  for (std::size_t t = 0; t < s.rows; ++t) {
    const bool key_frame = t == 0 || (t < resets.size() && resets[t]);
    float* out = r.reconstruction.data.data() + t * s.dim;
    const auto& d = loop.step(s.row(t), out, key_frame);
    if (!key_frame) {
      r.quantized_deltas.data.insert(r.quantized_deltas.data.end(), d.begin(), d.end());
      ++r.quantized_deltas.rows;
    }
    for (std::size_t i = 0; i < s.dim; ++i) err += static_cast<double>(s.row(t)[i] - out[i]) * (s.row(t)[i] - out[i]);
  }
  r.mse = err / static_cast<double>(s.rows);
  return r;
}

LoopResult run_direct(const Stream& s, const fast::Codec& key) {
  return run_loop(s, LoopMode::closed, key, key, std::vector<bool>(s.rows, true));
}

// Standard error of the sample trace: tr Sigma^ is the mean of ||delta_t - mean||^2.
double trace_standard_error(const Stream& s, const Moments& m) {
  double s1 = 0, s2 = 0;
  for (std::size_t t = 0; t < s.rows; ++t) {
    double q = 0;
    for (std::size_t i = 0; i < s.dim; ++i) q += (s.row(t)[i] - m.mean[i]) * (s.row(t)[i] - m.mean[i]);
    s1 += q;
    s2 += q * q;
  }
  const double n = static_cast<double>(s.rows);
  return std::sqrt(std::max(0.0, s2 / n - (s1 / n) * (s1 / n)) / n);
}

// C2
Calibration calibrate(const Stream& s, const fast::Codec& key, double kappa, int bits, int max_rounds, double tolerance) {
  if (s.rows < 3) throw Error("calibration needs at least 3 tokens, got " + std::to_string(s.rows));
  Calibration c;
  c.open_loop = moments(deltas(s));
  Moments current = c.open_loop;
  double previous = current.trace();
  c.trace_history.push_back(previous);
  for (c.rounds = 1; c.rounds <= max_rounds; ++c.rounds) {
    c.delta_design = matched_design(current, kappa, bits, /*centered=*/false);
    const fast::Codec delta(c.delta_design);
    const LoopResult r = run_loop(s, LoopMode::closed, key, delta);
    current = moments(r.quantized_deltas);
    c.steady_state_deltas = r.quantized_deltas;
    const double tr = current.trace();
    c.trace_history.push_back(tr);
    c.trace_standard_error = trace_standard_error(r.quantized_deltas, current);
    if (!c.settled && std::fabs(tr - previous) <= 3 * std::sqrt(2.0) * c.trace_standard_error) {
      c.settled = true;
      c.settled_round = c.rounds;
    }
    if (std::fabs(tr - previous) < tolerance * std::max(std::fabs(previous), 1e-300)) {
      c.converged = true;
      break;
    }
    previous = tr;
  }
  if (c.rounds > max_rounds) c.rounds = max_rounds;
  c.steady_state = current;
  c.delta_design = matched_design(current, kappa, bits, false);
  return c;
}

// C3
Certificate certificate(double kappa, int min_bits, double trace_u, double trace_delta) {
  Certificate c;
  c.rho = kappa * kappa * std::pow(4.0, -min_bits);
  c.trace_delta = trace_delta;
  c.issued = c.rho < 1;
  if (!c.issued) return c;
  const double sr = std::sqrt(c.rho);
  c.bound = trace_u / ((1 - sr) * (1 - sr));
  c.bound_orthogonal = trace_u / (1 - c.rho);
  c.verdict = trace_delta <= c.bound ? Verdict::holds : Verdict::fails;
  return c;
}

const char* to_string(Zone z) { return z == Zone::green ? "green" : z == Zone::yellow ? "yellow" : "red"; }

// C4
struct ZonedCoder::State {
  State(const fast::Codec& key, const fast::Codec& delta, const MonitorOptions& o, std::size_t dim)
      : opt(o), d(dim), loop(dim, LoopMode::closed, RowCodec(key), RowCodec(delta)) {}
  MonitorOptions opt;
  std::size_t d;
  DeltaLoop<float, RowCodec, RowCodec> loop;  // the one closed-loop coder
  MatD sv, sd;
  TrackedLogDet logdet_v, logdet_d;  // log det sv and log det sd, updated with them
  Eigen::VectorXd mean_v;
  double w = 0;
  bool intra = true;
  bool last_key = false;
  Zone zone = Zone::green;
  std::size_t t = 0, resets = 0;
  std::vector<Transition> transitions;
};

ZonedCoder::ZonedCoder(const fast::Codec& key, const fast::Codec& delta, const Moments& v, const Moments& dm,
                       const MonitorOptions& opt)
    : s_(new State(key, delta, opt, v.mean.size())) {
  if (!(opt.half_life > 0)) throw Error("monitor: half-life must be > 0");
  if (!(opt.theta > 0 && opt.theta < 1)) throw Error("monitor: theta = " + std::to_string(opt.theta) + " must be in (0, 1)");
  const auto d = static_cast<Eigen::Index>(s_->d);
  s_->sv = Eigen::Map<const MatD>(v.covariance.data(), d, d);
  s_->sd = Eigen::Map<const MatD>(dm.covariance.data(), d, d);
  s_->mean_v = Eigen::Map<const Eigen::VectorXd>(v.mean.data(), d);
  s_->w = std::pow(0.5, 1.0 / opt.half_life);
  s_->logdet_v.refactor(s_->sv);
  s_->logdet_d.refactor(s_->sd);
}
ZonedCoder::~ZonedCoder() = default;
ZonedCoder::ZonedCoder(ZonedCoder&&) noexcept = default;
const std::vector<Transition>& ZonedCoder::transitions() const { return s_->transitions; }
std::size_t ZonedCoder::resets() const { return s_->resets; }
bool ZonedCoder::last_was_key_frame() const { return s_->last_key; }

Zone ZonedCoder::step(const float* x, float* out) {
  State& st = *s_;
  const std::size_t d = st.d;
  st.last_key = st.intra;
  // The closed-loop delta x_t - x^_{t-1} (zero at t = 0): coded unless this token is intra; the
  // monitor tracks it either way.
  const std::vector<float>& dl = st.loop.step(x, out, st.intra);
  if (st.intra && st.t) ++st.resets;
  Eigen::VectorXd xv(static_cast<Eigen::Index>(d)), dv(static_cast<Eigen::Index>(d));
  bool finite = true;
  for (std::size_t i = 0; i < d; ++i) {
    xv(static_cast<Eigen::Index>(i)) = x[i];
    dv(static_cast<Eigen::Index>(i)) = dl[i];
    finite = finite && std::isfinite(x[i]) && std::isfinite(out[i]);
  }
  const double w = st.w;
  st.mean_v = w * st.mean_v + (1 - w) * xv;
  const Eigen::VectorXd centred = xv - st.mean_v;
  st.sv = w * st.sv + (1 - w) * centred * centred.transpose();
  st.logdet_v.update(w, 1 - w, centred, st.sv);
  if (st.t) {
    st.sd = w * st.sd + (1 - w) * dv * dv.transpose();
    st.logdet_d.update(w, 1 - w, dv, st.sd);
  }
  // (det Sigma_delta / det Sigma_V)^(1/d); NaN while either is not positive definite.
  const double log_ratio = (st.logdet_d.log_det() - st.logdet_v.log_det()) / static_cast<double>(d);
  const double mu = std::exp(log_ratio) * (1 + st.opt.eta) / (1 - st.opt.eta);
  Zone next;
  std::ostringstream cause;
  if (!finite || !std::isfinite(mu)) {
    next = Zone::red;
    cause << "non-finite input or monitor value";
  } else if (st.opt.eta >= 1) {
    next = Zone::red;
    cause << "eta = " << st.opt.eta << " >= 1";
  } else if (mu >= 1) {
    next = Zone::red;
    cause << "mu = " << mu << " >= 1";
  } else if (mu > st.opt.theta) {
    next = Zone::yellow;
    cause << "mu = " << mu << " in (theta = " << st.opt.theta << ", 1)";
  } else {
    next = Zone::green;
    cause << "mu = " << mu << " <= theta = " << st.opt.theta;
  }
  if (next != st.zone) st.transitions.push_back({st.t, st.zone, next, cause.str()});
  st.zone = next;
  // Red: the next token is a key frame and the stream stays intra-coded until mu <= theta.
  if (next == Zone::red) st.intra = true;
  else if (next == Zone::green) st.intra = false;
  else if (st.t == 0) st.intra = false;  // Yellow keeps the current mode after the first key frame
  ++st.t;
  return next;
}

ZonedResult run_zoned(const Stream& s, const fast::Codec& key, const fast::Codec& delta, const MonitorOptions& opt) {
  ZonedCoder coder(key, delta, moments(s), moments(deltas(s)), opt);
  ZonedResult z;
  z.loop.reconstruction = {s.rows, s.dim, std::vector<float>(s.rows * s.dim)};
  double err = 0;
  for (std::size_t t = 0; t < s.rows; ++t) {
    float* out = z.loop.reconstruction.data.data() + t * s.dim;
    const Zone zone = coder.step(s.row(t), out);
    z.zones.push_back(zone);
    (zone == Zone::green ? z.green : zone == Zone::yellow ? z.yellow : z.red)++;
    for (std::size_t i = 0; i < s.dim; ++i) err += static_cast<double>(s.row(t)[i] - out[i]) * (s.row(t)[i] - out[i]);
  }
  z.loop.mse = err / static_cast<double>(s.rows);
  z.transitions = coder.transitions();
  z.resets = coder.resets();
  return z;
}

// C5
Stream rope(const Stream& pre, std::size_t first_position, double base) {
  if (pre.dim % 2 != 0)
    throw Error("RoPE: dimension " + std::to_string(pre.dim) + " is odd (RoPE rotates pairs of coordinates)");
  Stream out = pre;
  for (std::size_t t = 0; t < pre.rows; ++t)
    model::apply_rope(out.data.data() + t * pre.dim, static_cast<int>(pre.dim), static_cast<int>(pre.dim),
                      static_cast<int>(first_position + t), static_cast<float>(base));
  return out;
}

double rotated_mean_trace(const Stream& post, const Stream& pre, const std::string& what, double base) {
  if (post.rows != pre.rows || post.dim != pre.dim)
    throw Error(what + ": post-RoPE keys are [" + std::to_string(post.rows) + ", " + std::to_string(post.dim) +
                "] but the pre-RoPE keys of the same layer and head are [" + std::to_string(pre.rows) + ", " +
                std::to_string(pre.dim) + "]");
  const Moments m = moments(pre);
  Stream mean_rows{post.rows, post.dim, {}};
  mean_rows.data.reserve(post.rows * post.dim);
  for (std::size_t t = 0; t < post.rows; ++t)
    for (double v : m.mean) mean_rows.data.push_back(static_cast<float>(v));
  const Stream rotated = rope(mean_rows, 0, base);
  double tr = 0;
  for (std::size_t k = 0; k < post.data.size(); ++k)
    tr += static_cast<double>(post.data[k] - rotated.data[k]) * (post.data[k] - rotated.data[k]);
  return tr / static_cast<double>(post.rows);
}

// ---- Online stream coders ----
const char* to_string(KvScheme s) {
  switch (s) {
    case KvScheme::fp32: return "fp32";
    case KvScheme::direct: return "direct";
    case KvScheme::delta_open: return "delta-open";
    case KvScheme::delta_closed: return "delta-closed";
    case KvScheme::delta_zoned: return "delta-zoned";
    case KvScheme::kv: return "kv";
    case KvScheme::kqv: return "kqv";
    case KvScheme::qkqv: return "qkqv";
  }
  return "?";
}

KvScheme parse_kv_scheme(const std::string& text) {
  for (KvScheme s : {KvScheme::fp32, KvScheme::direct, KvScheme::delta_open, KvScheme::delta_closed, KvScheme::delta_zoned,
                     KvScheme::kv, KvScheme::kqv, KvScheme::qkqv})
    if (text == to_string(s)) return s;
  throw Error("--kv-scheme = '" + text + "' is not one of fp32, direct, delta-open, delta-closed, delta-zoned, kv, kqv, qkqv");
}

bool is_d5_scheme(KvScheme s) { return s == KvScheme::kv || s == KvScheme::kqv || s == KvScheme::qkqv; }

namespace {

class CopyCoder final : public StreamCoder {
 public:
  explicit CopyCoder(std::size_t d) : d_(d) {}
  void step(const float* x, float* out) override { std::copy(x, x + d_, out); }

 private:
  std::size_t d_;
};

class DirectCoder final : public StreamCoder {
 public:
  explicit DirectCoder(fast::FastDesign key) : key_(std::move(key)), row_(key_) {}
  void step(const float* x, float* out) override { row_(x, out); }

 private:
  fast::Codec key_;
  RowCodec row_;
};

class LoopCoder final : public StreamCoder {
 public:
  LoopCoder(LoopMode mode, fast::FastDesign key, fast::FastDesign delta)
      : key_(std::move(key)), delta_(std::move(delta)), loop_(key_.dim(), mode, RowCodec(key_), RowCodec(delta_)) {}
  void step(const float* x, float* out) override { loop_.step(x, out, false); }

 private:
  fast::Codec key_, delta_;
  DeltaLoop<float, RowCodec, RowCodec> loop_;
};

class ZonedStreamCoder final : public StreamCoder {
 public:
  ZonedStreamCoder(fast::FastDesign key, fast::FastDesign delta, const Moments& v, const Moments& dm, const MonitorOptions& opt)
      : key_(std::move(key)), delta_(std::move(delta)), coder_(key_, delta_, v, dm, opt) {}
  void step(const float* x, float* out) override { coder_.step(x, out); }
  std::size_t resets() const override { return coder_.resets(); }

 private:
  fast::Codec key_, delta_;
  ZonedCoder coder_;
};

class CodecCoder final : public StreamCoder {
 public:
  explicit CodecCoder(fast::TurboCodec codec) : codec_(std::move(codec)), record_(codec_.bytes_per_vector()) {}
  void step(const float* x, float* out) override {
    codec_.encode(x, 1, record_.data());
    codec_.decode(record_.data(), 1, out);
  }

 private:
  fast::TurboCodec codec_;
  std::vector<std::uint8_t> record_;
};

}  // namespace

std::unique_ptr<StreamCoder> make_codec_coder(fast::TurboCodec codec) { return std::make_unique<CodecCoder>(std::move(codec)); }

std::unique_ptr<StreamCoder> make_stream_coder(KvScheme scheme, const Stream& s, double kappa, int bits,
                                               const MonitorOptions& opt) {
  if (scheme == KvScheme::fp32) return std::make_unique<CopyCoder>(s.dim);
  if (is_d5_scheme(scheme))
    throw Error(std::string("--kv-scheme ") + to_string(scheme) + ": a D5 scheme is built from its side's codec (make_codec_coder)");
  const Moments mv = moments(s);
  fast::FastDesign key = matched_design(mv, kappa, bits, true);
  if (scheme == KvScheme::direct) return std::make_unique<DirectCoder>(std::move(key));
  if (scheme == KvScheme::delta_open)
    return std::make_unique<LoopCoder>(LoopMode::open, key, matched_design(moments(deltas(s)), kappa, bits, false));
  const fast::Codec key_codec(key);
  Calibration cal = calibrate(s, key_codec, kappa, bits);
  if (scheme == KvScheme::delta_closed)
    return std::make_unique<LoopCoder>(LoopMode::closed, std::move(key), std::move(cal.delta_design));
  return std::make_unique<ZonedStreamCoder>(std::move(key), std::move(cal.delta_design), mv, cal.steady_state, opt);
}

}  // namespace dpq::pipeline
