// A llama2.c-format checkpoint, read and run by our own code: RMSNorm, RoPE on adjacent pairs,
// grouped-query attention, SwiGLU, shared or separate classifier. Every size comes from the header.
//
// File: 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative
// vocab_size means a separate classifier), then float32 tensors, matrices [out, in]:
// token_embedding [vocab, dim], rms_att [L, dim], wq [L, dim, dim], wk [L, kv_dim, dim],
// wv [L, kv_dim, dim], wo [L, dim, dim], rms_ffn [L, dim], w1 [L, hidden, dim], w2 [L, dim, hidden],
// w3 [L, hidden, dim], rms_final [dim], legacy freq_cis rows [seq_len, head_dim] (skipped),
// wcls [vocab, dim] when not shared. The file size must match exactly.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace dpq::model {

struct Config {
  int dim = 0, hidden_dim = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, vocab_size = 0, seq_len = 0;
  bool shared_classifier = true;
  int head_dim() const { return dim / n_heads; }
  int kv_dim() const { return head_dim() * n_kv_heads; }
  int kv_group() const { return n_heads / n_kv_heads; }  // query heads per KV head
};

// Called for every layer and KV head when a position's keys and values are computed: k_pre is the
// key before RoPE, k_post after it, v the value (each head_dim floats). k_post and v may be
// replaced in place (a KV-cache codec): the attention then reads the replaced values.
using KvHook = std::function<void(int layer, int kv_head, int pos, const float* k_pre, float* k_post, float* v)>;

// Called for every layer and query head with the post-RoPE query of the current position.
using QueryHook = std::function<void(int layer, int head, int pos, const float* q)>;

class Llama2 {
 public:
  // Throws dpq::Error naming the file and what does not add up.
  explicit Llama2(const std::string& checkpoint_path);
  // The tensor pointers point into weights_: a copy would read the original's weights (and dangle once it
  // is gone). A move keeps them valid: a moved std::vector hands over its buffer.
  Llama2(const Llama2&) = delete;
  Llama2& operator=(const Llama2&) = delete;
  Llama2(Llama2&&) noexcept = default;
  Llama2& operator=(Llama2&&) noexcept = default;

  const Config& config() const { return config_; }
  // Runs one token at position pos (0-based, pos < seq_len, positions fed in order from 0: pos may
  // repeat an earlier position, never skip one); returns the logits (vocab_size floats, valid until
  // the next call). Throws dpq::Error naming the layer, position and tensor where a non-finite value
  // first appears (weights that overflow float32), and when the KV cache would exceed DPQ_MAX_BYTES.
  const std::vector<float>& forward(int token, int pos, const KvHook& hook = nullptr,
                                   const QueryHook& query_hook = nullptr);

 private:
  Config config_;
  std::vector<float> weights_;
  const float *emb_, *rms_att_, *wq_, *wk_, *wv_, *wo_, *rms_ffn_, *w1_, *w2_, *w3_, *rms_final_, *wcls_;
  std::vector<float> x_, xb_, xb2_, hb_, hb2_, q_, k_, v_, att_, logits_, key_cache_, value_cache_;
  std::size_t positions_ = 0;  // positions in the KV cache
};

// RoPE as in llama2.c: pair (2j, 2j+1) of each head rotated by pos * base^{-2j / head_dim}.
void apply_rope(float* vec, int n, int head_dim, int pos, float base = 10000.0f);

}  // namespace dpq::model
