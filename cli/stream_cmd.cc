// deltapq audit-stream DIR [--bits B] [--kappa K] [--eta auto|VALUE] [--pq MxBITS] [--json OUT]
// deltapq eval-nll --model M --tokenizer T --text FILE --kv-scheme S --bits B [--kappa K] [--eta auto|VALUE] [--json OUT]
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "args.h"
#include "commands.h"
#include "manifest.h"
#include "deltapq/core/atomic_file.h"
#include "deltapq/core/error.h"
#include "deltapq/core/npy.h"
#include "deltapq/model/llama2.h"
#include "deltapq/model/tokenizer.h"
#include "deltapq/pipeline/pipeline.h"
#include "deltapq/reference/linalg.h"
#include "deltapq/reference/pq.h"

namespace dpq::cli {
namespace {

using pipeline::Stream;

Stream to_stream(const NpyMatrix& m) {
  Stream s{m.rows, m.cols, {}};
  s.data.assign(m.data.begin(), m.data.end());
  return s;
}

ref::RMatrix to_rmatrix(const pipeline::Moments& m) {
  const std::size_t d = m.mean.size();
  return ref::to_real(m.covariance.data(), d, d);
}

// C4's eta^: "auto" (default) is the B5 estimate for one block per head, the larger of the GGD and
// k-NN tiers for V against the stream's open-loop deltas (the empirical tier needs a PQ codebook, which
// the scalar pipeline does not have); a number in [0, 1) fixes it.
struct EtaChoice {
  bool automatic = true;
  double value = 0;
};
EtaChoice parse_eta(const Args& args) {
  const auto text = args.text("--eta");
  if (!text || *text == "auto") return {};
  char* end = nullptr;
  const double v = std::strtod(text->c_str(), &end);
  if (end == text->c_str() || *end != '\0' || !(v >= 0 && v < 1))
    throw Error("--eta = '" + *text + "' must be 'auto' or a number in [0, 1)");
  return {false, v};
}
double stream_eta(const EtaChoice& choice, const Stream& s, nlohmann::ordered_json* report) {
  if (!choice.automatic) return choice.value;
  const Stream du = pipeline::deltas(s);
  const std::vector<double> v(s.data.begin(), s.data.end()), d(du.data.begin(), du.data.end());
  const ref::ShapeTiers st = ref::shape_tiers(v.data(), s.rows, d.data(), du.rows, static_cast<int>(s.dim), 5, 4096, 2026);
  if (report) {
    (*report)["eta_ggd"] = ref::to_double(st.eta_ggd);
    (*report)["eta_knn"] = st.eta_knn ? nlohmann::ordered_json(ref::to_double(*st.eta_knn)) : nlohmann::ordered_json();
  }
  return ref::to_double(st.eta_max());
}

// Part B on one stream: V against its open-loop deltas under a PQ of the given shape (Soft-ZCA).
nlohmann::ordered_json pq_stream(const Stream& s, const ref::PqShape& shape, bool* joint_holds) {
  const Stream du = pipeline::deltas(s);
  const std::vector<double> v(s.data.begin(), s.data.end()), d(du.data.begin(), du.data.end());
  const ref::SymmetricEigen eig = ref::symmetric_eigen(ref::sample_moments(ref::to_real(v.data(), s.rows, s.dim)).covariance, "Sigma_V");
  ref::PqOptions o;
  o.shape = shape;
  const ref::PqReport p = ref::pq_audit(v, s.rows, d, du.rows, static_cast<int>(s.dim), eig, o);
  auto num = [](const ref::Real& x) { return isfinite(x) ? nlohmann::ordered_json(ref::to_double(x)) : nlohmann::ordered_json(); };
  const ref::Verdict b2 = ref::pq_ratio_check(p, p.alpha, p.eta_empirical).verdict;
  const ref::Verdict joint = p.joint.verdict;
  *joint_holds = joint == ref::Verdict::holds;
  return {{"alpha", num(p.alpha.value)}, {"eta_empirical", num(p.eta_empirical)}, {"eta_ggd", num(p.eta_ggd)},
          {"eta_knn", p.eta_knn ? num(*p.eta_knn) : nlohmann::ordered_json()}, {"mu", num(p.joint.mu.value)},
          {"distortion_v", num(p.d_v.value)}, {"distortion_delta", num(p.d_delta.value)},
          {"b2_empirical", ref::to_string(b2)}, {"b4_mu_lt_1", ref::to_string(joint)}};
}

nlohmann::ordered_json alpha_json(const ref::DominationFactor& a) {
  if (!a.finite) return nullptr;
  return ref::to_double(a.alpha.value);
}

}  // namespace

int run_audit_stream(int argc, char** argv) {
  Args args(argc, argv, {"--bits", "--kappa", "--json", "--half-life", "--theta", "--eta", "--pq"}, {});
  if (args.positional().size() != 1) throw Error("audit-stream takes one kvdump directory");
  const EtaChoice eta_choice = parse_eta(args);
  const std::optional<std::string> pq_text = args.text("--pq");
  std::size_t pq_joint = 0;
  const std::filesystem::path dir = args.positional()[0];
  const int bits = static_cast<int>(args.integer("--bits", 1, 8).value_or(4));
  const double kappa = args.real("--kappa", true).value_or(3.0);
  pipeline::MonitorOptions mon;
  mon.half_life = args.real("--half-life", true).value_or(64.0);
  mon.theta = args.real("--theta", true).value_or(0.8);
  const nlohmann::json manifest = read_manifest(dir);

  nlohmann::ordered_json report;
  report["input"] = dir.string();
  report["bits"] = bits;
  report["kappa"] = kappa;
  report["heads"] = nlohmann::ordered_json::array();
  std::size_t premise = 0, counted = 0;
  char line[400];
  std::cout << "deltapq audit-stream: " << dir.string() << "  (b = " << bits << ", kappa = " << kappa
            << ", closed loop calibrated to its fixed point)\n";
  std::cout << "  layer head kind    trS_V      trS_u      trS_d(ss)  a*open   a*closed rho    cert      zones g/y/r   "
               "resets  mse_direct mse_delta\n";
  for (const auto& f : manifest["files"]) {
    const std::string path = (dir / f.at("path").get<std::string>()).string();
    const Stream s = to_stream(read_npy(path));
    if (s.rows < 3) throw Error(path + ": " + std::to_string(s.rows) + " tokens; the pipeline needs at least 3");
    const pipeline::Moments mv = pipeline::moments(s);
    const fast::Codec key(pipeline::matched_design(mv, kappa, bits, true));
    const pipeline::Calibration cal = pipeline::calibrate(s, key, kappa, bits);
    const fast::Codec delta(cal.delta_design);
    const auto a_open = ref::domination_factor(to_rmatrix(cal.open_loop), to_rmatrix(mv));
    const auto a_closed = ref::domination_factor(to_rmatrix(cal.steady_state), to_rmatrix(mv));
    const pipeline::Certificate cert = pipeline::certificate(kappa, bits, cal.open_loop.trace(), cal.steady_state.trace());
    nlohmann::ordered_json eta_report;
    pipeline::MonitorOptions stream_mon = mon;
    stream_mon.eta = stream_eta(eta_choice, s, &eta_report);
    const pipeline::ZonedResult z = pipeline::run_zoned(s, key, delta, stream_mon);
    const double mse_direct = pipeline::run_direct(s, key).mse;
    const double mse_delta = pipeline::run_loop(s, pipeline::LoopMode::closed, key, delta).mse;
    ++counted;
    const bool dominated = a_closed.finite && a_closed.alpha.value + a_closed.alpha.error < 1;
    premise += dominated;
    nlohmann::ordered_json h{{"layer", f.at("layer")}, {"head", f.at("head")}, {"kind", f.at("kind")},
                             {"tokens", s.rows}, {"trace_v", mv.trace()}, {"trace_delta_open", cal.open_loop.trace()},
                             {"trace_delta_closed", cal.steady_state.trace()}, {"alpha_open", alpha_json(a_open)},
                             {"alpha_closed", alpha_json(a_closed)},
                             {"calibration", {{"rounds", cal.rounds}, {"converged", cal.converged}, {"settled", cal.settled},
                                              {"settled_round", cal.settled_round}, {"trace_standard_error", cal.trace_standard_error}}},
                             {"certificate", {{"rho", cert.rho}, {"bound", cert.issued ? nlohmann::ordered_json(cert.bound) : nlohmann::ordered_json()},
                                              {"verdict", cert.verdict}}},
                             {"eta", stream_mon.eta}, {"eta_tiers", eta_report},
                             {"zones", {{"green", z.green}, {"yellow", z.yellow}, {"red", z.red}}},
                             {"resets", z.resets}, {"mse_direct", mse_direct}, {"mse_delta", mse_delta}};
    for (const auto& tr : z.transitions)
      h["transitions"].push_back({{"t", tr.t}, {"from", pipeline::to_string(tr.from)}, {"to", pipeline::to_string(tr.to)},
                                  {"cause", tr.cause}});
    if (f.at("kind") == "k_post") {
      // C5: centre post-RoPE keys with the position-rotated pre-RoPE mean R_t mu_pre instead of a
      // fixed mean; the pre-RoPE stream of the same layer and head is in the same manifest.
      for (const auto& g : manifest["files"])
        if (g.at("layer") == f.at("layer") && g.at("head") == f.at("head") && g.at("kind") == "k_pre") {
          const pipeline::Moments pre = pipeline::moments(to_stream(read_npy((dir / g.at("path").get<std::string>()).string())));
          Stream mean_rows{s.rows, s.dim, {}};
          for (std::size_t t = 0; t < s.rows; ++t)
            for (double mval : pre.mean) mean_rows.data.push_back(static_cast<float>(mval));
          const Stream rotated = pipeline::rope(mean_rows, 0);
          double tr = 0;
          for (std::size_t k = 0; k < s.data.size(); ++k)
            tr += static_cast<double>(s.data[k] - rotated.data[k]) * (s.data[k] - rotated.data[k]);
          h["trace_v_rotated_mean"] = tr / static_cast<double>(s.rows);
        }
    }
    if (pq_text) {
      const ref::PqShape shape = ref::parse_pq_shape(*pq_text, static_cast<int>(s.dim));
      if (s.rows - 1 < static_cast<std::size_t>(shape.centroids()))
        throw Error(path + ": " + std::to_string(s.rows - 1) + " delta rows, but --pq " + *pq_text + " needs at least " +
                    std::to_string(shape.centroids()));
      bool joint = false;
      h["pq"] = pq_stream(s, shape, &joint);
      pq_joint += joint;
    }
    report["heads"].push_back(h);
    std::snprintf(line, sizeof line, "  %5d %4d %-7s %-10.4g %-10.4g %-10.4g %-8.3g %-8.3g %-6.3g %-9s %3zu/%3zu/%3zu   %-6zu  %-10.4g %-10.4g\n",
                  f.at("layer").get<int>(), f.at("head").get<int>(), f.at("kind").get<std::string>().c_str(), mv.trace(),
                  cal.open_loop.trace(), cal.steady_state.trace(), a_open.finite ? ref::to_double(a_open.alpha.value) : INFINITY,
                  a_closed.finite ? ref::to_double(a_closed.alpha.value) : INFINITY, cert.rho, cert.verdict.c_str(), z.green,
                  z.yellow, z.red, z.resets, mse_direct, mse_delta);
    std::cout << line;
  }
  report["premise_holds_fraction"] = counted ? static_cast<double>(premise) / static_cast<double>(counted) : 0.0;
  std::cout << "\n  domination premise (steady-state alpha* < 1, certified) holds for " << premise << " of " << counted
            << " streams\n";
  if (pq_text) {
    report["pq"] = {{"shape", *pq_text}, {"transform", "soft-zca"}, {"joint_condition_holds", pq_joint}, {"streams", counted}};
    std::cout << "  PQ " << *pq_text << " (Soft-ZCA, per-stream codebooks): the joint condition mu < 1 holds for " << pq_joint
              << " of " << counted << " streams (per-stream alpha, eta tiers and mu in the JSON)\n";
  }
  if (auto out = args.text("--json")) write_file_atomically(*out, report.dump(2) + "\n");
  return 0;
}

int run_eval_nll(int argc, char** argv) {
  Args args(argc, argv, {"--model", "--tokenizer", "--text", "--kv-scheme", "--bits", "--kappa", "--json", "--theta", "--half-life", "--eta"},
            {});
  const EtaChoice eta_choice = parse_eta(args);
  const auto m = args.text("--model"), t = args.text("--tokenizer"), text_path = args.text("--text");
  if (!m || !t || !text_path) throw Error("eval-nll needs --model, --tokenizer and --text");
  const std::string scheme = args.text("--kv-scheme").value_or("fp32");
  static const std::vector<std::string> kSchemes = {"fp32", "direct", "delta-open", "delta-closed", "delta-zoned"};
  if (std::find(kSchemes.begin(), kSchemes.end(), scheme) == kSchemes.end())
    throw Error("--kv-scheme = '" + scheme + "' is not one of fp32, direct, delta-open, delta-closed, delta-zoned");
  const int bits = static_cast<int>(args.integer("--bits", 1, 8).value_or(4));
  const double kappa = args.real("--kappa", true).value_or(3.0);
  pipeline::MonitorOptions mon;
  mon.half_life = args.real("--half-life", true).value_or(64.0);
  mon.theta = args.real("--theta", true).value_or(0.8);

  model::Llama2 llm(*m);
  const model::Tokenizer tok(*t, llm.config().vocab_size);
  const auto& c = llm.config();
  const std::vector<int> tokens = model::tokenize_file(tok, *text_path, c.seq_len, 3);
  const std::size_t T = tokens.size(), hd = static_cast<std::size_t>(c.head_dim());
  const std::size_t streams = static_cast<std::size_t>(c.n_layers) * c.n_kv_heads;

  // Pass 1, fp32: reference distributions and the calibration streams (pre-RoPE K, V).
  std::vector<Stream> k_pre(streams, Stream{0, hd, {}}), v(streams, Stream{0, hd, {}});
  std::vector<std::vector<double>> logp_ref(T);
  auto log_softmax = [](const std::vector<float>& logits) {
    const double mx = *std::max_element(logits.begin(), logits.end());
    double s = 0;
    for (float l : logits) s += std::exp(l - mx);
    std::vector<double> out(logits.size());
    for (std::size_t i = 0; i < logits.size(); ++i) out[i] = logits[i] - mx - std::log(s);
    return out;
  };
  for (std::size_t pos = 0; pos < T; ++pos) {
    const auto& logits = llm.forward(tokens[pos], static_cast<int>(pos), [&](int l, int h, int, const float* kp, float*, float* vv) {
      const std::size_t idx = static_cast<std::size_t>(l) * c.n_kv_heads + h;
      k_pre[idx].data.insert(k_pre[idx].data.end(), kp, kp + hd);
      ++k_pre[idx].rows;
      v[idx].data.insert(v[idx].data.end(), vv, vv + hd);
      ++v[idx].rows;
    });
    logp_ref[pos] = log_softmax(logits);
  }

  // Designs per stream (calibrated in-sample on this text: documented in proofs-notes/C2.md).
  struct Coder {
    std::unique_ptr<fast::Codec> key, delta;
    pipeline::Moments mv, md;
    double eta = 0;
  };
  std::vector<Coder> coders;
  for (const std::vector<Stream>* group : {&k_pre, &v})
    for (const Stream& s : *group) {
      Coder cd;
      cd.mv = pipeline::moments(s);
      cd.key = std::make_unique<fast::Codec>(pipeline::matched_design(cd.mv, kappa, bits, true));
      if (scheme == "delta-open") {
        cd.md = pipeline::moments(pipeline::deltas(s));
        cd.delta = std::make_unique<fast::Codec>(pipeline::matched_design(cd.md, kappa, bits, false));
      } else if (scheme == "delta-closed" || scheme == "delta-zoned") {
        const auto cal = pipeline::calibrate(s, *cd.key, kappa, bits);
        cd.md = cal.steady_state;
        cd.delta = std::make_unique<fast::Codec>(cal.delta_design);
        if (scheme == "delta-zoned") cd.eta = stream_eta(eta_choice, s, nullptr);
      }
      coders.push_back(std::move(cd));
    }

  // Online coders, one per stream (K streams first, then V).
  using Fn = std::function<void(const float*, float*)>;
  struct Online {
    std::function<void(const float*, float*)> step;
  };
  std::vector<Online> online;
  std::size_t resets = 0;
  std::vector<std::unique_ptr<pipeline::ZonedCoder>> zoned;
  for (Coder& cd : coders) {
    const fast::Codec* key = cd.key.get();
    const fast::Codec* del = cd.delta.get();
    if (scheme == "fp32") {
      online.push_back({[hd](const float* x, float* out) { std::copy(x, x + hd, out); }});
    } else if (scheme == "direct") {
      online.push_back({[key, buf = std::vector<std::uint8_t>(key->bytes_per_row())](const float* x, float* out) mutable {
        key->encode(x, 1, buf.data());
        key->decode(buf.data(), 1, out);
      }});
    } else if (scheme == "delta-zoned") {
      pipeline::MonitorOptions stream_mon = mon;
      stream_mon.eta = cd.eta;
      zoned.push_back(std::make_unique<pipeline::ZonedCoder>(*key, *del, cd.mv, cd.md, stream_mon));
      pipeline::ZonedCoder* z = zoned.back().get();
      online.push_back({[z](const float* x, float* out) { z->step(x, out); }});
    } else {
      const auto mode = scheme == "delta-open" ? pipeline::LoopMode::open : pipeline::LoopMode::closed;
      auto kb = std::make_shared<std::vector<std::uint8_t>>(key->bytes_per_row());
      auto db = std::make_shared<std::vector<std::uint8_t>>(del->bytes_per_row());
      Fn kf = [key, kb](const float* in_, float* out) { key->encode(in_, 1, kb->data()); key->decode(kb->data(), 1, out); };
      Fn df = [del, db](const float* in_, float* out) { del->encode(in_, 1, db->data()); del->decode(db->data(), 1, out); };
      auto loop = std::make_shared<pipeline::DeltaLoop<float, Fn, Fn>>(hd, mode, kf, df);
      online.push_back({[loop](const float* x, float* out) { loop->step(x, out, false); }});
    }
  }

  // Pass 2: the model reads its KV cache through the codec (keys coded pre-RoPE, rotated on read: C5).
  double nll = 0, nll_ref = 0, kl = 0;
  std::vector<float> kbuf(hd);
  for (std::size_t pos = 0; pos < T; ++pos) {
    const auto& logits = llm.forward(tokens[pos], static_cast<int>(pos), [&](int l, int h, int p, const float* kp, float* kr, float* vv) {
      const std::size_t idx = static_cast<std::size_t>(l) * c.n_kv_heads + h;
      online[idx].step(kp, kbuf.data());
      model::apply_rope(kbuf.data(), static_cast<int>(hd), static_cast<int>(hd), p);
      std::copy(kbuf.begin(), kbuf.end(), kr);
      std::vector<float> vin(vv, vv + hd);
      online[streams + idx].step(vin.data(), vv);
    });
    const auto lp = log_softmax(logits);
    if (pos + 1 < T) {
      nll -= lp[static_cast<std::size_t>(tokens[pos + 1])];
      nll_ref -= logp_ref[pos][static_cast<std::size_t>(tokens[pos + 1])];
    }
    double k = 0;
    for (std::size_t i = 0; i < lp.size(); ++i) k += std::exp(logp_ref[pos][i]) * (logp_ref[pos][i] - lp[i]);
    kl += k;
  }
  for (const auto& z : zoned) resets += z->resets();
  const double n = static_cast<double>(T - 1);
  nlohmann::ordered_json j{{"scheme", scheme}, {"bits", bits}, {"kappa", kappa}, {"tokens", T},
                           {"nll_fp32", nll_ref / n}, {"nll", nll / n}, {"delta_nll", (nll - nll_ref) / n},
                           {"kl", kl / static_cast<double>(T)}};
  if (scheme == "delta-zoned") {
    j["resets"] = resets;
    std::vector<double> etas;
    for (const Coder& cd : coders) etas.push_back(cd.eta);
    j["eta"] = {{"mode", eta_choice.automatic ? "auto: max of the B5 GGD and k-NN tiers per stream" : "fixed"}, {"per_stream", etas}};
  }
  std::cout << "eval-nll: " << scheme << " at " << bits << " bits (kappa " << kappa << "), " << T << " tokens: NLL "
            << nll / n << " vs fp32 " << nll_ref / n << " (delta " << (nll - nll_ref) / n << "), mean KL "
            << kl / static_cast<double>(T) << (scheme == "delta-zoned" ? ", resets " + std::to_string(resets) : "") << "\n";
  if (auto out = args.text("--json")) write_file_atomically(*out, j.dump(2) + "\n");
  return 0;
}

}  // namespace dpq::cli
