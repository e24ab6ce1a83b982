#include "deltapq/app/kvdump.h"

#include <nlohmann/json.hpp>

#include "deltapq/core/atomic_file.h"
#include "deltapq/core/error.h"
#include "deltapq/core/npy.h"

namespace dpq::app {

KvDumpReport dump_kv(model::Llama2& llm, const std::vector<int>& tokens, const std::string& model_path,
                     const std::string& out_dir) {
  const auto& c = llm.config();
  const std::size_t T = tokens.size(), hd = static_cast<std::size_t>(c.head_dim());
  const std::size_t heads = static_cast<std::size_t>(c.n_layers) * c.n_kv_heads;
  AtomicDirectory out(out_dir, "manifest.json");  // checked before the model runs
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
  for (std::size_t pos = 0; pos < T; ++pos) llm.forward(tokens[pos], static_cast<int>(pos), hook, qhook);

  nlohmann::ordered_json manifest;
  manifest["model"] = model_path;
  manifest["config"] = {{"dim", c.dim}, {"hidden_dim", c.hidden_dim}, {"n_layers", c.n_layers}, {"n_heads", c.n_heads},
                        {"n_kv_heads", c.n_kv_heads}, {"vocab_size", c.vocab_size}, {"seq_len", c.seq_len},
                        {"head_dim", c.head_dim()}, {"rope_base", 10000.0}};
  manifest["tokens"] = tokens;
  manifest["files"] = nlohmann::ordered_json::array();
  auto put = [&](const std::string& name, const std::vector<double>& data) {
    const std::string bytes = npy_bytes(T, hd, data, /*as_float32=*/true);
    out.write(name, bytes);
    return nlohmann::ordered_json{{"bytes", bytes.size()}, {"fnv1a64", fnv1a64(bytes)}};
  };
  for (int l = 0; l < c.n_layers; ++l)
    for (int h = 0; h < c.n_kv_heads; ++h) {
      const std::size_t idx = static_cast<std::size_t>(l) * c.n_kv_heads + h;
      for (auto [kind, data] : {std::pair{"k_pre", &k_pre[idx]}, {"k_post", &k_post[idx]}, {"v", &v[idx]}}) {
        const std::string name = "L" + std::to_string(l) + "_H" + std::to_string(h) + "_" + kind + ".npy";
        nlohmann::ordered_json e{{"layer", l}, {"head", h}, {"kind", kind}, {"path", name}, {"shape", {T, hd}}};
        e.update(put(name, *data));
        manifest["files"].push_back(e);
      }
    }
  // Post-RoPE queries of every query head, with the KV head they attend through (GQA).
  for (int l = 0; l < c.n_layers; ++l)
    for (int h = 0; h < c.n_heads; ++h) {
      const std::string name = "L" + std::to_string(l) + "_Q" + std::to_string(h) + "_q.npy";
      nlohmann::ordered_json e{{"layer", l}, {"query_head", h}, {"kv_head", h / c.kv_group()}, {"path", name},
                               {"shape", {T, hd}}};
      e.update(put(name, q[static_cast<std::size_t>(l) * c.n_heads + h]));
      manifest["queries"].push_back(e);
    }
  out.write("manifest.json", manifest.dump(2) + "\n");
  out.commit();
  return {out_dir, manifest["files"].size(), T, hd};
}

}  // namespace dpq::app
