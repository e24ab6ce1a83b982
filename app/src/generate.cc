#include "deltapq/app/generate.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <utility>
#include <vector>

#include "deltapq/core/error.h"
#include "deltapq/core/npy.h"

namespace dpq::app {

namespace {

// Uniform in [0, 1) from the top 53 bits of mt19937_64 (whose output sequence the standard fixes; the
// standard's distributions are not portable).
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

int sample(const std::vector<float>& logits, const GenerateOptions& o, std::mt19937_64& rng) {
  const int n = static_cast<int>(logits.size());
  if (o.temperature == 0) return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  const double top = *std::max_element(logits.begin(), logits.end());
  std::vector<std::pair<double, int>> p(static_cast<std::size_t>(n));
  double z = 0;
  for (int i = 0; i < n; ++i) {
    const double w = std::exp((logits[static_cast<std::size_t>(i)] - top) / o.temperature);
    p[static_cast<std::size_t>(i)] = {w, i};
    z += w;
  }
  // Most likely first (ties: the lower index first), then the nucleus: the shortest prefix reaching top_p.
  std::sort(p.begin(), p.end(), [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  std::size_t keep = 0;
  double mass = 0;
  while (keep < p.size() && (keep == 0 || mass < o.top_p * z)) mass += p[keep++].first;
  double u = uniform01(rng) * mass;
  for (std::size_t k = 0; k < keep; ++k) {
    if (u < p[k].first) return p[k].second;
    u -= p[k].first;
  }
  return p[keep - 1].second;  // u landed on the rounding of the last subtraction
}

}  // namespace

std::string generate(model::Llama2& llm, const model::Tokenizer& tok, const GenerateOptions& o) {
  const int steps = o.steps;
  if (steps < 1 || steps > llm.config().seq_len)
    throw Error("--steps = " + std::to_string(steps) + " is outside 1.." + std::to_string(llm.config().seq_len));
  if (!(o.temperature >= 0) || !std::isfinite(o.temperature))
    throw Error("--temperature = " + std::to_string(o.temperature) + " must be finite and >= 0 (0: greedy)");
  if (!(o.top_p > 0 && o.top_p <= 1)) throw Error("--top-p = " + std::to_string(o.top_p) + " is outside (0, 1]");
  if (o.top_p < 1 && o.temperature == 0) throw Error("--top-p needs --temperature > 0 (greedy decoding keeps one token anyway)");
  std::mt19937_64 rng(o.seed);
  int token = model::Tokenizer::kBos;
  std::string text;
  for (int pos = 0; pos < steps; ++pos) {
    const auto& logits = llm.forward(token, pos);
    const int next = sample(logits, o, rng);
    if (next == model::Tokenizer::kBos) break;
    text += tok.decode(token, next);
    token = next;
  }
  return text;
}

void synth(const SyntheticStreamParams& params, const std::string& out) {
  write_npy(out, params.tokens, params.dim, synthetic_stream(params), /*as_float32=*/true);
}

}  // namespace dpq::app
