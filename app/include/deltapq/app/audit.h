// The audit workflow (`deltapq audit`, deltapq.audit in Python): the Part A theorems (A2, A4, A5, A6) checked on a stream [T, d], and with a PQ
// architecture (options.pq) the Part B statements B2 (one entry per available eta tier) and B4.
// V is the stream itself (centred by its mean); delta is the open-loop temporal delta
// x_t - x_{t-1} (T - 1 rows). Each source is quantized in its own eigenbasis.
#pragma once

#include <optional>
#include <string>
#include <vector>

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
  std::optional<ref::PqOptions> pq;  // Part B: add B2 / B4 entries for this PQ architecture
  // T < d + 2 leaves Sigma_delta (T - 1 rows) rank-deficient: the audit then describes the sample only
  // and costs as much as a full one; it is refused unless asked for.
  bool allow_small_sample = false;
};

// One checked statement. verdict is about `claim` (bound >= measured); premises say whether
// the theorem's assumptions hold on the data, so a "fails" with every premise true would be a
// counterexample to the theorem itself, and a "fails" with a false premise is a finding about
// the data (the claim of advantage does not hold there).
struct TheoremEntry {
  std::string id;         // "A2", "A4", "A5", "A6"
  std::string source;     // "V", "delta", "delta vs V"
  std::string claim;      // short name of the inequality
  std::string statement;  // the inequality in words
  Certified bound;
  Certified measured;
  Verdict verdict = Verdict::undecided;
  std::vector<std::pair<std::string, bool>> premises;
  std::string note;
  // A condition (B4: mu < 1) says whether an advantage is guaranteed; its failing is a finding about
  // the data, never a contradiction of a theorem.
  bool condition = false;
  bool premises_hold() const {
    for (const auto& p : premises)
      if (!p.second) return false;
    return true;
  }
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
};

struct AuditReport {
  std::string input;  // where the rows came from (a file name, "<array>")
  AuditOptions options;
  int precision_bits = 0;
  std::size_t tokens = 0, dim = 0;
  SourceSummary v, delta;
  ref::DominationFactor alpha;
  Verdict loewner = Verdict::undecided;  // Sigma_delta <= Sigma_V
  Certified trace_ratio;
  std::vector<TheoremEntry> theorems;
  std::optional<ref::PqReport> pq;
  bool any_fails() const;
};

// rows: row-major [tokens, dim] doubles (already validated finite). Throws dpq::Error on
// T < 2, d = 0, bits outside 0..16, kappa <= 0, a budget outside 0..16 d, a constant stream
// (tr Sigma_V = 0: nothing to quantize), or T < d + 2 without allow_small_sample.
AuditReport run_audit(const std::vector<double>& rows, std::size_t tokens, std::size_t dim, const AuditOptions& options,
                      const std::string& input);

}  // namespace dpq::app
