#include "deltapq/app/eval_nll.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include <functional>

#include "deltapq/core/error.h"
#include "deltapq/app/report_wire.h"
#include "deltapq/model/tokenizer.h"
#include "deltapq/reference/attention.h"
#include "item_map.h"

namespace dpq::app {
namespace {

std::vector<double> log_probabilities(const std::vector<float>& logits) {
  std::vector<double> lp(logits.begin(), logits.end());
  ref::log_softmax(lp);
  return lp;
}

struct SchemeRun {
  std::vector<double> nll;  // per next-token prediction (T - 1)
  std::vector<double> kl;   // per position (T)
  std::size_t resets = 0;
  std::vector<double> etas;
};

// Pass 2: the model reads its KV cache through one online coder per stream (K streams first, then V;
// keys coded pre-RoPE and rotated on read, C5), calibrated in-sample on this text (proofs-notes/C2.md).
SchemeRun run_scheme(model::Llama2& llm, const std::vector<int>& tokens, const std::vector<pipeline::Stream>& k_pre,
                     const std::vector<pipeline::Stream>& v, const std::vector<std::vector<double>>& logp_ref,
                     pipeline::KvScheme scheme, const EvalNllOptions& options, const std::function<void()>& tick) {
  const auto& c = llm.config();
  const std::size_t T = tokens.size(), hd = static_cast<std::size_t>(c.head_dim());
  const std::size_t streams = static_cast<std::size_t>(c.n_layers) * c.n_kv_heads;
  SchemeRun run;
  std::vector<std::unique_ptr<pipeline::StreamCoder>> coders;
  for (const std::vector<pipeline::Stream>* group : {&k_pre, &v})
    for (std::size_t idx = 0; idx < group->size(); ++idx) {
      const pipeline::Stream& s = (*group)[idx];
      const int layer = static_cast<int>(idx) / c.n_kv_heads;
      const bool part = group == &k_pre ? options.keys : options.values;
      const bool in_layer = options.layers.empty() ||
                            std::find(options.layers.begin(), options.layers.end(), layer) != options.layers.end();
      if (!part || !in_layer) {  // this stream stays fp32
        if (scheme == pipeline::KvScheme::delta_zoned) tick();  // no eta estimate to wait for
        coders.push_back(pipeline::make_stream_coder(pipeline::KvScheme::fp32, s, options.kappa, options.bits, options.monitor));
        continue;
      }
      pipeline::MonitorOptions monitor = options.monitor;
      if (scheme == pipeline::KvScheme::delta_zoned) {
        monitor.eta = stream_eta(options.eta, s, nullptr);
        run.etas.push_back(monitor.eta);
        tick();
      }
      coders.push_back(pipeline::make_stream_coder(scheme, s, options.kappa, options.bits, monitor));
    }
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
    if (pos + 1 < T) run.nll.push_back(-lp[static_cast<std::size_t>(tokens[pos + 1])]);
    double k = 0;
    for (std::size_t i = 0; i < lp.size(); ++i) k += std::exp(logp_ref[pos][i]) * (logp_ref[pos][i] - lp[i]);
    run.kl.push_back(k);
    tick();
  }
  for (const auto& cd : coders) run.resets += cd->resets();
  return run;
}

// The options a model can refuse, checked before any forward pass (and, in a sweep, before any run).
void check_options(const EvalNllOptions& options, const model::Config& config) {
  if (!options.keys && !options.values) throw Error("eval-nll: --part selects neither keys nor values");
  for (int l : options.layers)
    if (l < 0 || l >= config.n_layers)
      throw Error("eval-nll: --layers " + std::to_string(l) + " is outside 0.." + std::to_string(config.n_layers - 1));
}

}  // namespace

EvalNllReport eval_nll(model::Llama2& llm, const std::vector<int>& tokens, const EvalNllOptions& options) {
  if (tokens.size() < 2) throw Error("eval-nll: " + std::to_string(tokens.size()) + " tokens; need at least 2");
  check_options(options, llm.config());
  EvalNllReport rep;
  rep.options = options;
  const auto& c = llm.config();
  const std::size_t T = tokens.size(), hd = static_cast<std::size_t>(c.head_dim());
  const std::size_t streams = static_cast<std::size_t>(c.n_layers) * c.n_kv_heads;
  rep.tokens = T;
  // Progress in steps: every forward pass (the fp32 one, then each scheme's), and with delta-zoned each
  // stream's eta estimate (the B5 tiers; minutes on a long text).
  auto scheme_steps = [&](pipeline::KvScheme k) { return T + (k == pipeline::KvScheme::delta_zoned ? 2 * streams : 0); };
  const std::size_t total = T + scheme_steps(options.scheme) + (options.versus ? scheme_steps(*options.versus) : 0);
  std::size_t done = 0;
  const std::function<void()> tick = [&] {
    ++done;
    if (options.progress) options.progress(done, total);
  };

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
    tick();
  }

  const SchemeRun main = run_scheme(llm, tokens, k_pre, v, logp_ref, options.scheme, options, tick);
  rep.resets = main.resets;
  rep.eta_per_stream = main.etas;
  double nll = 0, nll_ref = 0, kl = 0;
  std::vector<double> nll_diff;
  for (std::size_t pos = 0; pos + 1 < T; ++pos) {
    nll += main.nll[pos];
    nll_ref += -logp_ref[pos][static_cast<std::size_t>(tokens[pos + 1])];
    nll_diff.push_back(main.nll[pos] + logp_ref[pos][static_cast<std::size_t>(tokens[pos + 1])]);
  }
  for (double k : main.kl) kl += k;
  const double n = static_cast<double>(T - 1);
  rep.nll_fp32 = nll_ref / n;
  rep.nll = nll / n;
  rep.delta_nll = (nll - nll_ref) / n;
  rep.kl = kl / static_cast<double>(T);
  const bool boot = options.bootstrap.enabled && nll_diff.size() >= 2;
  if (boot) {
    validate(options.bootstrap);
    const MeanInterval d = series_mean_interval(nll_diff, options.bootstrap);
    rep.delta_nll_ci = d.ci;
    rep.block_length = d.block_length;
    rep.kl_ci = series_mean_interval(main.kl, options.bootstrap).ci;
    rep.costs_nll = source_verdict(rep.delta_nll_ci);
  }
  if (options.versus) {  // the paired comparison of two schemes on the same tokens
    const SchemeRun other = run_scheme(llm, tokens, k_pre, v, logp_ref, *options.versus, options, tick);
    std::vector<double> diff;
    double sum = 0;
    for (std::size_t pos = 0; pos + 1 < T; ++pos) {
      diff.push_back(main.nll[pos] - other.nll[pos]);
      sum += diff.back();
    }
    rep.versus_delta_nll = sum / n;
    if (boot) {
      rep.versus_ci = series_mean_interval(diff, options.bootstrap).ci;
      rep.versus_worse = source_verdict(rep.versus_ci);
    }
  }
  return rep;
}

EvalNllSweep eval_nll_sweep(const std::string& model_path, const std::string& tokenizer_path,
                            const std::vector<std::string>& texts, const EvalNllSweepOptions& options) {
  if (texts.empty()) throw Error("eval-nll: no text");
  if (options.bits.empty()) throw Error("eval-nll: no bit width");
  // The model, the tokenizer and every text are checked here, before any run.
  std::vector<std::vector<int>> tokens;
  {
    model::Llama2 llm(model_path);
    const model::Tokenizer tok(tokenizer_path, llm.config().vocab_size);
    for (const std::string& t : texts) tokens.push_back(model::tokenize_file(tok, t, llm.config().seq_len, 3, options.max_tokens));
    check_options(options.base, llm.config());
  }
  const std::size_t nb = options.bits.size(), n = texts.size() * nb;
  auto item_options = [&](std::size_t i) {
    EvalNllOptions o = options.base;
    o.bits = options.bits[i % nb];
    o.progress = nullptr;
    return o;
  };
  auto reports = detail::map_items<EvalNllReport>(
      n, options.jobs, options.distribution,
      [&](std::size_t i) {
        model::Llama2 llm(model_path);
        return eval_nll(llm, tokens[i / nb], item_options(i));
      },
      [](const EvalNllReport& r) { return to_wire(r); },
      [](const std::string& bytes) { return eval_nll_report_from_wire(bytes); }, options.progress);
  EvalNllSweep sweep;
  if (!reports) {
    sweep.complete = false;
    return sweep;
  }
  for (std::size_t i = 0; i < n; ++i) {
    EvalNllReport r = std::move((*reports)[i]);
    r.options = item_options(i);  // decoded runs carry no options; every run's are the sweep's
    sweep.runs.push_back({texts[i / nb], std::move(r)});
  }
  // Per bit width over the texts: token-weighted means of the runs' per-token figures (NLL over the
  // T - 1 predictions, KL over the T positions). Texts are different sources: no interval is pooled.
  for (int b : options.bits) {
    EvalNllBitsSummary s;
    s.bits = b;
    double nll = 0, nll_fp32 = 0, kl = 0, positions = 0;
    for (const EvalNllRun& run : sweep.runs) {
      if (run.report.options.bits != b) continue;
      const double p = static_cast<double>(run.report.tokens - 1), t = static_cast<double>(run.report.tokens);
      ++s.texts;
      s.predictions += run.report.tokens - 1;
      nll += run.report.nll * p;
      nll_fp32 += run.report.nll_fp32 * p;
      kl += run.report.kl * t;
      positions += t;
    }
    const double w = static_cast<double>(s.predictions);
    s.nll = nll / w;
    s.nll_fp32 = nll_fp32 / w;
    s.delta_nll = (nll - nll_fp32) / w;
    s.kl = kl / positions;
    sweep.by_bits.push_back(s);
  }
  return sweep;
}

}  // namespace dpq::app
