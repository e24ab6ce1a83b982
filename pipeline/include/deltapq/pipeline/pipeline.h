// The delta pipeline of Part C on one stream [T, d] (one layer, one head, one of K pre-RoPE,
// K post-RoPE or V), over the fast Part A codec: C1 loops, C2 calibration, C3 certificate, C4 zone
// monitor, C5 RoPE, and the online stream coders a KV cache runs (eval-nll).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "deltapq/core/verdict.h"
#include "deltapq/fast/codec.h"
#include "deltapq/fast/turbo_codec.h"
#include "deltapq/pipeline/delta_loop.h"

namespace dpq::pipeline {

// Row-major [rows, dim] stream in float.
struct Stream {
  std::size_t rows = 0, dim = 0;
  std::vector<float> data;
  const float* row(std::size_t t) const { return data.data() + t * dim; }
};

struct Moments {
  std::vector<double> mean;        // d
  std::vector<double> covariance;  // d x d (normalised by 1/T)
  double trace() const;
};
Moments moments(const Stream& s);
// Open-loop deltas u_t = x_t - x_{t-1} (rows - 1 rows).
Stream deltas(const Stream& s);

// A design's coordinates of every row, y_ti = sum_j (x_tj - mu_j) U_ji in double (mean and basis as the
// float design stores them; an empty basis is the identity), and each coordinate's variance (1/T): what
// --kappa auto searches over (ref::mse_optimal_kappa / mse_optimal_kappas).
struct DesignCoordinates {
  std::vector<double> y;         // rows x d, row-major
  std::vector<double> variance;  // d
};
DesignCoordinates design_coordinates(const Stream& s, const fast::FastDesign& d);

// Matched design in the eigenbasis of `m` (core's matched_clip: c_i = kappa sqrt(lambda_i), null
// directions floored), `bits` per coordinate; `centered` = false gives a zero mean (deltas).
fast::FastDesign matched_design(const Moments& m, double kappa, int bits, bool centered);

// C1 on a whole stream: reconstructions and the quantized deltas, with key frames at t = 0 and at
// every t in `resets`.
struct LoopResult {
  Stream reconstruction;
  Stream quantized_deltas;  // delta_t fed to Q_delta (rows - 1 rows; row t-1 belongs to t)
  double mse = 0;           // mean over rows of ||x_t - x^_t||^2
};
LoopResult run_loop(const Stream& s, LoopMode mode, const fast::Codec& key, const fast::Codec& delta,
                    const std::vector<bool>& resets = {});
// Direct (intra) coding of every row with Q_V.
LoopResult run_direct(const Stream& s, const fast::Codec& key);

// C2: steady-state calibration of Q_delta on the closed loop.
struct Calibration {
  fast::FastDesign delta_design;
  Moments open_loop;     // of u_t (ground truth)
  Moments steady_state;  // of the closed-loop deltas at the fixed point
  Stream steady_state_deltas;  // those deltas (the last round's loop)
  int rounds = 0;
  bool converged = false;  // SPEC rule: relative change of tr Sigma_delta < tolerance (1e-6)
  // The rule above rarely fires on finite data: each redesign moves the sample errors, so the trace
  // wanders within its own sampling noise. `settled` says the iteration reached that band: a change
  // within 3 sqrt(2) standard errors of the trace estimate (SE from the sample variance of
  // ||delta_t - mean||^2). settled_round is the first round where it did (0: never).
  bool settled = false;
  int settled_round = 0;
  double trace_standard_error = 0;
  std::vector<double> trace_history;  // tr Sigma_delta per round
};
Calibration calibrate(const Stream& s, const fast::Codec& key, double kappa, int bits, int max_rounds = 50,
                      double tolerance = 1e-6);

// C3: contraction certificate. rho = kappa^2 4^{-min b} (bounded support, matched design).
struct Certificate {
  double rho = 0;
  bool issued = false;          // rho < 1
  double bound = 0;             // tr Sigma_u / (1 - sqrt rho)^2
  double bound_orthogonal = 0;  // tr Sigma_u / (1 - rho), when e is orthogonal to u
  double trace_delta = 0;       // steady-state tr Sigma_delta
  Verdict verdict = Verdict::undecided;  // on tr Sigma_delta <= bound (when issued)
  // "holds", "fails", or "no certificate" (rho >= 1).
  std::string label() const { return issued ? to_string(verdict) : "no certificate"; }
};
Certificate certificate(double kappa, int min_bits, double trace_u, double trace_delta);

// C4: risk monitor. mu_t = alpha^_t (1 + eta) / (1 - eta), alpha^_t the determinant ratio of
// exponentially weighted covariances (half-life H tokens) of the closed-loop deltas and of V.
struct MonitorOptions {
  double half_life = 64;
  double theta = 0.8;  // Green: mu <= theta; Yellow: theta < mu < 1; Red: mu >= 1
  double eta = 0.0;    // the B5 shape estimate (audit-stream and eval-nll pass the B5 tiers' value)
  int warmup = 0;      // tokens before the monitor may leave Green (0: d + 1)
};
enum class Zone { green, yellow, red };
const char* to_string(Zone z);
struct Transition {
  std::size_t t;
  Zone from, to;
  std::string cause;
};
struct ZonedResult {
  LoopResult loop;
  std::vector<Zone> zones;
  std::vector<Transition> transitions;
  std::size_t resets = 0;
  std::size_t green = 0, yellow = 0, red = 0;
};
// The zone state machine over the closed loop, online (one token at a time), as a KV cache would run
// it. The monitor starts from the calibration covariances (Sigma_V of the stream, Sigma_delta of its
// deltas) and tracks them with exponential weights. Red at t makes t + 1 a key frame, and the stream
// stays intra-coded until mu <= theta again.
class ZonedCoder {
 public:
  ZonedCoder(const fast::Codec& key, const fast::Codec& delta, const Moments& v, const Moments& delta_moments,
             const MonitorOptions& opt);
  ~ZonedCoder();
  ZonedCoder(ZonedCoder&&) noexcept;
  // Codes x_t, writes x^_t, returns the zone after this token.
  Zone step(const float* x, float* out);
  const std::vector<Transition>& transitions() const;
  std::size_t resets() const;
  // Whether the last step() coded its token as a key frame (intra).
  bool last_was_key_frame() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

ZonedResult run_zoned(const Stream& s, const fast::Codec& key, const fast::Codec& delta, const MonitorOptions& opt);

// C5: RoPE of a whole stream, row t rotated by position first_position + t. Throws dpq::Error when
// the dimension is odd (RoPE rotates pairs).
Stream rope(const Stream& pre, std::size_t first_position, double base = 10000.0);
// C5: the trace of post-RoPE keys around the position-rotated pre-RoPE mean, (1/T) sum_t
// ||k_post_t - R_t mu_pre||^2 (the right centring for post-RoPE keys, instead of a fixed mean).
// Throws dpq::Error naming `what` unless both streams have the same shape and an even dimension.
double rotated_mean_trace(const Stream& post, const Stream& pre, const std::string& what, double base = 10000.0);

// ---- The KV cache's online coders (one per stream), as eval-nll runs them ----
// The Part C schemes (online coders calibrated on the stream), and the D5 schemes kv, kqv, qkqv of the
// TurboQuant-style experiment (memoryless: every vector through its side's codec, proofs-notes/D5.md).
enum class KvScheme { fp32, direct, delta_open, delta_closed, delta_zoned, kv, kqv, qkqv };
// "fp32", "direct", "delta-open", "delta-closed", "delta-zoned", "kv", "kqv", "qkqv"
const char* to_string(KvScheme s);
bool is_d5_scheme(KvScheme s);  // kv, kqv or qkqv
// Throws dpq::Error naming the text unless it is one of the names above.
KvScheme parse_kv_scheme(const std::string& text);

class StreamCoder {
 public:
  virtual ~StreamCoder() = default;
  // Codes the next vector of the stream (d floats) and writes what the cache stores for it.
  virtual void step(const float* x, float* out) = 0;
  virtual std::size_t resets() const { return 0; }
};
// Designs calibrated in-sample on `calibration` (proofs-notes/C2.md): direct codes every vector with
// the matched Q_V; delta-open with Q_delta matched to the open-loop deltas; delta-closed and
// delta-zoned with Q_delta at the C2 fixed point; delta-zoned adds the C4 monitor (opt.eta).
// A D5 scheme is not calibrated, and its codec (a codebook of the sphere marginal) is built by the
// application layer: this throws dpq::Error for kv, kqv and qkqv; use make_codec_coder.
std::unique_ptr<StreamCoder> make_stream_coder(KvScheme scheme, const Stream& calibration, double kappa, int bits,
                                               const MonitorOptions& opt);
// A memoryless coder over a TurboQuant-style codec: each vector is encoded to its record and decoded.
std::unique_ptr<StreamCoder> make_codec_coder(fast::TurboCodec codec);

}  // namespace dpq::pipeline
