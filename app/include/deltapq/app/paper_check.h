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
#include "deltapq/fast/turbo_codec.h"

namespace dpq::app {

// ---- D5: the schemes at a budget of n bits per coordinate ----
enum class Scheme { kv, kqv, qkqv };
const char* to_string(Scheme s);  // "KV", "KQV", "QKQV"

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
  int mse_bits() const { return with_qjl ? budget - 1 : budget; }
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

// ---- D8: the grid and the paper's findings ----
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
};

struct PaperCell {
  std::string data;
  int d = 0, n = 0;
  std::string metric;              // "kl", "k_dir", "six_d"
  double median[3] = {0, 0, 0};    // KV, KQV, QKQV
  Scheme winner = Scheme::kv, runner_up = Scheme::kqv;
  double rank_biserial = 0, permutation_p = 1, energy = 0;
};

struct Finding {
  int id = 0;
  std::string claim;
  bool holds = false;
  std::string evidence;
};

struct PaperCheckReport {
  PaperCheckOptions options;
  std::vector<int> dims, budgets;
  std::size_t regimes = 0, datasets = 0;
  int keys = 0, queries = 0, permutations = 0;
  int kv_dim = 0;  // with kv_dir: the head dimension
  std::vector<PaperCell> table;
  std::vector<Finding> findings;
  bool complete = true;  // false on an MPI rank other than 0
};

PaperCheckReport paper_check(const PaperCheckOptions& options);

}  // namespace dpq::app
