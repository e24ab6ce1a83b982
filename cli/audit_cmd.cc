// deltapq audit FILE.npy [--bits B] [--budget TOTAL] [--kappa K] [--precision BITS] [--json OUT]
//                [--pq MxBITS [--pq-transform identity|eigenbasis|soft-zca] [--zca-eps REL] [--seed N]]
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "args.h"
#include "commands.h"
#include "deltapq/core/atomic_file.h"
#include "deltapq/core/error.h"
#include "deltapq/core/npy.h"
#include "deltapq/reference/audit.h"

namespace dpq::cli {
namespace {

using ref::Certified;
using ref::Real;

nlohmann::ordered_json number(const Real& v) {
  if (!isfinite(v)) return nullptr;
  return ref::to_double(v);
}

std::string fmt(const Real& v, int digits = 6) {
  if (!isfinite(v)) return v > 0 ? "+inf" : (v < 0 ? "-inf" : "nan");
  return ref::to_string(v, digits);
}

nlohmann::ordered_json certified(const Certified& c) { return {{"value", number(c.value)}, {"error", number(c.error)}}; }

nlohmann::ordered_json pq_json(const ref::PqReport& p) {
  nlohmann::ordered_json j;
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
  j["eta_knn"] = p.eta_knn ? number(*p.eta_knn) : nlohmann::ordered_json();
  j["eta_conservative"] = number(p.eta_conservative);
  j["mu"] = number(p.joint.mu.value);
  j["joint_condition_mu_lt_1"] = ref::to_string(p.joint.verdict);
  j["eta_threshold"] = number(p.eta_threshold);
  j["distortion_v"] = certified(p.d_v);
  j["distortion_delta"] = certified(p.d_delta);
  auto source = [](const ref::PqSourceBlock& s, const std::vector<ref::Real>& betas, const ref::Real& log_shape_ggd,
                   const ref::KnnShape& knn) {
    nlohmann::ordered_json o;
    o["det"] = certified(s.det);
    o["distortion"] = certified(s.distortion);
    o["distortion_per_row_sd"] = number(s.distortion_sd);
    o["A"] = certified(s.a);
    o["ratio_D_over_A"] = number(s.ratio);
    std::vector<nlohmann::ordered_json> beta;
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
    nlohmann::ordered_json o;
    o["block"] = b.block;
    o["alpha_m"] = certified(b.alpha.alpha);
    o["eta_empirical"] = number(b.eta_empirical);
    o["eta_ggd"] = number(b.shape.eta_ggd);
    o["eta_knn"] = b.shape.eta_knn ? number(*b.shape.eta_knn) : nlohmann::ordered_json();
    if (b.shape.eta_knn) o["eta_knn_standard_error"] = number(b.shape.eta_knn_se);
    o["eta_conservative"] = number(b.eta_conservative);
    o["mu_m"] = number(b.joint.mu.value);
    o["joint_condition_mu_lt_1"] = ref::to_string(b.joint.verdict);
    o["V"] = source(b.v, b.shape.beta_v, b.shape.log_shape_ggd_v, b.shape.knn_v);
    o["delta"] = source(b.delta, b.shape.beta_delta, b.shape.log_shape_ggd_delta, b.shape.knn_delta);
    j["per_block"].push_back(o);
  }
  return j;
}

void print_pq(const ref::PqReport& p, std::ostream& os) {
  char line[512];
  os << "\n  Part B: PQ " << p.options.shape.blocks << " blocks x " << p.options.shape.bits << " bits (d_m = "
     << p.options.shape.block_dim() << "), transform " << ref::to_string(p.options.transform);
  if (p.options.transform == ref::PqTransform::soft_zca) os << " (eps = " << fmt(p.zca_eps, 4) << ")";
  os << ", k-means++ seed " << p.options.kmeans.seed << ", " << p.options.kmeans.iterations << " rounds max\n";
  os << "  block  alpha_m       D_V           D_delta       eta_emp    eta_GGD    eta_kNN (se)        mu_m        mu_m < 1\n";
  for (const auto& b : p.blocks) {
    const std::string knn =
        b.shape.eta_knn ? fmt(*b.shape.eta_knn, 3) + " (" + fmt(b.shape.eta_knn_se, 2) + ")" : std::string("n/a");
    std::snprintf(line, sizeof line, "  %-5d  %-12s  %-12s  %-12s  %-9s  %-9s  %-18s  %-10s  %s\n", b.block,
                  fmt(b.alpha.alpha.value, 6).c_str(), fmt(b.v.distortion.value, 6).c_str(),
                  fmt(b.delta.distortion.value, 6).c_str(), fmt(b.eta_empirical, 3).c_str(), fmt(b.shape.eta_ggd, 3).c_str(),
                  knn.c_str(), fmt(b.joint.mu.value, 4).c_str(), ref::to_string(b.joint.verdict));
    os << line;
  }
  os << "  alpha = " << fmt(p.alpha.value, 8) << "  eta: empirical " << fmt(p.eta_empirical, 4) << ", GGD "
     << fmt(p.eta_ggd, 4) << ", kNN " << (p.eta_knn ? fmt(*p.eta_knn, 4) : std::string("n/a")) << "  ->  mu = "
     << fmt(p.joint.mu.value, 6) << " (advantage guaranteed iff eta < " << fmt(p.eta_threshold, 4) << ")\n";
}

nlohmann::ordered_json to_json(const ref::AuditReport& r, const std::string& input) {
  nlohmann::ordered_json j;
  j["input"] = input;
  j["tokens"] = r.tokens;
  j["dim"] = r.dim;
  j["precision_bits"] = r.precision_bits;
  j["kappa"] = ref::to_double(r.options.kappa);
  if (r.options.budget) j["budget"] = *r.options.budget; else j["bits"] = r.options.bits;
  j["bit_allocation"] = r.v.bits;
  j["theorems"] = nlohmann::ordered_json::array();
  for (const auto& t : r.theorems) {
    nlohmann::ordered_json e;
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
    e["verdict"] = ref::to_string(t.verdict);
    e["premises"] = nlohmann::ordered_json::array();
    for (const auto& [what, ok] : t.premises) e["premises"].push_back({{"premise", what}, {"holds", ok}});
    e["premises_hold"] = t.premises_hold();
    if (!t.note.empty()) e["note"] = t.note;
    j["theorems"].push_back(e);
  }
  j["alpha_star"] = number(r.alpha.alpha.value);
  j["alpha_star_finite"] = r.alpha.finite;
  j["alpha_star_error"] = number(r.alpha.alpha.error);
  if (!r.alpha.reason.empty()) j["alpha_star_note"] = r.alpha.reason;
  j["trace_ratio"] = number(r.trace_ratio.value);
  j["loewner_delta_le_v"] = ref::to_string(r.loewner);
  for (const auto* s : {&r.v, &r.delta}) {
    nlohmann::ordered_json o;
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
    j["sources"][s->name] = o;
  }
  if (r.pq) j["pq"] = pq_json(*r.pq);
  j["any_fails"] = r.any_fails();
  return j;
}

void print_report(const ref::AuditReport& r, const std::string& input, std::ostream& os) {
  char line[512];
  os << "deltapq audit: " << input << "  [T = " << r.tokens << ", d = " << r.dim << "]  precision " << r.precision_bits
     << " bits, kappa = " << fmt(r.options.kappa, 4) << ", "
     << (r.options.budget ? "greedy budget " + std::to_string(*r.options.budget) + " bits"
                          : std::to_string(r.options.bits) + " bits/coordinate")
     << "\n\n";
  os << "  source   tr Sigma       lambda_max     lambda_min     D (support)    D (matched)\n";
  for (const auto* s : {&r.v, &r.delta}) {
    std::snprintf(line, sizeof line, "  %-7s  %-13s  %-13s  %-13s  %-13s  %-13s\n", s->name.c_str(),
                  fmt(s->trace, 6).c_str(), fmt(s->eigenvalues(0), 6).c_str(),
                  fmt(s->eigenvalues(s->eigenvalues.size() - 1), 6).c_str(), fmt(s->distortion_support.value, 6).c_str(),
                  fmt(s->distortion_matched.value, 6).c_str());
    os << line;
  }
  os << "\n  alpha* = " << (r.alpha.finite ? fmt(r.alpha.alpha.value, 10) + " (+- " + fmt(r.alpha.alpha.error, 2) + ")"
                                          : "+inf (" + r.alpha.reason + ")")
     << "   tr Sigma_delta / tr Sigma_V = " << fmt(r.trace_ratio.value, 10)
     << "   Sigma_delta <= Sigma_V: " << ref::to_string(r.loewner) << "\n\n";
  os << "  id  source      claim                    bound          measured       margin         verdict    premises\n";
  for (const auto& t : r.theorems) {
    std::snprintf(line, sizeof line, "  %-3s %-11s %-24s %-14s %-14s %-14s %-10s %s\n", t.id.c_str(), t.source.c_str(),
                  t.claim.c_str(), fmt(t.bound.value).c_str(), fmt(t.measured.value).c_str(),
                  fmt(t.bound.value - t.measured.value, 3).c_str(), ref::to_string(t.verdict),
                  t.premises.empty() ? "-" : (t.premises_hold() ? "hold" : "DO NOT HOLD"));
    os << line;
    if (!t.note.empty()) os << "      " << t.note << "\n";
    for (const auto& [what, ok] : t.premises)
      if (!ok) os << "      premise false: " << what << "\n";
  }
  if (r.pq) print_pq(*r.pq, os);
  os << "\n  " << (r.any_fails() ? "Some claims FAIL on this data (exit 1)." : "No claim fails on this data (exit 0).")
     << "  A verdict is given only when the margin exceeds the certified error; otherwise 'undecided'.\n";
}

}  // namespace

int run_audit(int argc, char** argv) {
  Args args(argc, argv, {"--bits", "--budget", "--kappa", "--precision", "--json", "--pq", "--pq-transform", "--zca-eps", "--seed"},
            {});
  if (args.positional().size() != 1) throw Error("audit takes exactly one input FILE.npy");
  const std::string input = args.positional()[0];
  if (auto p = args.integer("--precision", 64, 16384)) ref::set_precision_bits(static_cast<int>(*p));

  ref::AuditOptions opt;
  if (auto b = args.integer("--bits", 0, kMaxBits)) opt.bits = static_cast<int>(*b);
  if (auto k = args.real("--kappa", true)) opt.kappa = ref::Real(*k);
  const NpyMatrix m = read_npy(input);
  if (auto b = args.integer("--budget", 0, static_cast<long long>(kMaxBits * m.cols))) opt.budget = static_cast<int>(*b);
  if (m.rows < 2) throw Error(input + ": T = " + std::to_string(m.rows) + " rows; the delta stream needs T >= 2");
  if (auto pq = args.text("--pq")) {
    ref::PqOptions po;
    po.shape = ref::parse_pq_shape(*pq, static_cast<int>(m.cols));
    if (auto t = args.text("--pq-transform")) po.transform = ref::parse_pq_transform(*t);
    if (auto e = args.real("--zca-eps", true)) po.zca_eps_rel = ref::Real(*e);
    if (auto s = args.integer("--seed", 0, 1LL << 53)) po.kmeans.seed = static_cast<std::uint64_t>(*s);
    if (m.rows - 1 < static_cast<std::size_t>(po.shape.centroids()))
      throw Error(input + ": " + std::to_string(m.rows - 1) + " delta rows, but --pq " + *pq + " needs at least 2^" +
                  std::to_string(po.shape.bits) + " = " + std::to_string(po.shape.centroids()) + " rows per source");
    opt.pq = po;
  } else {
    for (const char* f : {"--pq-transform", "--zca-eps", "--seed"})
      if (args.has(f)) throw Error(std::string(f) + " needs --pq MxBITS");
  }

  const ref::AuditReport report = ref::audit_stream(m.data, m.rows, m.cols, opt);
  print_report(report, input, std::cout);
  if (auto out = args.text("--json")) write_file_atomically(*out, to_json(report, input).dump(2) + "\n");
  return report.any_fails() ? 1 : 0;
}

}  // namespace dpq::cli
