#include "deltapq/app/eval_nll.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include <functional>

#include "deltapq/core/error.h"
#include "deltapq/app/paper_check.h"
#include "deltapq/app/report_wire.h"
#include "deltapq/model/tokenizer.h"
#include "deltapq/reference/attention.h"
#include "item_map.h"

namespace dpq::app {
namespace {

// The rotation and QJL seeds of the D5 schemes in a running model (stream k uses kEvalSeed + 16 k).
constexpr std::uint64_t kEvalSeed = 2026;
// Budgets of the D5 schemes: the codec's Lloyd-Max stage goes to 8 bits.
constexpr int kMaxD5Bits = 8;

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

// Pass 2: the model reads its KV cache through one coder per stream (K streams first, then V). The
// Part C schemes are online coders calibrated in-sample on this text (proofs-notes/C2.md) and code the
// keys pre-RoPE, rotated on read (C5). The D5 schemes code each vector of the cache as it is stored --
// the post-RoPE key, the value -- through the codec of its side at budget n = bits (the accounting of
// D5: the fp32 norms apart), with rotation and QJL seeds of their own per stream (kEvalSeed).
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
      if (pipeline::is_d5_scheme(scheme)) {
        const std::uint64_t seed = kEvalSeed + 16 * static_cast<std::uint64_t>(idx);
        const int d = static_cast<int>(hd), n = options.bits;
        const SideSpec side = group == &k_pre ? key_side(d5_scheme(scheme), d, n, seed) : value_side(d5_scheme(scheme), d, n, seed);
        coders.push_back(pipeline::make_codec_coder(side_codec(side)));
        continue;
      }
      coders.push_back(pipeline::make_stream_coder(scheme, s, options.kappa, options.bits, monitor));
    }
  const bool post_rope = pipeline::is_d5_scheme(scheme);
  std::vector<float> kbuf(hd), vin(hd);
  for (std::size_t pos = 0; pos < T; ++pos) {
    const auto& logits = llm.forward(tokens[pos], static_cast<int>(pos), [&](int l, int h, int p, const float* kp, float* kr, float* vv) {
      const std::size_t idx = static_cast<std::size_t>(l) * c.n_kv_heads + h;
      if (post_rope) {
        coders[idx]->step(kr, kbuf.data());
      } else {
        coders[idx]->step(kp, kbuf.data());
        model::apply_rope(kbuf.data(), static_cast<int>(hd), static_cast<int>(hd), p);
      }
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
  for (const auto& s : {std::optional<pipeline::KvScheme>(options.scheme), options.versus}) {
    if (!s || !pipeline::is_d5_scheme(*s)) continue;
    // KQV and QKQV spend one of the n bits on QJL; the Lloyd-Max stage needs at least one.
    const int least = *s == pipeline::KvScheme::kv ? 1 : 2;
    if (options.bits < least || options.bits > kMaxD5Bits)
      throw Error(std::string("eval-nll: --bits ") + std::to_string(options.bits) + " with --kv-scheme " + pipeline::to_string(*s) +
                  " is outside " + std::to_string(least) + ".." + std::to_string(kMaxD5Bits) +
                  (least == 2 ? " (one of the n bits is the QJL sign)" : ""));
    if (config.head_dim() < 2)
      throw Error("eval-nll: head dimension " + std::to_string(config.head_dim()) + ": the D5 schemes need d >= 2");
  }
  for (int l : options.layers)
    if (l < 0 || l >= config.n_layers)
      throw Error("eval-nll: --layers " + std::to_string(l) + " is outside 0.." + std::to_string(config.n_layers - 1));
}

}  // namespace

void set_part(EvalNllOptions& options, const std::string& part, const std::string& what) {
  if (part != "k" && part != "v" && part != "kv") throw Error(what + " '" + part + "' is not one of k, v, kv");
  options.keys = part != "v";
  options.values = part != "k";
}

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
  for (std::size_t pos = 0; pos < T; ++pos) {
    EvalNllToken t;
    t.position = static_cast<int>(pos);
    t.token = tokens[pos];
    if (pos + 1 < T) {
      t.next = tokens[pos + 1];
      t.nll_fp32 = -logp_ref[pos][static_cast<std::size_t>(tokens[pos + 1])];
      t.nll = main.nll[pos];
    }
    t.kl = main.kl[pos];
    rep.per_token.push_back(t);
  }
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

EvalNllReport eval_nll_files(const std::string& model_path, const std::string& tokenizer_path, const std::string& text,
                             std::optional<int> max_tokens, const EvalNllOptions& options) {
  model::Llama2 llm(model_path);
  const model::Tokenizer tok(tokenizer_path, llm.config().vocab_size);
  return eval_nll(llm, model::tokenize_file(tok, text, llm.config().seq_len, 3, max_tokens), options);
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
    for (int b : options.bits) {  // every run's options, bit width included
      EvalNllOptions o = options.base;
      o.bits = b;
      check_options(o, llm.config());
    }
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
