// The paper-check workflow (`deltapq paper-check`): the TurboQuant-style KV / KQV / QKQV experiment
// (D5-D8). The schemes are built from the production codec (fast::TurboCodec with the shipped
// Lloyd-Max codebooks and its QJL stage); the metrics and statistics come from the reference
// (D6, D7). Definitions where the paper is silent: proofs-notes/D5.md, D8.md.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "deltapq/app/distribute.h"
#include "deltapq/app/kv_source.h"
#include "deltapq/core/verdict.h"
#include "deltapq/reference/stats.h"
#include "deltapq/fast/turbo_codec.h"
#include "deltapq/pipeline/pipeline.h"

namespace dpq::app {

// ---- D5: the schemes at a budget of n bits per coordinate ----
enum class Scheme { kv, kqv, qkqv };
const char* to_string(Scheme s);  // "KV", "KQV", "QKQV"
// The same schemes as eval-nll's --kv-scheme kv|kqv|qkqv, and back (throws dpq::Error for a Part C scheme).
pipeline::KvScheme to_kv_scheme(Scheme s);
Scheme d5_scheme(pipeline::KvScheme s);

// Bits per vector of a scheme's K or V side at budget n (the fp32 norms are counted apart).
struct BitAccount {
  int coordinate_bits = 0;  // d * bits of the scalar stage
  int sketch_bits = 0;      // m QJL bits (0 without QJL)
  int norms = 0;            // fp32 norms stored (||x|| and, with QJL, ||r||)
  int total_payload() const { return coordinate_bits + sketch_bits; }
};

// One side (K or V) of a scheme: `with_qjl` = (n-1)-bit Lloyd-Max + 1-bit QJL of the residual (m = d),
// else n-bit Lloyd-Max; `rotate` = false for KV (Lloyd-Max on the raw normalized coordinates).
struct SideSpec {
  int dim = 0, budget = 0;
  bool rotate = true, with_qjl = false;
  std::uint64_t seed = 0;
  int qjl_rows = -1;  // m of the sketch with QJL; -1: m = d (0: no room left, the side is Lloyd-Max alone)
  std::optional<fast::ScalarCodebook> codebook;  // the scalar stage's; none: the sphere marginal's
  int mse_bits() const { return with_qjl ? budget - 1 : budget; }
  int sketch_rows() const { return with_qjl ? (qjl_rows < 0 ? dim : qjl_rows) : 0; }
  BitAccount account() const;
};
SideSpec key_side(Scheme s, int dim, int n, std::uint64_t seed);
SideSpec value_side(Scheme s, int dim, int n, std::uint64_t seed);

// The Lloyd-Max codebook of the sphere marginal f_d at `bits`: the shipped table when there is one,
// else computed by the reference (192-bit arithmetic, cached; thread-safe).
fast::ScalarCodebook sphere_codebook(int dim, int bits);
// The production codec of a side.
fast::TurboCodec side_codec(const SideSpec& side);
// Rows x [n, d] through the codec: encode, then decode.
std::vector<float> round_trip(const fast::TurboCodec& codec, const std::vector<float>& x);

// D8 sensitivity, KV's alternative codebooks. The N(0, 1/d) Lloyd-Max codebook at `bits` (the Gaussian
// limit of f_d), from the reference (192-bit, cached).
fast::ScalarCodebook gaussian_codebook(int dim, int bits);
// Lloyd-Max fitted to the data: the pooled coordinates of x / ||x|| over the rows of x [n, d] (rows of
// norm 0 skipped), by Lloyd's iteration from the sphere codebook and from the sample's quantiles, the
// lower sample MSE kept (in-sample, as a deployed fit would be).
fast::ScalarCodebook empirical_codebook(const std::vector<float>& x, int dim, int bits);

// ---- D8: the grid and the paper's findings ----
// The formalization choices the abstract leaves open (proofs-notes/D8.md). The defaults are the main
// reading; `paper-check --sensitivity` varies them.
struct Formalization {
  // QJL's residual estimate added to the reconstruction (TurboQuant's inner-product quantizer) / used only
  // inside the scores and outputs (the geometric K and V errors then see the Lloyd-Max stage alone).
  enum class Qjl { reconstruction, estimator };
  // KV's codebook: the sphere marginal f_d / N(0, 1/d) / Lloyd-Max fitted to the data's coordinates.
  enum class KvCodebook { sphere, gaussian, empirical };
  // The fp32 norms outside the budget / the QJL side's second norm (32 bits) paid from its sketch, m = d - 32.
  enum class Norms { apart, charged };
  // Queries from the data's regime (or the real ones with kv_dir) / independent N(0, I).
  enum class Queries { same, gaussian };
  // The low-rank regimes: a rank-r Gaussian product / plus isotropic noise at a tenth of its scale.
  enum class LowRank { product, noisy };
  Qjl qjl = Qjl::reconstruction;
  KvCodebook kv_codebook = KvCodebook::sphere;
  Norms norms = Norms::apart;
  Queries queries = Queries::same;
  LowRank low_rank = LowRank::product;
  // "qjl=reconstruction" etc.: every choice, in this order.
  std::vector<std::pair<std::string, std::string>> choices() const;
  std::string label() const;  // the choices that differ from the defaults ("default" when none)
};
// Parses "name=value" choices as choices() prints them; throws dpq::Error naming the bad one.
void set_choice(Formalization& f, const std::string& name, const std::string& value);

struct PaperCheckOptions {
  bool quick = false;
  std::uint64_t seed = 2026;
  // A kvdump directory or a tensor file: every (layer, KV head) with its queries instead of the synthetic grid.
  std::optional<std::string> kv_dir;
  KvLayout kv_layout;  // how a tensor file's axes and names map to streams
  std::function<void(std::size_t, std::size_t)> progress;  // after each (dataset, budget) cell: done, total
  int jobs = 1;  // threads over the cells (the report does not depend on it)
  // Processes over the cells (MPI ranks; null: this process alone); rank 0 returns the whole report.
  const Distribution* distribution = nullptr;
  // The downstream check: the schemes as a running model's KV cache (eval-nll --kv-scheme kv|kqv|qkqv)
  // at every budget of the grid, on one text. Rank 0 runs it after the grid.
  struct ModelInput {
    std::string model, tokenizer, text;
    std::optional<int> max_tokens;
  };
  std::optional<ModelInput> model;
  Formalization form;
  // Runs the grid under every combination of the choices with `quick` (48 grids, 24 with kv_dir: no
  // low-rank regimes there), else under each choice changed alone (7, or 6); form must be the default.
  bool sensitivity = false;
};

// A comparison of two schemes' per-query (or per-vector) samples of one metric, A vs B: r > 0 when A
// tends to be lower (better); p the two-sided permutation p-value; energy the energy distance.
struct PairStats {
  double rank_biserial = 0, permutation_p = 1, energy = 0;
};

struct PaperCell {
  std::string data;
  int d = 0, n = 0;
  // "kl", "k_dir", "k_norm", "v_rel_mse", "out_dir", "six_d" (reference/attention.h: per query for kl,
  // out_dir and six_d, per key or value vector for the others)
  std::string metric;
  double median[3] = {0, 0, 0};    // KV, KQV, QKQV
  Scheme winner = Scheme::kv, runner_up = Scheme::kqv;
  double rank_biserial = 0, permutation_p = 1, energy = 0;  // winner vs runner-up
  PairStats kqv_vs_kv, qkqv_vs_kqv;  // the pairs the paper reports
};

// The schemes downstream: the model's next-token NLL and KL with its KV cache through each scheme.
struct DownstreamRow {
  int n = 0;
  Scheme scheme = Scheme::kv;
  double delta_nll = 0, kl = 0;  // means over the text's predictions / positions, against the fp32 cache
  std::optional<ref::Interval> delta_nll_ci;
};
// A vs B on the same tokens: mean NLL(A) - NLL(B) with its block-bootstrap interval, and whether A is
// worse for the source (undecided when the interval holds 0).
struct DownstreamPair {
  int n = 0;
  Scheme a = Scheme::kqv, b = Scheme::kv;
  double delta_nll = 0;
  std::optional<ref::Interval> ci;
  Verdict a_worse = Verdict::undecided;
};
struct DownstreamFinding {
  int id = 0;
  std::string claim;
  Verdict verdict = Verdict::undecided;
  std::string evidence;
};
struct Downstream {
  std::string model, text;
  std::size_t tokens = 0;
  int head_dim = 0;
  double confidence = 0.95;
  std::vector<DownstreamRow> rows;
  std::vector<DownstreamPair> pairs;  // per budget: KQV vs KV, QKQV vs KQV
  std::vector<DownstreamFinding> findings;
};

struct Finding {
  int id = 0;
  std::string claim;
  bool holds = false;
  std::string evidence;
  int agree = 0, cells = 0;  // cells that agree with the claim, of those judged ("holds" needs all)
};

// The findings under one formalization, and per finding whether they depend on the choices.
struct SensitivityRun {
  Formalization form;
  std::vector<Finding> findings;
};
struct FindingRobustness {
  int id = 0;
  bool robust = true;                 // the same verdict under every run
  int holds = 0, runs = 0;            // runs where the finding holds
  std::vector<std::string> flips;     // "choice=value: k of N runs flip it", for the values that flip it
};
struct Sensitivity {
  std::string design;  // which combinations ran
  std::vector<SensitivityRun> runs;  // runs[0]: the defaults (the report's own table and findings)
  std::vector<FindingRobustness> robustness;
};

struct PaperCheckReport {
  PaperCheckOptions options;
  std::vector<int> dims, budgets;
  std::size_t regimes = 0, datasets = 0;
  int keys = 0, queries = 0, permutations = 0;
  int kv_dim = 0;  // with kv_dir: the head dimension
  std::vector<PaperCell> table;
  std::vector<Finding> findings;
  std::optional<Downstream> downstream;  // with options.model
  std::optional<Sensitivity> sensitivity;  // with options.sensitivity
  bool complete = true;  // false on an MPI rank other than 0
};

PaperCheckReport paper_check(const PaperCheckOptions& options);

}  // namespace dpq::app
