#include "deltapq/model/llama2.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "deltapq/core/error.h"
#include "deltapq/core/limits.h"

namespace dpq::model {
namespace {

void rmsnorm(float* o, const float* x, const float* w, int n) {
  float ss = 0.0f;
  for (int j = 0; j < n; ++j) ss += x[j] * x[j];
  ss = 1.0f / std::sqrt(ss / static_cast<float>(n) + 1e-5f);
  for (int j = 0; j < n; ++j) o[j] = w[j] * (ss * x[j]);
}

// out[d] = W[d, n] x[n]
void matmul(float* out, const float* x, const float* w, int n, int d) {
  for (int i = 0; i < d; ++i) {
    float s = 0.0f;
    const float* row = w + static_cast<std::size_t>(i) * n;
    for (int j = 0; j < n; ++j) s += row[j] * x[j];
    out[i] = s;
  }
}

void softmax(float* x, int n) {
  float mx = x[0];
  for (int i = 1; i < n; ++i) mx = std::max(mx, x[i]);
  float sum = 0.0f;
  for (int i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  for (int i = 0; i < n; ++i) x[i] /= sum;
}

}  // namespace

void apply_rope(float* vec, int n, int head_dim, int pos, float base) {
  for (int i = 0; i < n; i += 2) {
    const int j = i % head_dim;
    const float freq = 1.0f / std::pow(base, static_cast<float>(j) / static_cast<float>(head_dim));
    const float angle = static_cast<float>(pos) * freq;
    const float c = std::cos(angle), s = std::sin(angle);
    const float a = vec[i], b = vec[i + 1];
    vec[i] = a * c - b * s;
    vec[i + 1] = a * s + b * c;
  }
}

Llama2::Llama2(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(path + ": no such checkpoint file");
  const auto size = std::filesystem::file_size(path, ec);
  std::ifstream in(path, std::ios::binary);
  std::int32_t h[7];
  if (size < sizeof h || !in.read(reinterpret_cast<char*>(h), sizeof h))
    throw Error(path + ": truncated: " + std::to_string(size) + " bytes, shorter than the 28-byte header");
  Config& c = config_;
  c.dim = h[0];
  c.hidden_dim = h[1];
  c.n_layers = h[2];
  c.n_heads = h[3];
  c.n_kv_heads = h[4];
  c.shared_classifier = h[5] > 0;
  c.vocab_size = h[5] == INT32_MIN ? 0 : (h[5] < 0 ? -h[5] : h[5]);  // INT32_MIN has no magnitude: refused below
  c.seq_len = h[6];
  const std::string sizes = "dim " + std::to_string(c.dim) + ", hidden " + std::to_string(c.hidden_dim) + ", layers " +
                            std::to_string(c.n_layers) + ", heads " + std::to_string(c.n_heads) + ", kv heads " +
                            std::to_string(c.n_kv_heads) + ", vocab " + std::to_string(c.vocab_size) + ", seq_len " +
                            std::to_string(c.seq_len);
  auto positive = [](int v, int hi) { return v > 0 && v <= hi; };
  if (!positive(c.dim, 1 << 16) || !positive(c.hidden_dim, 1 << 18) || !positive(c.n_layers, 1024) ||
      !positive(c.n_heads, 1024) || !positive(c.n_kv_heads, 1024) || !positive(c.vocab_size, 1 << 22) ||
      !positive(c.seq_len, 1 << 20))
    throw Error(path + ": header values out of range (" + sizes + ")");
  if (c.dim % c.n_heads != 0 || c.n_heads % c.n_kv_heads != 0 || c.head_dim() % 2 != 0)
    throw Error(path + ": inconsistent header (" + sizes + "): dim must split into heads of even size and heads into kv groups");
  const std::size_t L = static_cast<std::size_t>(c.n_layers), d = static_cast<std::size_t>(c.dim),
                    hd = static_cast<std::size_t>(c.hidden_dim), kv = static_cast<std::size_t>(c.kv_dim()),
                    V = static_cast<std::size_t>(c.vocab_size), S = static_cast<std::size_t>(c.seq_len),
                    head = static_cast<std::size_t>(c.head_dim());
  const std::size_t floats = V * d + L * d + L * d * d + 2 * L * kv * d + L * d * d + L * d + 3 * L * hd * d + d +
                             S * head + (c.shared_classifier ? 0 : V * d);
  const std::uintmax_t expected = 28 + floats * 4;
  require_bytes(floats * 4, path + ": the weights");
  if (size != expected)
    throw Error(path + ": file has " + std::to_string(size) + " bytes but the header (" + sizes + ") needs " +
                std::to_string(expected) + (size < expected ? " (truncated)" : ""));
  weights_.resize(floats);
  if (!in.read(reinterpret_cast<char*>(weights_.data()), static_cast<std::streamsize>(floats * 4)))
    throw Error(path + ": read error");
  for (std::size_t i = 0; i < floats; ++i)
    if (!std::isfinite(weights_[i])) throw Error(path + ": non-finite weight at float offset " + std::to_string(i));
  const float* p = weights_.data();
  auto take = [&](std::size_t n) {
    const float* q = p;
    p += n;
    return q;
  };
  emb_ = take(V * d);
  rms_att_ = take(L * d);
  wq_ = take(L * d * d);
  wk_ = take(L * kv * d);
  wv_ = take(L * kv * d);
  wo_ = take(L * d * d);
  rms_ffn_ = take(L * d);
  w1_ = take(L * hd * d);
  w2_ = take(L * d * hd);
  w3_ = take(L * hd * d);
  rms_final_ = take(d);
  take(S * head);  // legacy freq_cis_real and freq_cis_imag
  wcls_ = c.shared_classifier ? emb_ : take(V * d);

  x_.resize(d);
  xb_.resize(d);
  xb2_.resize(d);
  hb_.resize(hd);
  hb2_.resize(hd);
  q_.resize(d);
  k_.resize(kv);
  v_.resize(kv);
  logits_.resize(V);
  // The KV cache grows with the positions actually run ([position][layer][kv_dim]), so a header's
  // seq_len and layer count cannot by themselves request memory: each new position is checked against
  // the limit before it is added.
}

namespace {

// E2: a non-finite value produced from finite weights and inputs (overflow) is an error naming where
// it first appeared, never a silent NaN downstream.
void require_finite(const float* x, std::size_t n, const char* tensor, int layer, int pos) {
  for (std::size_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i]))
      throw Error(std::string("forward: ") + (std::isnan(x[i]) ? "NaN" : "Inf") + " in " + tensor +
                  (layer >= 0 ? " of layer " + std::to_string(layer) : std::string()) + " at position " + std::to_string(pos) +
                  ", element " + std::to_string(i) + " (the checkpoint's weights overflow float32 arithmetic)");
}

}  // namespace

const std::vector<float>& Llama2::forward(int token, int pos, const KvHook& hook, const QueryHook& query_hook) {
  const Config& c = config_;
  if (token < 0 || token >= c.vocab_size) throw Error("forward: token " + std::to_string(token) + " outside the vocabulary");
  if (pos < 0 || pos >= c.seq_len)
    throw Error("forward: position " + std::to_string(pos) + " outside 0.." + std::to_string(c.seq_len - 1) + " (seq_len)");
  const int d = c.dim, kv = c.kv_dim(), hd = c.hidden_dim, head = c.head_dim();
  const std::size_t per_position = static_cast<std::size_t>(c.n_layers) * kv;  // floats per position, K or V
  if (static_cast<std::size_t>(pos) > positions_)
    throw Error("forward: position " + std::to_string(pos) + " before positions " + std::to_string(positions_) + ".." +
                std::to_string(pos - 1) + " were run (positions are fed in order from 0)");
  if (static_cast<std::size_t>(pos) == positions_) {
    require_bytes(checked_product({static_cast<std::uint64_t>(pos) + 1, per_position, 2 * sizeof(float)}, "KV cache"),
                  "the KV cache of " + std::to_string(pos + 1) + " positions x " + std::to_string(c.n_layers) +
                      " layers x " + std::to_string(kv) + " (K and V)");
    key_cache_.resize((positions_ + 1) * per_position);
    value_cache_.resize((positions_ + 1) * per_position);
    ++positions_;
  }
  att_.resize(static_cast<std::size_t>(pos) + 1);
  std::memcpy(x_.data(), emb_ + static_cast<std::size_t>(token) * d, sizeof(float) * d);
  for (int l = 0; l < c.n_layers; ++l) {
    const std::size_t lo = static_cast<std::size_t>(l);
    rmsnorm(xb_.data(), x_.data(), rms_att_ + lo * d, d);
    matmul(q_.data(), xb_.data(), wq_ + lo * d * d, d, d);
    matmul(k_.data(), xb_.data(), wk_ + lo * kv * d, d, kv);
    matmul(v_.data(), xb_.data(), wv_ + lo * kv * d, d, kv);
    require_finite(q_.data(), q_.size(), "the query (wq x)", l, pos);
    require_finite(k_.data(), k_.size(), "the key (wk x)", l, pos);
    require_finite(v_.data(), v_.size(), "the value (wv x)", l, pos);
    std::vector<float> k_unrotated = k_;
    apply_rope(q_.data(), d, head, pos);
    apply_rope(k_.data(), kv, head, pos);
    if (query_hook)
      for (int h = 0; h < c.n_heads; ++h) query_hook(l, h, pos, q_.data() + h * head);
    if (hook)
      for (int h = 0; h < c.n_kv_heads; ++h)
        hook(l, h, pos, k_unrotated.data() + h * head, k_.data() + h * head, v_.data() + h * head);
    float* kc = key_cache_.data() + (static_cast<std::size_t>(pos) * c.n_layers + lo) * kv;
    float* vc = value_cache_.data() + (static_cast<std::size_t>(pos) * c.n_layers + lo) * kv;
    std::memcpy(kc, k_.data(), sizeof(float) * kv);
    std::memcpy(vc, v_.data(), sizeof(float) * kv);
    for (int h = 0; h < c.n_heads; ++h) {
      const float* q = q_.data() + h * head;
      float* att = att_.data();
      const int kvh = h / c.kv_group();
      for (int t = 0; t <= pos; ++t) {
        const float* k = key_cache_.data() + (static_cast<std::size_t>(t) * c.n_layers + lo) * kv + kvh * head;
        float s = 0.0f;
        for (int i = 0; i < head; ++i) s += q[i] * k[i];
        att[t] = s / std::sqrt(static_cast<float>(head));
      }
      softmax(att, pos + 1);
      float* out = xb_.data() + h * head;
      std::fill(out, out + head, 0.0f);
      for (int t = 0; t <= pos; ++t) {
        const float* v = value_cache_.data() + (static_cast<std::size_t>(t) * c.n_layers + lo) * kv + kvh * head;
        for (int i = 0; i < head; ++i) out[i] += att[t] * v[i];
      }
    }
    require_finite(xb_.data(), static_cast<std::size_t>(d), "the attention output", l, pos);
    matmul(xb2_.data(), xb_.data(), wo_ + lo * d * d, d, d);
    for (int i = 0; i < d; ++i) x_[i] += xb2_[i];
    require_finite(x_.data(), static_cast<std::size_t>(d), "the residual stream after attention", l, pos);
    rmsnorm(xb_.data(), x_.data(), rms_ffn_ + lo * d, d);
    matmul(hb_.data(), xb_.data(), w1_ + lo * hd * d, d, hd);
    matmul(hb2_.data(), xb_.data(), w3_ + lo * hd * d, d, hd);
    for (int i = 0; i < hd; ++i) {
      const float v = hb_[i];
      hb_[i] = v / (1.0f + std::exp(-v)) * hb2_[i];  // SwiGLU
    }
    matmul(xb_.data(), hb_.data(), w2_ + lo * d * hd, hd, d);
    for (int i = 0; i < d; ++i) x_[i] += xb_[i];
    require_finite(x_.data(), static_cast<std::size_t>(d), "the residual stream after the FFN", l, pos);
  }
  rmsnorm(x_.data(), x_.data(), rms_final_, d);
  matmul(logits_.data(), x_.data(), wcls_, d, c.vocab_size);
  require_finite(logits_.data(), logits_.size(), "the logits", -1, pos);
  return logits_;
}

}  // namespace dpq::model
