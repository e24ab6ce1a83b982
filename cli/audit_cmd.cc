// deltapq audit FILE.npy [--bits B] [--budget TOTAL] [--kappa K] [--precision BITS] [--json OUT]
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
  os << "\n  " << (r.any_fails() ? "Some claims FAIL on this data (exit 1)." : "No claim fails on this data (exit 0).")
     << "  A verdict is given only when the margin exceeds the certified error; otherwise 'undecided'.\n";
}

}  // namespace

int run_audit(int argc, char** argv) {
  Args args(argc, argv, {"--bits", "--budget", "--kappa", "--precision", "--json"}, {});
  if (args.positional().size() != 1) throw Error("audit takes exactly one input FILE.npy");
  const std::string input = args.positional()[0];
  if (auto p = args.integer("--precision", 64, 16384)) ref::set_precision_bits(static_cast<int>(*p));

  ref::AuditOptions opt;
  if (auto b = args.integer("--bits", 0, kMaxBits)) opt.bits = static_cast<int>(*b);
  if (auto k = args.real("--kappa", true)) opt.kappa = ref::Real(*k);
  const NpyMatrix m = read_npy(input);
  if (auto b = args.integer("--budget", 0, static_cast<long long>(kMaxBits * m.cols))) opt.budget = static_cast<int>(*b);
  if (m.rows < 2) throw Error(input + ": T = " + std::to_string(m.rows) + " rows; the delta stream needs T >= 2");

  const ref::AuditReport report = ref::audit_stream(m.data, m.rows, m.cols, opt);
  print_report(report, input, std::cout);
  if (auto out = args.text("--json")) write_file_atomically(*out, to_json(report, input).dump(2) + "\n");
  return report.any_fails() ? 1 : 0;
}

}  // namespace dpq::cli
