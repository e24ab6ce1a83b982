// Small workflows around the model and the built-in data: greedy generation (`deltapq generate`)
// and the seeded synthetic stream the demo audits (`deltapq synth`).
#pragma once

#include <cstdint>
#include <string>

#include "deltapq/core/synth.h"
#include "deltapq/model/llama2.h"
#include "deltapq/model/tokenizer.h"

namespace dpq::app {

// Decoding from BOS for up to `steps` tokens (llama2.c: a generated BOS ends the story). temperature 0
// is greedy (argmax, the lowest index on ties); above 0 the next token is drawn from softmax(logits / T)
// restricted to the smallest set of most likely tokens whose probability reaches top_p (nucleus
// sampling), with a portable generator seeded by `seed` (the same text on every machine).
struct GenerateOptions {
  int steps = 64;
  double temperature = 0;
  double top_p = 1;
  std::uint64_t seed = 2026;
};
// Throws dpq::Error for steps outside 1..seq_len, a negative or non-finite temperature, top_p outside
// (0, 1], or top_p < 1 with temperature 0 (greedy decoding has nothing to truncate).
std::string generate(model::Llama2& llm, const model::Tokenizer& tok, const GenerateOptions& options);
inline std::string generate(model::Llama2& llm, const model::Tokenizer& tok, int steps) {
  GenerateOptions o;
  o.steps = steps;
  return generate(llm, tok, o);
}

// Writes the synthetic stream [tokens, dim] as float32 .npy.
void synth(const SyntheticStreamParams& params, const std::string& out);

}  // namespace dpq::app
