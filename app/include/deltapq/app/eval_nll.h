// The eval-nll workflow (`deltapq eval-nll`): the model runs over a text twice -- once with its fp32
// KV cache (the reference distributions and the calibration streams), once with every K (pre-RoPE,
// rotated on read: C5) and V stream stored through the chosen scheme's online coder -- and the report
// gives the mean next-token NLL, its difference to fp32 and the mean KL of the next-token
// distributions.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "deltapq/app/distribute.h"
#include "deltapq/app/stream_audit.h"
#include "deltapq/app/uncertainty.h"
#include "deltapq/model/llama2.h"
#include "deltapq/pipeline/pipeline.h"

namespace dpq::app {

struct EvalNllOptions {
  pipeline::KvScheme scheme = pipeline::KvScheme::fp32;
  int bits = 4;
  double kappa = 3;
  pipeline::MonitorOptions monitor;  // delta-zoned
  EtaChoice eta;                     // delta-zoned
  BootstrapOptions bootstrap;        // intervals of delta NLL and KL (paired over tokens, block bootstrap)
  std::optional<pipeline::KvScheme> versus;  // a second scheme on the same tokens: the paired difference
  // Which part of the cache goes through the scheme; the rest stays fp32: keys, values or both, and
  // the layers (empty: every layer).
  bool keys = true, values = true;
  std::vector<int> layers;
  // Called after each forward pass and each stream's eta estimate: (steps done, total steps).
  std::function<void(std::size_t, std::size_t)> progress;
};

// One position of the text: the prediction of the next token (none at the last position) and the KL of
// the next-token distributions there.
struct EvalNllToken {
  int position = 0, token = 0;
  std::optional<int> next;              // the token predicted (the text's next one)
  std::optional<double> nll_fp32, nll;  // -log p(next) with the fp32 cache and with the scheme's
  double kl = 0;                        // KL(p_fp32 || p_scheme) of the next-token distributions
};

// Which part of the cache goes through the scheme: "k", "v" or "kv"; throws dpq::Error naming the
// option (`what`, e.g. "--part =") otherwise.
void set_part(EvalNllOptions& options, const std::string& part, const std::string& what);

struct EvalNllReport {
  EvalNllOptions options;
  std::vector<EvalNllToken> per_token;  // every position, in order
  std::size_t tokens = 0;
  double nll_fp32 = 0, nll = 0, delta_nll = 0, kl = 0;  // means over next-token predictions / positions
  std::size_t resets = 0;                                // delta-zoned
  std::vector<double> eta_per_stream;                    // delta-zoned: K streams, then V streams
  // For the source (the text's distribution, not these tokens): the paired per-token NLL differences
  // and the per-position KL, block-bootstrapped (tokens are autocorrelated).
  std::optional<ref::Interval> delta_nll_ci, kl_ci;
  std::size_t block_length = 1;
  Verdict costs_nll = Verdict::undecided;  // delta NLL > 0 for the source
  // With options.versus: mean over tokens of NLL(scheme) - NLL(versus), its interval, and whether the
  // scheme is worse than the other for the source.
  std::optional<double> versus_delta_nll;
  std::optional<ref::Interval> versus_ci;
  Verdict versus_worse = Verdict::undecided;
};

// tokens: BOS first (model::tokenize_file). Throws dpq::Error on bad options (neither keys nor values,
// a layer outside the model) or a model error.
EvalNllReport eval_nll(model::Llama2& llm, const std::vector<int>& tokens, const EvalNllOptions& options);

// A sweep: eval-nll for every text x bit width (one run each, item order text-major), the runs dealt
// over OpenMP threads and MPI ranks by the same mechanism as audit-stream's streams. Every run loads
// its own copy of the model (the forward pass keeps a KV cache): memory is jobs x the checkpoint.
struct EvalNllSweepOptions {
  EvalNllOptions base;   // everything but bits (and progress, which counts runs here)
  std::vector<int> bits;  // one run per value and text
  std::optional<int> max_tokens;
  int jobs = 1;
  const Distribution* distribution = nullptr;
  std::function<void(std::size_t, std::size_t)> progress;  // (runs done, runs) on this process
};
struct EvalNllRun {
  std::string text;
  EvalNllReport report;  // report.options.bits is the run's bit width
};
struct EvalNllBitsSummary {  // one bit width over the texts: token-weighted means of the runs
  int bits = 0;
  std::size_t texts = 0, predictions = 0;
  double nll = 0, nll_fp32 = 0, delta_nll = 0, kl = 0;
};
struct EvalNllSweep {
  std::vector<EvalNllRun> runs;
  std::vector<EvalNllBitsSummary> by_bits;  // in the order of options.bits
  bool complete = true;  // false on an MPI rank other than 0 (its runs are in rank 0's sweep)
};
// One run from files: the checkpoint, its tokenizer and a text (BOS + its tokens, at most max_tokens,
// refused when longer than the model's context without it). What the CLI and Python run for one text.
EvalNllReport eval_nll_files(const std::string& model_path, const std::string& tokenizer_path, const std::string& text,
                             std::optional<int> max_tokens, const EvalNllOptions& options);

// Every text is read and tokenized before any run starts (a bad file is an error naming it, exit 2).
EvalNllSweep eval_nll_sweep(const std::string& model_path, const std::string& tokenizer_path,
                            const std::vector<std::string>& texts, const EvalNllSweepOptions& options);

}  // namespace dpq::app
