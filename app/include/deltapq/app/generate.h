// Small workflows around the model and the built-in data: greedy generation (`deltapq generate`)
// and the seeded synthetic stream the demo audits (`deltapq synth`).
#pragma once

#include <string>

#include "deltapq/core/synth.h"
#include "deltapq/model/llama2.h"
#include "deltapq/model/tokenizer.h"

namespace dpq::app {

// Greedy decoding from BOS for up to `steps` tokens (llama2.c: a generated BOS ends the story).
std::string generate(model::Llama2& llm, const model::Tokenizer& tok, int steps);

// Writes the synthetic stream [tokens, dim] as float32 .npy.
void synth(const SyntheticStreamParams& params, const std::string& out);

}  // namespace dpq::app
