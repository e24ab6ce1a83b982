// Every report as JSON. Key order is part of the format (ordered_json): tools diff these files.
#include <nlohmann/json.hpp>

#include "deltapq/app/report.h"

namespace dpq::app {
namespace {

using json = nlohmann::ordered_json;
using ref::Real;

json number(const Real& v) {
  if (!isfinite(v)) return nullptr;
  return ref::to_double(v);
}

std::string fmt(const Real& v, int digits) {
  if (!isfinite(v)) return v > 0 ? "+inf" : (v < 0 ? "-inf" : "nan");
  return ref::to_string(v, digits);
}

json certified(const Certified& c) { return {{"value", number(c.value)}, {"error", number(c.error)}}; }

json pq_json(const ref::PqReport& p) {
  json j;
  j["blocks"] = p.options.shape.blocks;
  j["bits_per_block"] = p.options.shape.bits;
  j["block_dim"] = p.options.shape.block_dim();
  j["transform"] = ref::to_string(p.options.transform);
  if (p.options.transform == ref::PqTransform::soft_zca) {
    j["zca_eps_rel"] = number(p.options.zca_eps_rel);
    j["zca_eps"] = number(p.zca_eps);
  }
  j["kmeans"] = {{"iterations", p.options.kmeans.iterations}, {"seed", p.options.kmeans.seed}, {"init", "k-means++"}};
  j["knn"] = {{"k", p.options.knn_k}, {"max_points", p.options.knn_max_points}};
  j["alpha"] = certified(p.alpha);
  j["alpha_finite"] = p.alpha_finite;
  j["eta_empirical"] = number(p.eta_empirical);
  j["eta_ggd"] = number(p.eta_ggd);
  j["eta_knn"] = p.eta_knn ? number(*p.eta_knn) : json();
  j["eta_conservative"] = number(p.eta_conservative);
  j["mu"] = number(p.joint.mu.value);
  j["joint_condition_mu_lt_1"] = to_string(p.joint.verdict);
  j["eta_threshold"] = number(p.eta_threshold);
  j["distortion_v"] = certified(p.d_v);
  j["distortion_delta"] = certified(p.d_delta);
  auto source = [](const ref::PqSourceBlock& s, const std::vector<Real>& betas, const Real& log_shape_ggd,
                   const ref::KnnShape& knn) {
    json o;
    o["det"] = certified(s.det);
    o["distortion"] = certified(s.distortion);
    o["distortion_per_row_sd"] = number(s.distortion_sd);
    o["A"] = certified(s.a);
    o["ratio_D_over_A"] = number(s.ratio);
    std::vector<json> beta;
    for (const auto& b : betas) beta.push_back(number(b));
    o["ggd_beta"] = beta;
    o["log_shape_ggd"] = number(log_shape_ggd);
    if (knn.available)
      o["log_shape_knn"] = {{"value", knn.log_relative_shape}, {"standard_error", knn.standard_error}, {"points", knn.points}};
    else
      o["log_shape_knn"] = {{"unavailable", knn.reason}};
    o["kmeans_rounds"] = s.kmeans_rounds;
    o["kmeans_converged"] = s.kmeans_converged;
    return o;
  };
  for (const auto& b : p.blocks) {
    json o;
    o["block"] = b.block;
    o["alpha_m"] = certified(b.alpha.alpha);
    o["eta_empirical"] = number(b.eta_empirical);
    o["eta_ggd"] = number(b.shape.eta_ggd);
    o["eta_knn"] = b.shape.eta_knn ? number(*b.shape.eta_knn) : json();
    if (b.shape.eta_knn) o["eta_knn_standard_error"] = number(b.shape.eta_knn_se);
    o["eta_conservative"] = number(b.eta_conservative);
    o["mu_m"] = number(b.joint.mu.value);
    o["joint_condition_mu_lt_1"] = to_string(b.joint.verdict);
    o["V"] = source(b.v, b.shape.beta_v, b.shape.log_shape_ggd_v, b.shape.knn_v);
    o["delta"] = source(b.delta, b.shape.beta_delta, b.shape.log_shape_ggd_delta, b.shape.knn_delta);
    j["per_block"].push_back(o);
  }
  return j;
}

std::string dump(const json& j) { return j.dump(2) + "\n"; }

// "NAME_ci95" for a 95 % interval (the level in percent, as an integer when it is one).
std::string ci_key(const std::string& name, double level) {
  const double pct = level * 100;
  std::string p = std::abs(pct - std::round(pct)) < 1e-9 ? std::to_string(static_cast<int>(std::lround(pct))) : std::to_string(pct);
  return name + "_ci" + p;
}

json interval(const std::optional<ref::Interval>& i) {
  if (!i) return nullptr;
  return json::array({i->lo, i->hi});
}

json setup_json(const BootstrapSetup& b) {
  return {{"method", b.method}, {"block_length", b.block_length}, {"block_length_rule", b.block_rule},
          {"interval", b.interval}, {"replicates", b.replicates}, {"failed_replicates", b.failed},
          {"confidence", b.confidence}, {"seed", b.seed}};
}

}  // namespace

std::string to_json(const AuditReport& r) {
  json j;
  j["input"] = r.input;
  j["tokens"] = r.tokens;
  j["dim"] = r.dim;
  j["precision_bits"] = r.precision_bits;
  j["kappa"] = ref::to_double(r.options.kappa);
  if (r.kappa_auto) {
    const auto& k = *r.kappa_auto;
    j["kappa_auto"] = {{"kappa", k.search.kappa},
                       {"evaluations", k.search.evaluations},
                       {"distortion_v", number(r.v.distortion_matched.value)},
                       {"distortion_v_error", number(r.v.distortion_matched.error)},
                       {"distortion_v_at_kappa_3", number(k.distortion_at_3.value)},
                       {"distortion_v_at_kappa_3_error", number(k.distortion_at_3.error)},
                       {"improves_on_kappa_3", to_string(verdict_lt(r.v.distortion_matched, k.distortion_at_3))}};
  }
  if (r.options.budget) j["budget"] = *r.options.budget; else j["bits"] = r.options.bits;
  j["bit_allocation"] = r.v.bits;
  j["theorems"] = json::array();
  for (const auto& t : r.theorems) {
    json e;
    e["id"] = t.id;
    e["source"] = t.source;
    e["claim"] = t.claim;
    e["statement"] = t.statement;
    e["bound"] = number(t.bound.value);
    e["measured"] = number(t.measured.value);
    e["margin"] = number(t.bound.value - t.measured.value);
    e["error"] = number(t.bound.error + t.measured.error);
    e["bound_decimal"] = fmt(t.bound.value, 40);
    e["measured_decimal"] = fmt(t.measured.value, 40);
    e["verdict"] = to_string(t.verdict);
    e["premises"] = json::array();
    for (const auto& p : t.premises)
      e["premises"].push_back({{"premise", p.what}, {"verdict", to_string(p.verdict)}, {"holds", p.verdict == Verdict::holds}});
    e["premises_hold"] = t.premises_hold();
    e["premises_verdict"] = to_string(t.premises_verdict());
    e["reading"] = t.reading();
    if (t.condition) e["condition"] = true;
    if (!t.note.empty()) e["note"] = t.note;
    if (r.uncertainty.computed) {
      json src{{"verdict", t.margin_ci ? json(to_string(t.source_verdict)) : json()}};
      src[ci_key("margin", r.options.bootstrap.confidence)] = interval(t.margin_ci);
      src["note"] = t.source_note;
      e["for_the_source"] = src;
    }
    j["theorems"].push_back(e);
  }
  j["alpha_star"] = number(r.alpha.alpha.value);
  j["alpha_star_finite"] = r.alpha.finite;
  j["alpha_star_error"] = number(r.alpha.alpha.error);
  // "double": enclosed in double with certified bounds (issue 16's adaptive path); "mpfr": the full path.
  j["alpha_star_path"] = r.alpha_adaptive ? "double" : "mpfr";
  j["loewner_path"] = r.loewner_adaptive ? "double" : "mpfr";
  if (!r.alpha.reason.empty()) j["alpha_star_note"] = r.alpha.reason;
  j["trace_ratio"] = number(r.trace_ratio.value);
  j["loewner_delta_le_v"] = to_string(r.loewner);
  const double level = r.options.bootstrap.confidence;
  if (r.uncertainty.computed) {
    const auto& u = r.uncertainty;
    j[ci_key("alpha_star", level)] = interval(u.alpha_star);
    j[ci_key("trace_ratio", level)] = interval(u.trace_ratio);
    j["loewner_delta_le_v_for_the_source"] = to_string(u.loewner_source);
    j["bootstrap"] = setup_json(u.setup);
  }
  j["warnings"] = r.warnings;
  for (const auto* s : {&r.v, &r.delta}) {
    json o;
    o["rows"] = s->count;
    o["trace"] = number(s->trace);
    std::vector<double> ev;
    for (Eigen::Index i = 0; i < s->eigenvalues.size(); ++i) ev.push_back(ref::to_double(s->eigenvalues(i)));
    o["eigenvalues"] = ev;
    o["eigenvalue_radius"] = number(s->eigen_radius);
    o["distortion_support_design"] = number(s->distortion_support.value);
    o["distortion_matched_design"] = number(s->distortion_matched.value);
    o["gaussian_model_clipped_bound"] = number(s->gaussian_model_bound);
    std::vector<double> tau;
    for (Eigen::Index i = 0; i < s->tau.size(); ++i) tau.push_back(ref::to_double(s->tau(i)));
    o["tau"] = tau;
    std::vector<double> tau_error;
    for (Eigen::Index i = 0; i < s->tau_error.size(); ++i) tau_error.push_back(ref::to_double(s->tau_error(i)));
    o["tau_error"] = tau_error;
    o["coordinates_path"] = s->coordinates_adaptive ? "double" : "mpfr";
    j["sources"][s->name] = o;
  }
  if (r.pq) {
    j["pq"] = pq_json(*r.pq);
    if (r.uncertainty.pq) {
      const auto& u = *r.uncertainty.pq;
      json& p = j["pq"];
      p[ci_key("alpha", level)] = interval(u.alpha);
      p[ci_key("mu", level)] = interval(u.mu);
      p[ci_key("eta_ggd", level)] = interval(u.eta_ggd);
      p[ci_key("eta_knn", level)] = interval(u.eta_knn);
      p["joint_condition_for_the_source"] = to_string(u.joint_source);
      p["intervals_note"] = "eta_empirical has no interval (a k-means codebook per resample); mu's interval resamples alpha "
                            "and the GGD tier with the empirical and k-NN tiers at their point values";
      for (std::size_t m = 0; m < p["per_block"].size(); ++m) {
        json& b = p["per_block"][m];
        b[ci_key("alpha_m", level)] = interval(u.alpha_m[m]);
        b[ci_key("eta_ggd", level)] = interval(u.eta_ggd_m[m]);
        b[ci_key("eta_knn", level)] = interval(u.eta_knn_m[m]);
        b[ci_key("mu_m", level)] = interval(u.mu_m[m]);
      }
    }
  }
  j["any_fails"] = r.any_fails();
  j["claim_fails"] = r.claim_fails();
  return dump(j);
}

std::string to_json(const StreamAuditReport& r) {
  json report;
  report["input"] = r.input;
  report["bits"] = r.options.bits;
  report["kappa"] = r.options.kappa_auto ? json("auto") : json(r.options.kappa);
  report["heads"] = json::array();
  auto alpha = [](const ref::DominationFactor& a) { return a.finite ? json(ref::to_double(a.alpha.value)) : json(); };
  auto alpha_error = [](const ref::DominationFactor& a) { return a.finite ? json(ref::to_double(a.alpha.error)) : json(); };
  auto num = [](const Real& x) { return isfinite(x) ? json(ref::to_double(x)) : json(); };
  for (const StreamReport& s : r.streams) {
    const auto& cal = s.calibration;
    const auto& cert = s.certificate;
    json eta_tiers;
    if (s.eta_tiers) eta_tiers = {{"eta_ggd", s.eta_tiers->ggd}, {"eta_knn", s.eta_tiers->knn ? json(*s.eta_tiers->knn) : json()}};
    json h{{"layer", s.file.layer}, {"head", s.file.head}, {"kind", s.file.kind},
           {"tokens", s.tokens}, {"kappa", s.kappa}, {"trace_v", s.trace_v}, {"trace_delta_open", cal.open_loop.trace()},
           {"trace_delta_closed", cal.steady_state.trace()}, {"alpha_open", alpha(s.alpha_open)},
           {"alpha_closed", alpha(s.alpha_closed)}, {"alpha_open_error", alpha_error(s.alpha_open)},
           {"alpha_closed_error", alpha_error(s.alpha_closed)}, {"alpha_adaptive", s.alpha_cheap},
           {"dominated", to_string(s.dominated)},  // alpha*_closed < 1, certified (the premise the fraction counts)
           {"calibration", {{"rounds", cal.rounds}, {"converged", cal.converged}, {"settled", cal.settled},
                            {"settled_round", cal.settled_round}, {"trace_standard_error", cal.trace_standard_error}}},
           {"certificate", {{"rho", cert.rho}, {"bound", cert.issued ? json(cert.bound) : json()}, {"verdict", cert.label()}}},
           {"eta", s.eta}, {"eta_tiers", eta_tiers},
           {"zones", {{"green", s.zones.green}, {"yellow", s.zones.yellow}, {"red", s.zones.red}}},
           {"resets", s.zones.resets}, {"mse_direct", s.mse_direct}, {"mse_delta", s.mse_delta}};
    for (const auto& tr : s.zones.transitions)
      h["transitions"].push_back({{"t", tr.t}, {"from", pipeline::to_string(tr.from)}, {"to", pipeline::to_string(tr.to)},
                                  {"cause", tr.cause}});
    if (s.trace_v_rotated_mean) h["trace_v_rotated_mean"] = *s.trace_v_rotated_mean;
    h["alpha_det"] = s.alpha_det;
    h["certificate"]["premise_ratio"] = s.c3_ratio;
    if (s.uncertainty) {
      const StreamUncertainty& u = *s.uncertainty;
      const double level = r.options.bootstrap.confidence;
      h[ci_key("alpha_open", level)] = interval(u.alpha_open);
      h[ci_key("alpha_closed", level)] = interval(u.alpha_closed);
      h[ci_key("alpha_det", level)] = interval(u.alpha_det);
      h["domination_for_the_source"] = to_string(u.dominated);
      h["certificate"][ci_key("premise_ratio", level)] = interval(u.c3_ratio);
      h["certificate"]["premise_for_the_source"] = to_string(u.c3_premise);
      h["zones"][ci_key("green_fraction", level)] = interval(u.green);
      h["zones"][ci_key("yellow_fraction", level)] = interval(u.yellow);
      h["zones"][ci_key("red_fraction", level)] = interval(u.red);
      h[ci_key("mse_gain", level)] = interval(u.mse_gain);
      h["bootstrap_block_length"] = u.block_length;
    }
    if (s.pq) {
      const ref::PqReport& p = *s.pq;
      h["pq"] = {{"alpha", num(p.alpha.value)}, {"eta_empirical", num(p.eta_empirical)}, {"eta_ggd", num(p.eta_ggd)},
                 {"eta_knn", p.eta_knn ? num(*p.eta_knn) : json()}, {"mu", num(p.joint.mu.value)},
                 {"distortion_v", num(p.d_v.value)}, {"distortion_delta", num(p.d_delta.value)},
                 {"b2_empirical", to_string(s.pq_b2_empirical)}, {"b4_mu_lt_1", to_string(p.joint.verdict)}};
    }
    report["heads"].push_back(h);
  }
  const std::size_t counted = r.streams.size();
  report["premise_holds_fraction"] = counted ? static_cast<double>(r.premise_holds) / static_cast<double>(counted) : 0.0;
  if (r.options.pq)
    report["pq"] = {{"shape", r.options.pq_text}, {"transform", "soft-zca"}, {"joint_condition_holds", r.pq_joint_holds},
                    {"streams", counted}};
  if (r.options.bootstrap.enabled)
    report["domination_for_the_source"] = {{"holds", r.source_holds}, {"fails", r.source_fails}, {"undecided", r.source_undecided},
                                           {"confidence", r.options.bootstrap.confidence},
                                           {"method", "circular block bootstrap of (x_t, u_t, e_{t-1}, delta_t) per stream, "
                                                      "Politis-White block length, bias-corrected normal intervals"},
                                           {"replicates", r.options.bootstrap.replicates}, {"seed", r.options.bootstrap.seed}};
  report["warnings"] = r.warnings;
  return dump(report);
}

namespace {
json eval_nll_json(const EvalNllReport& r) {
  json j{{"scheme", pipeline::to_string(r.options.scheme)}, {"bits", r.options.bits},
         {"kappa", pipeline::is_d5_scheme(r.options.scheme) ? json(nullptr) : json(r.options.kappa)},
         {"tokens", r.tokens}, {"nll_fp32", r.nll_fp32}, {"nll", r.nll}, {"delta_nll", r.delta_nll}, {"kl", r.kl}};
  j["part"] = r.options.keys && r.options.values ? "kv" : r.options.keys ? "k" : "v";
  j["layers"] = r.options.layers.empty() ? json("all") : json(r.options.layers);
  if (r.delta_nll_ci) {
    const double level = r.options.bootstrap.confidence;
    j[ci_key("delta_nll", level)] = interval(r.delta_nll_ci);
    j[ci_key("kl", level)] = interval(r.kl_ci);
    j["delta_nll_positive_for_the_source"] = to_string(r.costs_nll);
    if (r.versus_ci) {
      j["versus"] = {{"scheme", pipeline::to_string(*r.options.versus)}, {"delta_nll", *r.versus_delta_nll},
                     {ci_key("delta_nll", level), interval(r.versus_ci)},
                     {"worse_for_the_source", to_string(r.versus_worse)}};
    }
    j["bootstrap"] = {{"method", "circular block bootstrap of the paired per-token NLL differences (and per-position KL)"},
                      {"block_length", r.block_length}, {"interval", "bias-corrected normal"},
                      {"replicates", r.options.bootstrap.replicates}, {"seed", r.options.bootstrap.seed}};
  }
  json per_token = json::array();
  auto opt = [](const auto& v) { return v ? json(*v) : json(nullptr); };
  for (const EvalNllToken& t : r.per_token)
    per_token.push_back({{"position", t.position}, {"token", t.token}, {"next_token", opt(t.next)}, {"nll_fp32", opt(t.nll_fp32)},
                         {"nll", opt(t.nll)}, {"kl", t.kl}});
  j["per_token"] = per_token;
  if (r.options.scheme == pipeline::KvScheme::delta_zoned) {
    j["resets"] = r.resets;
    j["eta"] = {{"mode", r.options.eta.automatic ? "auto: max of the B5 GGD and k-NN tiers per stream" : "fixed"},
                {"per_stream", r.eta_per_stream}};
  }
  return j;
}

}  // namespace

std::string to_json(const EvalNllReport& r) { return dump(eval_nll_json(r)); }

std::string to_json(const EvalNllSweep& s) {
  json runs = json::array();
  for (const auto& run : s.runs) {
    json j{{"text", run.text}};
    j.update(eval_nll_json(run.report));
    runs.push_back(std::move(j));
  }
  json by_bits = json::array();
  for (const auto& b : s.by_bits)
    by_bits.push_back({{"bits", b.bits}, {"texts", b.texts}, {"predictions", b.predictions}, {"nll", b.nll},
                       {"nll_fp32", b.nll_fp32}, {"delta_nll", b.delta_nll}, {"kl", b.kl}});
  return dump(json{{"runs", runs}, {"by_bits", by_bits}});
}

namespace {
json pair_json(const PairStats& p) {
  return {{"rank_biserial_r", p.rank_biserial}, {"permutation_p", p.permutation_p}, {"energy_distance", p.energy}};
}
}  // namespace

std::string to_json(const PaperCheckReport& r) {
  json findings = json::array();
  for (const Finding& f : r.findings)
    findings.push_back({{"id", f.id}, {"claim", f.claim}, {"verdict", f.holds ? "holds" : "fails"}, {"cells_agreeing", f.agree},
                        {"cells", f.cells}, {"evidence", f.evidence}});
  json table = json::array();
  for (const PaperCell& c : r.table)
    table.push_back({{"data", c.data}, {"d", c.d}, {"n", c.n}, {"metric", c.metric},
                     {"median", {{"KV", c.median[0]}, {"KQV", c.median[1]}, {"QKQV", c.median[2]}}},
                     {"winner", to_string(c.winner)}, {"runner_up", to_string(c.runner_up)},
                     {"rank_biserial_r", c.rank_biserial}, {"permutation_p", c.permutation_p}, {"energy_distance", c.energy},
                     {"kqv_vs_kv", pair_json(c.kqv_vs_kv)}, {"qkqv_vs_kqv", pair_json(c.qkqv_vs_kqv)}});
  json j{{"quick", r.options.quick}, {"seed", r.options.seed}, {"kv", r.options.kv_dir ? *r.options.kv_dir : std::string()},
         {"dims", r.dims}, {"budgets", r.budgets}, {"keys", r.keys}, {"queries", r.queries}, {"permutations", r.permutations},
         {"findings", findings}, {"table", table}};
  auto choices = [](const Formalization& f) {
    json c = json::object();
    for (const auto& [name, value] : f.choices()) c[name] = value;
    return c;
  };
  j["formalization"] = choices(r.options.form);
  if (const auto& sens = r.sensitivity) {
    json runs = json::array(), robust = json::array();
    for (const SensitivityRun& run : sens->runs) {
      json verdicts = json::array();
      for (const Finding& f : run.findings)
        verdicts.push_back({{"id", f.id}, {"verdict", f.holds ? "holds" : "fails"}, {"cells_agreeing", f.agree}, {"cells", f.cells},
                            {"evidence", f.evidence}});
      runs.push_back({{"label", run.form.label()}, {"formalization", choices(run.form)}, {"findings", verdicts}});
    }
    for (const FindingRobustness& f : sens->robustness)
      robust.push_back({{"id", f.id}, {"robust", f.robust}, {"holds_in", f.holds}, {"runs", f.runs}, {"flipped_by", f.flips}});
    j["sensitivity"] = {{"design", sens->design}, {"runs", runs}, {"robustness", robust}};
  }
  if (const auto& ds = r.downstream) {
    json rows = json::array(), pairs = json::array(), found = json::array();
    for (const DownstreamRow& row : ds->rows)
      rows.push_back({{"n", row.n}, {"scheme", to_string(row.scheme)}, {"delta_nll", row.delta_nll}, {"kl", row.kl},
                      {"delta_nll_ci", interval(row.delta_nll_ci)}});
    for (const DownstreamPair& p : ds->pairs)
      pairs.push_back({{"n", p.n}, {"a", to_string(p.a)}, {"b", to_string(p.b)}, {"nll_a_minus_b", p.delta_nll},
                       {"ci", interval(p.ci)}, {"a_worse_for_the_source", to_string(p.a_worse)}});
    for (const DownstreamFinding& f : ds->findings)
      found.push_back({{"id", f.id}, {"claim", f.claim}, {"verdict", to_string(f.verdict)}, {"evidence", f.evidence}});
    j["downstream"] = {{"model", ds->model}, {"text", ds->text}, {"tokens", ds->tokens}, {"head_dim", ds->head_dim},
                       {"confidence_each", ds->confidence},
                       {"intervals", "block bootstrap of the paired per-token NLL differences; Bonferroni over the pairs, "
                                     "jointly 95 %"},
                       {"rows", rows}, {"pairs", pairs}, {"findings", found}};
  }
  return dump(j);
}

std::string to_json(const CodebookReport& r) {
  // Numbers: doubles, or decimal strings when more digits than a double holds are asked for.
  auto num = [&](const Real& v) { return r.digits <= 17 ? json(ref::to_double(v)) : json(ref::to_string(v, r.digits)); };
  json j{{"dim", r.dim}, {"bits", r.bits}, {"digits", r.digits}};
  for (const auto& c : r.codebook.centroids) j["centroids"].push_back(num(c));
  for (const auto& t : r.codebook.thresholds) j["thresholds"].push_back(num(t));
  j["mse_per_coordinate"] = num(r.codebook.mse);
  j["mse_per_vector"] = num(r.codebook.mse * Real(static_cast<double>(r.dim)));
  return dump(j);
}

std::string to_json(const CodebookCheckReport& r) {
  const auto& a = r.audit;
  json j{{"dim", r.dim}, {"bits", r.bits}, {"scaled_by_inv_sqrt_d", a.scaled_by_inv_sqrt_d},
         {"mse_per_coordinate", number(a.mse)}, {"optimal_mse_per_coordinate", number(a.optimal_mse)},
         {"excess_mse_pct", number(a.excess_pct)}, {"defects", a.defects}, {"max_excess_pct", r.max_excess_pct},
         {"passes", !r.fails}};
  return dump(j);
}

}  // namespace dpq::app
