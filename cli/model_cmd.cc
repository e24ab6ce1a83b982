// deltapq generate --model M --tokenizer T [--steps N]
// deltapq kvdump --model M --tokenizer T --text FILE --out DIR
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "args.h"
#include "commands.h"
#include "deltapq/core/atomic_file.h"
#include "deltapq/core/error.h"
#include "deltapq/core/npy.h"
#include "deltapq/model/llama2.h"
#include "deltapq/model/tokenizer.h"

namespace dpq::cli {
namespace {

struct Loaded {
  model::Llama2 llm;
  model::Tokenizer tok;
};

Loaded load(const Args& args) {
  const auto m = args.text("--model");
  const auto t = args.text("--tokenizer");
  if (!m || !t) throw Error("needs --model FILE.bin and --tokenizer FILE.bin (llama2.c format; the shared test model "
                            "is ../shared/models/stories260K.bin with tok512.bin)");
  model::Llama2 llm(*m);
  model::Tokenizer tok(*t, llm.config().vocab_size);
  return {std::move(llm), std::move(tok)};
}

int argmax(const std::vector<float>& v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

}  // namespace

int run_generate(int argc, char** argv) {
  Args args(argc, argv, {"--model", "--tokenizer", "--steps"}, {});
  Loaded x = load(args);
  const int steps = static_cast<int>(args.integer("--steps", 1, x.llm.config().seq_len).value_or(64));
  int token = model::Tokenizer::kBos;
  std::string text;
  for (int pos = 0; pos < steps; ++pos) {
    const int next = argmax(x.llm.forward(token, pos));
    if (next == model::Tokenizer::kBos) break;  // llama2.c: BOS ends a story
    text += x.tok.decode(token, next);
    token = next;
  }
  std::cout << text << "\n";
  return 0;
}

int run_kvdump(int argc, char** argv) {
  Args args(argc, argv, {"--model", "--tokenizer", "--text", "--out"}, {});
  const auto text_path = args.text("--text");
  const auto out = args.text("--out");
  if (!text_path || !out) throw Error("kvdump needs --text FILE and --out DIR");
  Loaded x = load(args);
  const auto& c = x.llm.config();
  const std::vector<int> tokens = model::tokenize_file(x.tok, *text_path, c.seq_len);

  const std::size_t T = tokens.size(), hd = static_cast<std::size_t>(c.head_dim());
  const std::size_t heads = static_cast<std::size_t>(c.n_layers) * c.n_kv_heads;
  std::vector<std::vector<double>> k_pre(heads), k_post(heads), v(heads);
  for (auto* arr : {&k_pre, &k_post, &v})
    for (auto& a : *arr) a.reserve(T * hd);
  const model::KvHook hook = [&](int layer, int kv_head, int, const float* kp, float* kr, float* vv) {
    const std::size_t idx = static_cast<std::size_t>(layer) * c.n_kv_heads + kv_head;
    k_pre[idx].insert(k_pre[idx].end(), kp, kp + hd);
    k_post[idx].insert(k_post[idx].end(), kr, kr + hd);
    v[idx].insert(v[idx].end(), vv, vv + hd);
  };
  std::vector<std::vector<double>> q(static_cast<std::size_t>(c.n_layers) * c.n_heads);
  const model::QueryHook qhook = [&](int layer, int head, int, const float* qv) {
    auto& dst = q[static_cast<std::size_t>(layer) * c.n_heads + head];
    dst.insert(dst.end(), qv, qv + hd);
  };
  for (std::size_t pos = 0; pos < T; ++pos) x.llm.forward(tokens[pos], static_cast<int>(pos), hook, qhook);

  std::filesystem::create_directories(*out);
  nlohmann::ordered_json manifest;
  manifest["model"] = *args.text("--model");
  manifest["config"] = {{"dim", c.dim}, {"hidden_dim", c.hidden_dim}, {"n_layers", c.n_layers}, {"n_heads", c.n_heads},
                        {"n_kv_heads", c.n_kv_heads}, {"vocab_size", c.vocab_size}, {"seq_len", c.seq_len},
                        {"head_dim", c.head_dim()}, {"rope_base", 10000.0}};
  manifest["tokens"] = tokens;
  manifest["files"] = nlohmann::ordered_json::array();
  for (int l = 0; l < c.n_layers; ++l)
    for (int h = 0; h < c.n_kv_heads; ++h) {
      const std::size_t idx = static_cast<std::size_t>(l) * c.n_kv_heads + h;
      for (auto [kind, data] : {std::pair{"k_pre", &k_pre[idx]}, {"k_post", &k_post[idx]}, {"v", &v[idx]}}) {
        const std::string name = "L" + std::to_string(l) + "_H" + std::to_string(h) + "_" + kind + ".npy";
        write_npy((std::filesystem::path(*out) / name).string(), T, hd, *data, /*as_float32=*/true);
        manifest["files"].push_back({{"layer", l}, {"head", h}, {"kind", kind}, {"path", name}, {"shape", {T, hd}}});
      }
    }
  // Post-RoPE queries of every query head, with the KV head they attend through (GQA).
  for (int l = 0; l < c.n_layers; ++l)
    for (int h = 0; h < c.n_heads; ++h) {
      const std::string name = "L" + std::to_string(l) + "_Q" + std::to_string(h) + "_q.npy";
      write_npy((std::filesystem::path(*out) / name).string(), T, hd, q[static_cast<std::size_t>(l) * c.n_heads + h], true);
      manifest["queries"].push_back({{"layer", l}, {"query_head", h}, {"kv_head", h / c.kv_group()}, {"path", name},
                                     {"shape", {T, hd}}});
    }
  write_file_atomically((std::filesystem::path(*out) / "manifest.json").string(), manifest.dump(2) + "\n");
  std::cout << "wrote " << manifest["files"].size() << " arrays [" << T << ", " << hd << "] and manifest.json to " << *out
            << "\n";
  return 0;
}

}  // namespace dpq::cli
