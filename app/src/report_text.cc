// Every report as text for a terminal.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "deltapq/app/report.h"

namespace dpq::app {
namespace {

using ref::Real;

std::string fmt(const Real& v, int digits = 6) {
  if (!isfinite(v)) return v > 0 ? "+inf" : (v < 0 ? "-inf" : "nan");
  return ref::to_string(v, digits);
}

std::string interval_text(const std::optional<ref::Interval>& i) {
  if (!i) return "n/a";
  char buf[96];
  std::snprintf(buf, sizeof buf, "[%.4g, %.4g]", i->lo, i->hi);
  return buf;
}

void print_pq(const ref::PqReport& p, const std::optional<AuditReport::PqUncertainty>& u, const std::string& pct,
              std::ostream& os) {
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
                  knn.c_str(), fmt(b.joint.mu.value, 4).c_str(), to_string(b.joint.verdict));
    os << line;
  }
  os << "  alpha = " << fmt(p.alpha.value, 8) << "  eta: empirical " << fmt(p.eta_empirical, 4) << ", GGD "
     << fmt(p.eta_ggd, 4) << ", kNN " << (p.eta_knn ? fmt(*p.eta_knn, 4) : std::string("n/a")) << "  ->  mu = "
     << fmt(p.joint.mu.value, 6) << " (advantage guaranteed iff eta < " << fmt(p.eta_threshold, 4) << ")\n";
  if (u) {
    os << "  for the source (" << pct << "): alpha in " << interval_text(u->alpha) << ", eta_GGD in " << interval_text(u->eta_ggd)
       << ", eta_kNN in " << interval_text(u->eta_knn) << ", mu in " << interval_text(u->mu) << "  ->  mu < 1: "
       << to_string(u->joint_source) << "\n";
    os << "  block  alpha_m " << pct << "          mu_m " << pct << "\n";
    for (std::size_t m = 0; m < u->alpha_m.size(); ++m) {
      char line[160];
      std::snprintf(line, sizeof line, "  %-5zu  %-22s  %s\n", m, interval_text(u->alpha_m[m]).c_str(), interval_text(u->mu_m[m]).c_str());
      os << line;
    }
    os << "  (eta_empirical has no interval: it needs a k-means codebook per resample; mu resamples alpha and the GGD tier)\n";
  }
}

}  // namespace

void print_text(const AuditReport& r, std::ostream& os) {
  char line[512];
  os << "deltapq audit: " << r.input << "  [T = " << r.tokens << ", d = " << r.dim << "]  precision " << r.precision_bits
     << " bits, kappa = " << fmt(r.options.kappa, 4) << ", "
     << (r.options.budget ? "greedy budget " + std::to_string(*r.options.budget) + " bits"
                          : std::to_string(r.options.bits) + " bits/coordinate")
     << "\n";
  if (r.kappa_auto)
    os << "  kappa auto: the matched design's distortion of V is least at kappa = " << r.kappa_auto->search.kappa << " ("
       << r.kappa_auto->search.evaluations << " evaluations): D = " << fmt(r.v.distortion_matched.value, 6) << " against "
       << fmt(r.kappa_auto->distortion_at_3.value, 6) << " at kappa = 3\n";
  os << "\n";
  os << "  source   tr Sigma       lambda_max     lambda_min     D (support)    D (matched)\n";
  for (const auto* s : {&r.v, &r.delta}) {
    std::snprintf(line, sizeof line, "  %-7s  %-13s  %-13s  %-13s  %-13s  %-13s\n", s->name.c_str(),
                  fmt(s->trace, 6).c_str(), fmt(s->eigenvalues(0), 6).c_str(),
                  fmt(s->eigenvalues(s->eigenvalues.size() - 1), 6).c_str(), fmt(s->distortion_support.value, 6).c_str(),
                  fmt(s->distortion_matched.value, 6).c_str());
    os << line;
  }
  const auto& u = r.uncertainty;
  const std::string pct = std::to_string(static_cast<int>(std::lround(r.options.bootstrap.confidence * 100))) + "%";
  os << "\n  alpha* = " << (r.alpha.finite ? fmt(r.alpha.alpha.value, 10) + " (+- " + fmt(r.alpha.alpha.error, 2) + ")"
                                          : "+inf (" + r.alpha.reason + ")")
     << "   tr Sigma_delta / tr Sigma_V = " << fmt(r.trace_ratio.value, 10)
     << "   Sigma_delta <= Sigma_V: " << to_string(r.loewner) << "\n";
  if (u.computed) {
    os << "  for the source (" << pct << ", " << u.setup.method << ", block " << u.setup.block_length << ", "
       << u.setup.replicates << " resamples): alpha* in " << interval_text(u.alpha_star) << ", trace ratio in "
       << interval_text(u.trace_ratio) << ", Sigma_delta <= Sigma_V: " << to_string(u.loewner_source) << "\n";
  }
  for (const auto& w : r.warnings) os << "  warning: " << w << "\n";
  os << "\n  id  source      claim                    bound          measured       margin         sample     premises     source\n";
  for (const auto& t : r.theorems) {
    const Verdict pv = t.premises_verdict();
    const char* premises = t.premises.empty() ? "-" : pv == Verdict::holds ? "hold" : pv == Verdict::fails ? "DO NOT HOLD" : "undecided";
    const std::string src = t.margin_ci ? to_string(t.source_verdict) : "-";
    std::snprintf(line, sizeof line, "  %-3s %-11s %-24s %-14s %-14s %-14s %-10s %-12s %s\n", t.id.c_str(), t.source.c_str(),
                  t.claim.c_str(), fmt(t.bound.value).c_str(), fmt(t.measured.value).c_str(),
                  fmt(t.bound.value - t.measured.value, 3).c_str(), to_string(t.verdict), premises, src.c_str());
    os << line;
    const std::string reading = t.reading();
    if (reading != to_string(t.verdict)) os << "      reading: " << reading << "\n";
    if (!t.note.empty()) os << "      " << t.note << "\n";
    for (const auto& p : t.premises)
      if (p.verdict != Verdict::holds) os << "      premise " << (p.verdict == Verdict::fails ? "false" : "undecided") << ": " << p.what << "\n";
    if (t.margin_ci) os << "      for the source: margin in " << interval_text(t.margin_ci) << " (" << pct << ")\n";
  }
  if (r.pq) print_pq(*r.pq, r.uncertainty.pq, pct, os);
  os << "\n  " << (r.claim_fails() ? "A claim whose premises hold FAILS on this data (exit 1)."
                                   : r.any_fails() ? "No claim fails where its theorem applies (exit 0); some inequalities fail where their premises do not hold."
                                                   : "No claim fails on this data (exit 0).")
     << "\n  Sample verdicts hold or fail only when the margin exceeds the certified error; source verdicts only when the "
        "margin's interval excludes 0; otherwise 'undecided'.\n";
}

void print_text(const StreamAuditReport& r, std::ostream& os) {
  char line[400];
  const bool src = r.options.bootstrap.enabled;
  const std::string pct = std::to_string(static_cast<int>(std::lround(r.options.bootstrap.confidence * 100))) + "%";
  os << "deltapq audit-stream: " << r.input << "  (b = " << r.options.bits << ", kappa = ";
  if (r.options.kappa_auto && !r.streams.empty()) {
    double lo = r.streams[0].kappa, hi = lo;
    for (const StreamReport& s : r.streams) lo = std::min(lo, s.kappa), hi = std::max(hi, s.kappa);
    os << "auto per stream, " << lo << " .. " << hi;
  } else {
    os << r.options.kappa;
  }
  os << ", closed loop calibrated to its fixed point)\n";
  os << "  a*open / a*closed: the Loewner domination factor alpha* of the open-loop and steady-state deltas (A3);\n"
        "  a_det: (det Sigma_delta / det Sigma_V)^(1/d) at the steady state, the alpha the C4 monitor and B2 use;\n"
        "  src: alpha*_closed < 1 for the source (" + pct + ", block bootstrap)\n";
  os << "  layer head kind    trS_V      trS_u      trS_d(ss)  a*open   a*closed a_det    src       rho    cert      zones g/y/r   "
        "resets  mse_direct mse_delta\n";
  auto alpha = [](const ref::DominationFactor& a) { return a.finite ? ref::to_double(a.alpha.value) : INFINITY; };
  for (const StreamReport& s : r.streams) {
    const auto& cal = s.calibration;
    std::snprintf(line, sizeof line,
                  "  %5d %4d %-7s %-10.4g %-10.4g %-10.4g %-8.3g %-8.3g %-8.3g %-9s %-6.3g %-9s %3zu/%3zu/%3zu   %-6zu  %-10.4g %-10.4g\n",
                  s.file.layer, s.file.head, s.file.kind.c_str(), s.trace_v, cal.open_loop.trace(), cal.steady_state.trace(),
                  alpha(s.alpha_open), alpha(s.alpha_closed), s.alpha_det,
                  s.uncertainty ? to_string(s.uncertainty->dominated) : "-", s.certificate.rho, s.certificate.label().c_str(),
                  s.zones.green, s.zones.yellow, s.zones.red, s.zones.resets, s.mse_direct, s.mse_delta);
    os << line;
  }
  os << "\n  domination premise (steady-state alpha* < 1, certified) holds for " << r.premise_holds << " of "
     << r.streams.size() << " streams";
  if (src)
    os << "; for the source (" << pct << "): holds for " << r.source_holds << ", fails for " << r.source_fails
       << ", undecided for " << r.source_undecided;
  os << "\n";
  if (r.options.pq) {
    os << "  PQ " << r.options.pq_text << " (Soft-ZCA, per-stream codebooks): the joint condition mu < 1 holds for "
       << r.pq_joint_holds << " of " << r.streams.size() << " streams\n";
    os << "  layer head kind    alpha      eta_emp    eta_GGD    eta_kNN    mu         B2 (eta_emp)  B4 mu < 1\n";
    for (const StreamReport& s : r.streams) {
      if (!s.pq) continue;
      const ref::PqReport& p = *s.pq;
      std::snprintf(line, sizeof line, "  %5d %4d %-7s %-10.4g %-10.4g %-10.4g %-10s %-10.4g %-13s %s\n", s.file.layer,
                    s.file.head, s.file.kind.c_str(), ref::to_double(p.alpha.value), ref::to_double(p.eta_empirical),
                    ref::to_double(p.eta_ggd), p.eta_knn ? fmt(*p.eta_knn, 4).c_str() : "n/a", ref::to_double(p.joint.mu.value),
                    to_string(s.pq_b2_empirical), to_string(p.joint.verdict));
      os << line;
    }
  }
  for (const auto& w : r.warnings) os << "  warning: " << w << "\n";
}

void print_text(const EvalNllReport& r, std::ostream& os) {
  const bool zoned = r.options.scheme == pipeline::KvScheme::delta_zoned;
  std::string part;
  if (!(r.options.keys && r.options.values)) part = r.options.keys ? ", keys only" : ", values only";
  if (!r.options.layers.empty()) {
    part += ", layers";
    for (int l : r.options.layers) part += " " + std::to_string(l);
  }
  std::ostringstream clip;  // the D5 schemes have no clip: their codebooks are the sphere marginal's
  if (!pipeline::is_d5_scheme(r.options.scheme)) clip << " (kappa " << r.options.kappa << ")";
  os << "eval-nll: " << pipeline::to_string(r.options.scheme) << part << " at " << r.options.bits << " bits" << clip.str()
     << ", " << r.tokens << " tokens: NLL " << r.nll << " vs fp32 " << r.nll_fp32 << " (delta "
     << r.delta_nll << "), mean KL " << r.kl << (zoned ? ", resets " + std::to_string(r.resets) : "") << "\n";
  if (r.delta_nll_ci)
    os << "  for the source (" << std::lround(r.options.bootstrap.confidence * 100) << "%, block bootstrap over tokens, block "
       << r.block_length << "): delta NLL in " << interval_text(r.delta_nll_ci) << ", KL in " << interval_text(r.kl_ci)
       << "; the scheme costs NLL: " << to_string(r.costs_nll) << "\n";
  if (r.versus_delta_nll)
    os << "  versus " << pipeline::to_string(*r.options.versus) << " on the same tokens: NLL difference " << *r.versus_delta_nll
       << (r.versus_ci ? " in " + interval_text(r.versus_ci) : std::string()) << "; " << pipeline::to_string(r.options.scheme)
       << " is worse: " << to_string(r.versus_worse) << "\n";
}

void print_text(const EvalNllSweep& s, std::ostream& os) {
  for (const auto& run : s.runs) {
    os << run.text << ": ";
    print_text(run.report, os);
  }
  os << "\n  per bit width over the texts (token-weighted means):\n";
  char line[160];
  std::snprintf(line, sizeof line, "  %4s %5s %11s %10s %10s %11s %10s\n", "bits", "texts", "predictions", "NLL", "NLL fp32",
                "delta NLL", "KL");
  os << line;
  for (const auto& b : s.by_bits) {
    std::snprintf(line, sizeof line, "  %4d %5zu %11zu %10.5f %10.5f %11.3e %10.3e\n", b.bits, b.texts, b.predictions, b.nll,
                  b.nll_fp32, b.delta_nll, b.kl);
    os << line;
  }
}

void print_text(const PaperCheckReport& r, std::ostream& os) {
  char line[256];
  const auto& budgets = r.budgets;
  if (r.options.kv_dir) {
    os << "deltapq paper-check --kv " << *r.options.kv_dir << ": " << r.datasets << " KV heads of d = " << r.kv_dim
       << ", n in {" << budgets.front() << ".." << budgets.back() << "}, " << r.permutations << " permutations\n\n";
  } else {
    os << "deltapq paper-check" << (r.options.quick ? " --quick" : "") << ": d in {";
    for (std::size_t i = 0; i < r.dims.size(); ++i) os << (i ? ", " : "") << r.dims[i];
    os << "}, n in {" << budgets.front() << ".." << budgets.back() << "}, " << r.regimes << " regimes, " << r.keys
       << " keys, " << r.queries << " queries, " << r.permutations << " permutations\n\n";
  }
  os << "  formalization (proofs-notes/D8.md):";
  for (const auto& [name, value] : r.options.form.choices()) os << " " << name << "=" << value;
  os << "\n";
  // The paper's layout: per data set (regime and rank, or KV head) and budget n, the median of every
  // metric per scheme, and the pairs it reports (r > 0: the first scheme tends lower, i.e. better).
  os << "  medians per scheme; KQV vs KV and QKQV vs KQV: rank-biserial r (> 0: the first is better), permutation p,\n"
        "  energy distance; win: the scheme with the lowest median\n";
  std::snprintf(line, sizeof line, "  %-14s %5s %2s %-9s | %-10s %-10s %-10s | %-5s | %7s %7s %8s | %7s %7s %8s\n", "data", "d",
                "n", "metric", "KV", "KQV", "QKQV", "win", "r", "p", "energy", "r", "p", "energy");
  os << line;
  std::string last;
  for (const PaperCell& c : r.table) {
    const std::string group = c.data + " " + std::to_string(c.d) + " " + std::to_string(c.n);
    if (!last.empty() && group.substr(0, group.rfind(' ')) != last.substr(0, last.rfind(' '))) os << "\n";
    last = group;
    std::snprintf(line, sizeof line,
                  "  %-14s %5d %2d %-9s | %-10.4g %-10.4g %-10.4g | %-5s | %7.3f %7.4f %8.3g | %7.3f %7.4f %8.3g\n",
                  c.data.c_str(), c.d, c.n, c.metric.c_str(), c.median[0], c.median[1], c.median[2], to_string(c.winner),
                  c.kqv_vs_kv.rank_biserial, c.kqv_vs_kv.permutation_p, c.kqv_vs_kv.energy, c.qkqv_vs_kqv.rank_biserial,
                  c.qkqv_vs_kqv.permutation_p, c.qkqv_vs_kqv.energy);
    os << line;
  }
  os << "\nThe paper's findings on this grid (medians over queries or keys; r and p in the table):\n";
  for (const Finding& f : r.findings)
    os << "  (" << f.id << ") " << (f.holds ? "holds" : "fails") << ": " << f.claim << "\n      " << f.evidence << "\n";
  if (const auto& sens = r.sensitivity) {
    os << "\nSensitivity to the formalization: " << sens->design << "\n  (per finding: the verdict and the cells "
          "agreeing with the claim, of those judged)\n";
    for (const SensitivityRun& run : sens->runs) {
      os << "  ";
      for (const Finding& f : run.findings) {
        std::snprintf(line, sizeof line, "(%d) %-5s %3d/%-3d  ", f.id, f.holds ? "holds" : "fails", f.agree, f.cells);
        os << line;
      }
      os << run.form.label() << "\n";
    }
    for (const FindingRobustness& f : sens->robustness) {
      os << "  finding " << f.id << ": " << (f.robust ? "robust" : "depends on the formalization") << ", holds in " << f.holds
         << " of " << f.runs << " runs";
      for (std::size_t i = 0; i < f.flips.size(); ++i) os << (i ? "; " : " -- ") << f.flips[i];
      os << "\n";
    }
  }
  if (const auto& ds = r.downstream) {
    os << "\nDownstream: " << ds->model << " (head dimension " << ds->head_dim << ") on " << ds->text << ", " << ds->tokens
       << " tokens, its KV cache through each scheme (post-RoPE keys and values, eval-nll --kv-scheme):\n";
    std::snprintf(line, sizeof line, "  %2s %-5s %11s %10s  %-24s\n", "n", "", "delta NLL", "KL", "delta NLL interval");
    os << line;
    for (const DownstreamRow& row : ds->rows) {
      std::snprintf(line, sizeof line, "  %2d %-5s %11.4g %10.4g  %-24s\n", row.n, to_string(row.scheme), row.delta_nll, row.kl,
                    interval_text(row.delta_nll_ci).c_str());
      os << line;
    }
    char pct[32];
    std::snprintf(pct, sizeof pct, "%.2f %%", ds->confidence * 100);
    os << "  pairs on the same tokens (" << pct << " each, jointly 95 %):\n";
    for (const DownstreamPair& p : ds->pairs) {
      std::snprintf(line, sizeof line, "  %2d NLL(%s) - NLL(%s) = %10.4g in %-24s %s worse: %s\n", p.n, to_string(p.a), to_string(p.b),
                    p.delta_nll, interval_text(p.ci).c_str(), to_string(p.a), to_string(p.a_worse));
      os << line;
    }
    os << "The findings judged downstream (finding 3 is about K error, not the model's output):\n";
    for (const DownstreamFinding& f : ds->findings)
      os << "  (" << f.id << ") " << to_string(f.verdict) << ": " << f.claim << "\n      " << f.evidence << "\n";
  }
}

void print_text(const CodebookReport& r, std::ostream& os) {
  const ref::Codebook& cb = r.codebook;
  os << "Lloyd-Max codebook for " << cb.marginal.name() << ", " << r.bits << " bits (" << cb.centroids.size()
     << " levels), " << r.precision_bits << "-bit arithmetic, centroid residual " << ref::to_string(cb.residual, 3)
     << "\n  MSE per coordinate " << ref::to_string(cb.mse, r.digits) << "\n  MSE per vector (d x) "
     << ref::to_string(cb.mse * Real(static_cast<double>(r.dim)), r.digits) << "\n  centroids (upper half):\n";
  for (std::size_t i = cb.centroids.size() / 2; i < cb.centroids.size(); ++i)
    os << "    " << ref::to_string(cb.centroids[i], r.digits) << "\n";
}

void print_text(const CodebookCheckReport& r, std::ostream& os) {
  const auto& a = r.audit;
  os << "deltapq codebook --check " << r.table << " against Lloyd-Max on " << ref::Marginal::sphere(r.dim).name() << ", "
     << r.bits << " bits\n"
;
  if (a.scored)
    os << "  read as: " << (a.scaled_by_inv_sqrt_d ? "N(0,1) scale, divided by sqrt(d)" : "unit-sphere scale, as given")
       << "\n  MSE per coordinate " << ref::to_string(a.mse, 10) << " vs optimum " << ref::to_string(a.optimal_mse, 10)
       << ": excess " << ref::to_string(a.excess_pct, 6) << " %\n";
  else
    os << "  not scored: the table is not a " << r.bits << "-bit codebook\n";
  for (const auto& d : a.defects) os << "  defect: " << d << "\n";
  os << "  " << (r.fails ? "FAILS" : "passes") << " the gate --max-excess " << r.max_excess_pct << " %\n";
}

void print_text(const KvDumpReport& r, std::ostream& os) {
  os << "wrote " << r.arrays << " arrays [" << r.tokens << ", " << r.head_dim << "] and manifest.json to " << r.dir << "\n";
}

}  // namespace dpq::app
