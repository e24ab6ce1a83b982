// The audit-stream workflow (`deltapq audit-stream`): Part C on every stream of a kvdump directory --
// C2 calibration to the closed-loop fixed point, alpha* open-loop and at the fixed point (A3), the C3
// certificate, C4 zones and resets, direct vs closed-loop MSE, the C5 rotated-mean trace of post-RoPE
// keys, and with a PQ shape Part B per stream (V against its open-loop deltas).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "deltapq/app/distribute.h"
#include "deltapq/app/kv_source.h"
#include "deltapq/app/kvdump.h"
#include "deltapq/app/uncertainty.h"
#include "deltapq/pipeline/pipeline.h"
#include "deltapq/reference/linalg.h"
#include "deltapq/reference/pq.h"

namespace dpq::app {

// C4's eta^: automatic (the B5 estimate per stream: the larger of the GGD and k-NN tiers for V against
// its open-loop deltas, as one block; the empirical tier needs a PQ codebook, which the scalar
// pipeline does not have), or a fixed value in [0, 1).
struct EtaChoice {
  bool automatic = true;
  double value = 0;
};
struct EtaTiers {
  double ggd = 0;
  std::optional<double> knn;
};
// The monitor's eta for one stream; `tiers` receives the tiers when automatic.
double stream_eta(const EtaChoice& choice, const pipeline::Stream& s, EtaTiers* tiers);

struct StreamAuditOptions {
  int bits = 4;
  double kappa = 3;
  // --kappa auto: each stream's kappa minimises the empirical distortion of its own key design's
  // coordinates (ref::mse_optimal_kappa); the stream's report says which (StreamReport::kappa).
  bool kappa_auto = false;
  pipeline::MonitorOptions monitor;
  EtaChoice eta;
  std::optional<ref::PqShape> pq;  // dim is taken from each stream (block count and bits from here)
  std::string pq_text;             // how the user wrote it ("4x4"), for the report
  BootstrapOptions bootstrap;      // the source layer, per stream
  int jobs = 1;                    // threads over streams (the report does not depend on it)
  // --precision: every alpha* on the full MPFR path. Otherwise alpha* is first enclosed in double and
  // escalated only when that cannot decide (ref::domination_factor_enclosure).
  bool full_precision = false;
  // Processes over streams (MPI ranks; null: this process alone). Rank 0 gathers every stream's report
  // and returns the whole report, byte for byte what one process writes; other ranks return one with
  // complete = false.
  const Distribution* distribution = nullptr;
  // Called after each stream (from a worker thread, serialized): streams done, total.
  std::function<void(std::size_t, std::size_t)> progress;
};

// The machine's hardware threads (at least 1): the CLI's default for --jobs.
int default_jobs();
// For a program that parallelizes the workflows itself (the CLI): the fast path's BLAS calls on one
// thread (fast::set_blas_threads; OpenBLAS's own workers would only spin between the small calls).
void use_one_blas_thread();

// The source layer of one stream (block bootstrap of (x_t, u_t, e_{t-1}, delta_t) over t).
struct StreamUncertainty {
  std::size_t block_length = 1;
  std::optional<ref::Interval> alpha_open, alpha_closed, alpha_det, c3_ratio;
  std::optional<ref::Interval> green, yellow, red;  // zone fractions
  std::optional<ref::Interval> mse_gain;             // mse_direct - mse_delta
  Verdict dominated = Verdict::undecided;            // alpha*_closed < 1 for the source
  Verdict c3_premise = Verdict::undecided;           // tr Sigma_e <= rho tr Sigma_delta for the source
};

struct StreamReport {
  KvFile file;
  std::size_t tokens = 0, dim = 0;
  double kappa = 3;  // the clipping multiple this stream's designs and certificate used
  double trace_v = 0;
  pipeline::Calibration calibration;
  ref::DominationFactor alpha_open, alpha_closed;
  Verdict dominated = Verdict::undecided;  // alpha*_closed < 1 (certified)
  // How many of the two alpha* came from the cheap double enclosure (0..2); the rest took the full MPFR
  // path (StreamAuditOptions::full_precision, or an enclosure that did not exist or could not decide).
  int alpha_cheap = 0;
  pipeline::Certificate certificate;
  double eta = 0;
  std::optional<EtaTiers> eta_tiers;
  pipeline::ZonedResult zones;  // the loop's reconstruction is dropped (counts, transitions kept)
  double mse_direct = 0, mse_delta = 0;
  // The determinant ratio (det Sigma_delta / det Sigma_V)^(1/d) at the fixed point: the alpha of B2 and
  // of the C4 monitor (not the Loewner alpha*, which bounds every direction).
  double alpha_det = 0;
  double c3_ratio = 0;  // tr Sigma_e / tr Sigma_delta of the steady-state loop: C3's premise is <= rho
  std::optional<StreamUncertainty> uncertainty;
  std::optional<double> trace_v_rotated_mean;  // k_post with its k_pre in the dump (C5)
  std::optional<ref::PqReport> pq;
  Verdict pq_b2_empirical = Verdict::undecided;  // B2 with the measured eta
};

struct StreamAuditReport {
  std::string input;
  StreamAuditOptions options;
  std::vector<StreamReport> streams;
  std::size_t premise_holds = 0;  // streams with alpha*_closed < 1 certified
  std::size_t pq_joint_holds = 0;
  std::size_t source_holds = 0, source_fails = 0, source_undecided = 0;  // alpha*_closed < 1 for the source
  std::vector<std::string> warnings;
  bool complete = true;  // false on an MPI rank other than 0 (its streams went to rank 0)
};

// Throws dpq::Error naming the file for an unreadable stream, fewer than 3 tokens, too few rows for
// the PQ shape, or a PQ shape that does not divide a stream's dimension.
StreamAuditReport audit_streams(const KvStreams& streams, const StreamAuditOptions& options);
StreamAuditReport audit_streams(const KvManifest& manifest, const StreamAuditOptions& options);

}  // namespace dpq::app
