#include "deltapq/app/eval_nll.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "deltapq/core/error.h"
#include "deltapq/reference/attention.h"

namespace dpq::app {
namespace {

std::vector<double> log_probabilities(const std::vector<float>& logits) {
  std::vector<double> lp(logits.begin(), logits.end());
  ref::log_softmax(lp);
  return lp;
}

}  // namespace

EvalNllReport eval_nll(model::Llama2& llm, const std::vector<int>& tokens, const EvalNllOptions& options) {
  if (tokens.size() < 2) throw Error("eval-nll: " + std::to_string(tokens.size()) + " tokens; need at least 2");
  EvalNllReport rep;
  rep.options = options;
  const auto& c = llm.config();
  const std::size_t T = tokens.size(), hd = static_cast<std::size_t>(c.head_dim());
  const std::size_t streams = static_cast<std::size_t>(c.n_layers) * c.n_kv_heads;
  rep.tokens = T;

  // Pass 1, fp32: reference distributions and the calibration streams (pre-RoPE K, V).
  std::vector<pipeline::Stream> k_pre(streams, pipeline::Stream{0, hd, {}}), v(streams, pipeline::Stream{0, hd, {}});
  std::vector<std::vector<double>> logp_ref(T);
  for (std::size_t pos = 0; pos < T; ++pos) {
    const auto& logits = llm.forward(tokens[pos], static_cast<int>(pos), [&](int l, int h, int, const float* kp, float*, float* vv) {
      const std::size_t idx = static_cast<std::size_t>(l) * c.n_kv_heads + h;
      k_pre[idx].data.insert(k_pre[idx].data.end(), kp, kp + hd);
      ++k_pre[idx].rows;
      v[idx].data.insert(v[idx].data.end(), vv, vv + hd);
      ++v[idx].rows;
    });
    logp_ref[pos] = log_probabilities(logits);
  }

  // One online coder per stream (K streams first, then V), calibrated in-sample on this text
  // (documented in proofs-notes/C2.md).
  std::vector<std::unique_ptr<pipeline::StreamCoder>> coders;
  for (const std::vector<pipeline::Stream>* group : {&k_pre, &v})
    for (const pipeline::Stream& s : *group) {
      pipeline::MonitorOptions monitor = options.monitor;
      if (options.scheme == pipeline::KvScheme::delta_zoned) {
        monitor.eta = stream_eta(options.eta, s, nullptr);
        rep.eta_per_stream.push_back(monitor.eta);
      }
      coders.push_back(pipeline::make_stream_coder(options.scheme, s, options.kappa, options.bits, monitor));
    }

  // Pass 2: the model reads its KV cache through the coders (keys coded pre-RoPE, rotated on read: C5).
  double nll = 0, nll_ref = 0, kl = 0;
  std::vector<float> kbuf(hd), vin(hd);
  for (std::size_t pos = 0; pos < T; ++pos) {
    const auto& logits = llm.forward(tokens[pos], static_cast<int>(pos), [&](int l, int h, int p, const float* kp, float* kr, float* vv) {
      const std::size_t idx = static_cast<std::size_t>(l) * c.n_kv_heads + h;
      coders[idx]->step(kp, kbuf.data());
      model::apply_rope(kbuf.data(), static_cast<int>(hd), static_cast<int>(hd), p);
      std::copy(kbuf.begin(), kbuf.end(), kr);
      std::copy(vv, vv + hd, vin.begin());
      coders[streams + idx]->step(vin.data(), vv);
    });
    const auto lp = log_probabilities(logits);
    if (pos + 1 < T) {
      nll -= lp[static_cast<std::size_t>(tokens[pos + 1])];
      nll_ref -= logp_ref[pos][static_cast<std::size_t>(tokens[pos + 1])];
    }
    double k = 0;
    for (std::size_t i = 0; i < lp.size(); ++i) k += std::exp(logp_ref[pos][i]) * (logp_ref[pos][i] - lp[i]);
    kl += k;
  }
  for (const auto& cd : coders) rep.resets += cd->resets();
  const double n = static_cast<double>(T - 1);
  rep.nll_fp32 = nll_ref / n;
  rep.nll = nll / n;
  rep.delta_nll = (nll - nll_ref) / n;
  rep.kl = kl / static_cast<double>(T);
  return rep;
}

}  // namespace dpq::app
