// What the CLI tests share: running deltapq, reading its JSON, and the shared model's files.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_run.h"
#include "test_files.h"

namespace dpq::testing {

inline CliRun run(const std::string& args) { return run_cli(args); }

inline nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// The llama2.c checkpoint and tokenizer of DPQ_MODELS, and the repository's story as the text.
// A test checks DPQ_REQUIRE_SHARED_MODEL(files.model) before using them.
struct ModelFiles {
  std::string model, tokenizer, text;
};
inline ModelFiles model_files() {
  return {shared_models() + "/stories260K.bin", shared_models() + "/tok512.bin", std::string(DPQ_SOURCE_DIR) + "/data/story.txt"};
}

}  // namespace dpq::testing
