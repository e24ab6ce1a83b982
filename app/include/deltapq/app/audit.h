// The audit workflow (`deltapq audit`, deltapq.audit in Python): the Part A theorems (A2, A4, A5, A6) checked on a stream [T, d], and with a PQ
// architecture (options.pq) the Part B statements B2 (one entry per available eta tier) and B4.
// V is the stream itself (centred by its mean); delta is the open-loop temporal delta
// x_t - x_{t-1} (T - 1 rows). Each source is quantized in its own eigenbasis.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "deltapq/app/uncertainty.h"
#include "deltapq/reference/clip_search.h"
#include "deltapq/reference/bounds.h"
#include "deltapq/reference/pq.h"

namespace dpq::app {

using ref::Certified;
using ref::Real;
using ref::RVector;

struct AuditOptions {
  int bits = 4;                  // uniform bits per eigen-rank (0..16)
  std::optional<int> budget;     // total bits: greedy allocation on Sigma_V, shared by both sources
  Real kappa = Real(3);          // clipping multiple of the matched design c_i = kappa sqrt(lambda_i)
  // --kappa auto: kappa is the one minimising V's empirical distortion under the matched design
  // (ref::mse_optimal_kappa, on V's eigen-coordinates with these bits), then used for both sources.
  bool kappa_auto = false;
  std::optional<ref::PqOptions> pq;  // Part B: add B2 / B4 entries for this PQ architecture
  // T < d + 2 leaves Sigma_delta (T - 1 rows) rank-deficient: the audit then describes the sample only
  // and costs as much as a full one; it is refused unless asked for.
  bool allow_small_sample = false;
  BootstrapOptions bootstrap;  // the source-level layer (intervals, source verdicts)
  // The full MPFR path for every certified quantity (--precision). Otherwise alpha* and the Loewner premise
  // are first decided in double with certified bounds (ref::domination_factor_enclosure) and escalated to
  // the full path only when those bounds cannot decide.
  bool full_precision = false;
  int jobs = 1;  // threads for the independent parts (the two sources, alpha* and the Loewner test); the report does not depend on it
  // Called after each part with (work done, total work) in percent of the audit's estimated cost.
  std::function<void(std::size_t, std::size_t)> progress;
};

// A premise of a theorem, decided on the data like a claim: holds, fails, or undecided (a check within
// the certified error, e.g. Sigma_delta = Sigma_V exactly) -- an undecided premise is never reported
// as false.
struct Premise {
  std::string what;
  Verdict verdict = Verdict::undecided;
};

// One checked statement, in two layers.
//   On this sample: `verdict` on `claim` (bound >= measured) against the certified error; `premises`
//   say whether the theorem's assumptions hold on the data. A claim that fails while every premise
//   holds contradicts a theorem (a deltapq bug) -- or, for a condition (B4), is a finding: no
//   guaranteed advantage. A claim that holds while a premise fails is "true; theorem not applicable".
//   For the source: `source_verdict` on the margin's confidence interval (when the statement compares
//   the two sources; sample-wise theorems such as A2/A5 hold for every distribution, the empirical one
//   included, and have none).
struct TheoremEntry {
  std::string id;         // "A2", "A4", "A5", "A6", "B2", "B4"
  std::string source;     // "V", "delta", "delta vs V"
  std::string claim;      // short name of the inequality
  std::string statement;  // the inequality in words
  Certified bound;
  Certified measured;
  Verdict verdict = Verdict::undecided;
  std::vector<Premise> premises;
  std::string note;
  bool condition = false;  // B4: a condition (is an advantage guaranteed?), not a theorem's inequality
  std::optional<ref::Interval> margin_ci;  // of bound - measured, for the source
  Verdict source_verdict = Verdict::undecided;
  std::string source_note;  // what the source layer assessed, or why it has none
  // fails if a premise fails, else undecided if one is undecided, else holds (no premises: holds).
  Verdict premises_verdict() const;
  bool premises_hold() const { return premises_verdict() == Verdict::holds; }
  // The verdict read with its premises: "holds", "fails", "undecided", "true; theorem not applicable",
  // "true; applicability undecided", "fails where the theorem does not apply", "fails: no guaranteed
  // advantage" (a condition), "fails with every premise holding: a deltapq bug".
  std::string reading() const;
  // Exit-code rule: a claim whose premises hold fails.
  bool claim_fails() const { return verdict == Verdict::fails && premises_hold(); }
};

struct SourceSummary {
  std::string name;
  std::size_t count = 0;
  Real trace;
  RVector eigenvalues;
  Real eigen_radius;
  std::vector<int> bits;
  Certified distortion_support;  // measured D with the support design (A2)
  Certified distortion_matched;  // measured D with the matched kappa design (A5)
  Real gaussian_model_bound;  // A5 with the Gaussian tail model (a model prediction, not sample-wise)
  RVector tau;              // empirical tail functional per coordinate
  RVector tau_error;        // its certified error (0 on the full path: its rounding is ~2^-250 relative)
  // The coordinate statistics (distortions, A5 bounds, tau) came from double coordinates certified against
  // the full path's (issue 16's adaptive path); false: from the MPFR eigen-coordinates.
  bool coordinates_adaptive = false;
};

struct AuditReport {
  std::string input;  // where the rows came from (a file name, "<array>")
  AuditOptions options;
  int precision_bits = 0;
  std::size_t tokens = 0, dim = 0;
  SourceSummary v, delta;
  ref::DominationFactor alpha;
  Verdict loewner = Verdict::undecided;  // Sigma_delta <= Sigma_V
  // Which of the two came from the cheap double enclosure (AuditOptions::full_precision off, and the
  // enclosure decided every verdict that reads it); the others took the full MPFR path.
  bool alpha_adaptive = false, loewner_adaptive = false;
  Certified trace_ratio;
  std::vector<TheoremEntry> theorems;
  std::optional<ref::PqReport> pq;
  // With kappa_auto: the search (options.kappa then holds the chosen kappa) and V's certified distortion
  // of the matched design at kappa = 3, beside v.distortion_matched at the chosen one.
  struct KappaAuto {
    ref::KappaChoice search;
    Certified distortion_at_3;
  };
  std::optional<KappaAuto> kappa_auto;
  bool any_fails() const;    // some claim fails on this sample
  bool claim_fails() const;  // some claim whose premises hold fails: exit code 1

  // The source layer (AuditOptions::bootstrap): intervals of the data-derived quantities the verdicts
  // rest on, and the Loewner premise for the source.
  struct PqUncertainty {
    std::optional<ref::Interval> alpha, mu;
    std::vector<std::optional<ref::Interval>> alpha_m, eta_ggd_m, eta_knn_m, mu_m;
    std::optional<ref::Interval> eta_ggd, eta_knn;  // max over blocks
    Verdict joint_source = Verdict::undecided;       // mu < 1 for the source
  };
  struct Uncertainty {
    bool computed = false;
    BootstrapSetup setup;
    std::optional<ref::Interval> alpha_star, trace_ratio;
    Verdict loewner_source = Verdict::undecided;  // alpha* <= 1, i.e. Sigma_delta <= Sigma_V, for the source
    std::optional<PqUncertainty> pq;
  } uncertainty;
  std::vector<std::string> warnings;
};

// rows: row-major [tokens, dim] doubles (already validated finite). Throws dpq::Error on
// T < 2, d = 0, bits outside 0..16, kappa <= 0, a budget outside 0..16 d, a constant stream
// (tr Sigma_V = 0: nothing to quantize), or T < d + 2 without allow_small_sample.
AuditReport run_audit(const std::vector<double>& rows, std::size_t tokens, std::size_t dim, const AuditOptions& options,
                      const std::string& input);

}  // namespace dpq::app
