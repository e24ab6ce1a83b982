#include "deltapq/app/generate.h"

#include <algorithm>

#include "deltapq/core/error.h"
#include "deltapq/core/npy.h"

namespace dpq::app {

std::string generate(model::Llama2& llm, const model::Tokenizer& tok, int steps) {
  if (steps < 1 || steps > llm.config().seq_len)
    throw Error("--steps = " + std::to_string(steps) + " is outside 1.." + std::to_string(llm.config().seq_len));
  int token = model::Tokenizer::kBos;
  std::string text;
  for (int pos = 0; pos < steps; ++pos) {
    const auto& logits = llm.forward(token, pos);
    const int next = static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
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
