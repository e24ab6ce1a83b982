#include "deltapq/app/audit.h"

#include "audit_internal.h"
#include "parallel.h"

#include <algorithm>
#include <functional>
#include <limits>

#include "deltapq/core/error.h"
#include "deltapq/reference/adaptive.h"

namespace dpq::app {
namespace {

using namespace ref;

SourceSummary summarize(const std::string& name, std::size_t count, const SampleMoments& m, const SymmetricEigen& eig,
                        const std::vector<int>& bits, const AuditOptions& opt, const detail::SourceStatistics& st) {
  SourceSummary s;
  s.name = name;
  s.count = count;
  s.trace = m.covariance.trace();
  s.eigenvalues = eig.values;
  s.eigen_radius = eig.radius(0);
  s.bits = bits;
  s.distortion_support = st.distortion_support;
  s.distortion_matched = st.distortion_matched;
  s.gaussian_model_bound = clipped_bound_model(eig, opt.kappa, bits, TailModel::gaussian()).value;
  s.tau = st.tau;
  s.tau_error = st.tau_error;
  s.coordinates_adaptive = st.cheap;
  return s;
}

void add_source_entries(std::vector<TheoremEntry>& out, const AuditOptions& options, const SourceSummary& s,
                        const SymmetricEigen& eig, const detail::SourceStatistics& st) {
  {  // A2 with the support design: |Y_i| <= c_i holds by construction.
    TheoremEntry e{"A2", s.name, "bounded_support", "D <= B_bs = sum_i c_i^2 4^-b_i, c_i = max_t |Y_ti|", st.support_bound,
                   s.distortion_support};
    e.premises = {{"|Y_i| <= c_i for every sample (support design)", Verdict::holds}};
    e.verdict = verdict_le(e.measured, e.bound);
    out.push_back(e);
  }
  {  // A2 trace corollary of the matched design.
    TheoremEntry e{"A2", s.name, "trace_corollary", "kappa^2 sum_i lambda_i 4^-b_i <= kappa^2 4^-min(b) tr Sigma",
                   trace_corollary_bound(eig, options.kappa, s.bits),
                   bounded_support_bound_matched(eig, options.kappa, s.bits)};
    e.verdict = verdict_le(e.measured, e.bound);
    if (std::adjacent_find(s.bits.begin(), s.bits.end(), std::not_equal_to<>()) == s.bits.end())
      e.note = "equal bits everywhere: the corollary is an equality, so the verdict is undecided by design";
    out.push_back(e);
  }
  {  // A5 with the exact empirical overload term.
    const ClippedBound& b = st.exact_overload;
    TheoremEntry e{"A5", s.name, "clipped_exact_overload",
                   "D <= sum_i [c_i^2 4^-b_i P(|Y_i|<=c_i) + O_i], c_i = kappa sqrt(lambda_i)",
                   b.certified(), s.distortion_matched};
    e.premises = {{"E Y_i^2 finite (a finite sample)", Verdict::holds}};
    e.verdict = verdict_le(e.measured, e.bound);
    e.note = "covariance term " + to_string(b.covariance_term.sum(), 6) + ", overload " + to_string(b.overload.sum(), 6);
    out.push_back(e);
  }
  {  // A5 with the fourth-moment overload bound.
    TheoremEntry e{"A5", s.name, "clipped_moment", "D <= sum_i [c_i^2 4^-b_i P(|Y_i|<=c_i) + E Y_i^4 / c_i^2]",
                   st.moment.certified(), s.distortion_matched};
    e.premises = {{"E Y_i^4 finite (a finite sample)", Verdict::holds}};
    e.verdict = verdict_le(e.measured, e.bound);
    out.push_back(e);
  }
}

// A6's B' = sum_i lambda_i [kappa^2 4^-b_i + tau_i], with tau's certified errors carried through lambda_i.
Certified a6_bound_certified(const SymmetricEigen& eig, const Real& kappa, const std::vector<int>& bits, const SourceSummary& s) {
  Certified b = a6_bound(eig, kappa, bits, s.tau);
  for (Eigen::Index i = 0; i < s.tau_error.size(); ++i)
    b.error += (std::max(Real(eig.values(i)), Real(0)) + eig.radius(i)) * s.tau_error(i);
  return b;
}

// A6's premise tau_i^delta <= tau_i^V for every i: the first violation, or nullopt; `decided` turns false when
// the taus' certified errors (and the full path's own, 2^(40-p) relative) leave some comparison open.
std::optional<int> tail_violation(const SourceSummary& delta, const SourceSummary& v, bool& decided) {
  decided = true;
  const Real full(full_path_scale(40));
  for (Eigen::Index i = 0; i < delta.tau.size(); ++i) {
    const Real gap = delta.tau(i) - v.tau(i);
    const Real err = delta.tau_error(i) + v.tau_error(i) + full * (delta.tau(i) + v.tau(i));
    if (gap > err) return static_cast<int>(i);
    if (!(gap < -err) && !(err == 0 && gap <= 0)) {
      decided = false;
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// A verdict that the cheap path's errors decide, widened by a bound on the full path's own error
// (2^(40-p) of the magnitudes): undecided here means the full path's verdict cannot be inferred.
bool decided_like_full(const TheoremEntry& e) {
  const Real w = Real(full_path_scale(40)) * (abs(e.measured.value) + abs(e.bound.value));
  return verdict_le({e.measured.value, e.measured.error + w}, {e.bound.value, e.bound.error + w}) != Verdict::undecided;
}

// Part B on the same stream: V rows and their open-loop deltas (reference::pq_audit_stream scales the
// stream by a power of two first, so data near the ends of the double range work too).
void add_pq_entries(AuditReport& r, const std::vector<double>& rows, std::size_t tokens, std::size_t dim,
                    const SymmetricEigen& eig_v, const PqOptions& options) {
  r.pq = pq_audit_stream(rows, tokens, static_cast<int>(dim), eig_v, options);
  const PqReport& p = *r.pq;
  const std::string arch = std::to_string(options.shape.blocks) + "x" + std::to_string(options.shape.bits) + ", " +
                           to_string(options.transform);
  // B2 with each tier's eta.
  auto b2 = [&](const std::string& tier, const Real& eta, bool measured) {
    TheoremEntry e{"B2", "delta vs V", "pq_ratio [eta " + tier + "]",
                   "D_delta <= alpha (1+eta)/(1-eta) D_V (PQ " + arch + ")", {}, p.d_delta};
    const RatioCheck check = pq_ratio_check(p, p.alpha, eta);
    e.bound = check.bound.value_or(Certified{std::numeric_limits<Real>::infinity(), Real(0)});
    e.verdict = check.verdict;
    // B1 holds on the data with this eta iff eta >= the smallest fitting eta, eta_empirical.
    e.premises = {{"alpha finite (every det Sigma_V,m > 0)", p.alpha_finite ? Verdict::holds : Verdict::fails},
                  {"B1 regime holds on the data with this eta (eta >= eta_empirical = " + to_string(p.eta_empirical, 4) +
                       ", eta < 1)",
                   eta < 1 && eta >= p.eta_empirical ? Verdict::holds : Verdict::fails}};
    e.note = "alpha = " + to_string(p.alpha.value, 6) + ", eta = " + to_string(eta, 4);
    if (!measured) e.note += "; eta from a shape model (a prediction of the regime, checked by the premise)";
    r.theorems.push_back(e);
  };
  b2("empirical", p.eta_empirical, true);
  b2("GGD proxy", p.eta_ggd, false);
  if (p.eta_knn) b2("kNN Renyi", *p.eta_knn, false);
  TheoremEntry e{"B4", "delta vs V", "joint_condition mu < 1",
                 "mu = alpha (1+eta)/(1-eta) < 1, eta = most conservative tier (PQ " + arch + ")",
                 {Real(1), Real(0)}, p.joint.mu};
  e.verdict = p.joint.verdict;
  e.condition = true;
  e.premises = {{"alpha finite (every det Sigma_V,m > 0)", p.alpha_finite ? Verdict::holds : Verdict::fails},
                {"eta < 1 (a B1 regime can hold)", p.eta_conservative < 1 ? Verdict::holds : Verdict::fails}};
  e.note = "eta < (1 - alpha)/(1 + alpha) = " + to_string(p.eta_threshold, 6) + " is the same condition; eta used = " +
           to_string(p.eta_conservative, 4);
  r.theorems.push_back(e);
}

// A3 in double (ref::domination_factor_enclosure) for V and its deltas; the deltas are differences of doubles
// rounded once (relative error u / (1 - u)). loewner receives the Loewner verdict when the enclosure decides it.
std::optional<CheapDomination> cheap_domination(const std::vector<double>& rows, const std::vector<double>& deltas,
                                                std::size_t tokens, std::size_t dim, std::optional<Verdict>& loewner) {
  const auto cov_v = covariance_double(rows.data(), tokens, dim);
  const auto cov_d = covariance_double(deltas.data(), tokens - 1, dim, kRoundedDifferenceError);
  if (!cov_v || !cov_d) return std::nullopt;
  auto cheap = domination_factor_enclosure(*cov_d, *cov_v);
  if (cheap) loewner = loewner_from_alpha(*cheap, *cov_d, *cov_v);
  return cheap;
}

}  // namespace

Verdict TheoremEntry::premises_verdict() const {
  Verdict v = Verdict::holds;
  for (const auto& p : premises) {
    if (p.verdict == Verdict::fails) return Verdict::fails;
    if (p.verdict == Verdict::undecided) v = Verdict::undecided;
  }
  return v;
}

std::string TheoremEntry::reading() const {
  const Verdict p = premises_verdict();
  if (verdict == Verdict::holds)
    return p == Verdict::holds ? "holds" : p == Verdict::fails ? "true; theorem not applicable" : "true; applicability undecided";
  if (verdict == Verdict::fails) {
    if (p == Verdict::fails) return "fails where the theorem does not apply";
    if (p == Verdict::undecided) return "fails; applicability undecided";
    return condition ? "fails: no guaranteed advantage" : "fails with every premise holding: a deltapq bug";
  }
  return "undecided";
}

bool AuditReport::claim_fails() const {
  for (const auto& t : theorems)
    if (t.claim_fails()) return true;
  return false;
}

bool AuditReport::any_fails() const {
  for (const auto& t : theorems)
    if (t.verdict == Verdict::fails) return true;
  return false;
}

AuditReport run_audit(const std::vector<double>& rows, std::size_t tokens, std::size_t dim, const AuditOptions& options,
                      const std::string& input) {
  using namespace ref;
  if (dim == 0) throw Error("audit: d = 0 (the stream has no coordinates)");
  if (tokens < 2) throw Error("audit: T = " + std::to_string(tokens) + " (the delta stream needs T >= 2)");
  if (tokens < dim + 2 && !options.allow_small_sample)
    throw Error(input + ": T = " + std::to_string(tokens) + " rows for d = " + std::to_string(dim) +
                " coordinates: the delta stream's covariance has rank <= T - 2 < d, so the audit would describe "
                "this sample only (and cost as much as a full one); pass --small-sample to audit it anyway");
  if (rows.size() != tokens * dim) throw Error("audit: data size does not match [T, d]");
  if (options.jobs < 1 || options.jobs > 1024) throw Error("--jobs " + std::to_string(options.jobs) + " is outside 1..1024");
  if (options.bits < 0 || options.bits > kMaxBits)
    throw Error("audit: bits = " + std::to_string(options.bits) + " is outside 0..16");
  if (!(options.kappa > 0) || !isfinite(options.kappa))
    throw Error("audit: kappa = " + to_string(options.kappa, 6) + " must be positive and finite");
  if (options.budget && (*options.budget < 0 || *options.budget > kMaxBits * static_cast<long long>(dim)))
    throw Error("audit: budget = " + std::to_string(*options.budget) + " is outside 0.." + std::to_string(kMaxBits * dim));
  if (options.pq) {
    const PqShape& sh = options.pq->shape;
    if (sh.dim != static_cast<int>(dim))
      throw Error("audit: the PQ shape is for d = " + std::to_string(sh.dim) + " but the stream has d = " + std::to_string(dim));
    if (tokens - 1 < static_cast<std::size_t>(sh.centroids()))
      throw Error(input + ": " + std::to_string(tokens - 1) + " delta rows, but PQ " + std::to_string(sh.blocks) + "x" +
                  std::to_string(sh.bits) + " needs at least 2^" + std::to_string(sh.bits) + " = " +
                  std::to_string(sh.centroids()) + " rows per source");
  }

  // Progress in percent of the estimated work: the parts' shares of a d = 128, T = 1024 audit on one
  // thread (eigendecompositions ~30 %, summaries ~30 %, alpha* and Loewner ~25 %, PQ, source layer ~15 %).
  const std::size_t work_pq = options.pq ? 10 : 0, total = 100 + work_pq;
  std::size_t done = 0;
  auto step = [&](std::size_t share) {
    done += share;
    if (options.progress) options.progress(done, total);
  };
  AuditReport r;
  r.input = input;
  r.options = options;
  r.precision_bits = precision_bits();
  r.tokens = tokens;
  r.dim = dim;
  const RMatrix x = to_real(rows.data(), tokens, dim);
  const RMatrix dx = x.bottomRows(tokens - 1) - x.topRows(tokens - 1);  // exact: differences of doubles at >= 128 bits
  // The same differences in double for the adaptive path (each rounded once: kRoundedDifferenceError).
  std::vector<double> delta_rows((tokens - 1) * dim);
  for (std::size_t i = 0; i < delta_rows.size(); ++i) delta_rows[i] = rows[i + dim] - rows[i];

  // The two sources are independent up to the comparison: their moments, eigendecompositions and
  // summaries run side by side (options.jobs >= 2), the errors raised in the sequential order.
  SampleMoments mv, md;
  SymmetricEigen eig_v, eig_d;
  detail::run_both(
      options.jobs,
      [&] {
        mv = sample_moments(rows.data(), tokens, dim);  // = sample_moments(x), bit for bit
        if (!(mv.covariance.trace() > 0))
          throw Error(input + ": the stream is constant (tr Sigma_V = 0): there is no variance to quantize, every bound and "
                      "distortion is 0");
        eig_v = symmetric_eigen(mv.covariance, "Sigma_V");
      },
      [&] {
        md = sample_moments(rows.data(), tokens, dim, /*deltas=*/true);  // = sample_moments(dx), bit for bit
        eig_d = symmetric_eigen(md.covariance, "Sigma_delta");
      });
  require_psd(eig_v, "Sigma_V");
  require_psd(eig_d, "Sigma_delta");
  step(30);
  // Bits: uniform, or greedy on Sigma_V shared by both sources (A4 needs the same bit vector).
  const std::vector<int> bits = options.budget ? greedy_bits(eig_v.values, *options.budget)
                                               : uniform_bits(dim, options.bits);
  // --kappa auto: V's eigen-coordinates first (the search needs them; summarize reuses them), then the
  // chosen kappa is the one both sources and every later bound use.
  const AuditOptions& opt = r.options;
  RMatrix coords_v;
  if (options.kappa_auto) {
    coords_v = eigen_coordinates(x, mv.mean, eig_v.vectors);
    std::vector<double> y(static_cast<std::size_t>(coords_v.size())), lambda(dim);
    for (Eigen::Index t = 0; t < coords_v.rows(); ++t)
      for (Eigen::Index i = 0; i < coords_v.cols(); ++i)
        y[static_cast<std::size_t>(t) * dim + static_cast<std::size_t>(i)] = to_double(coords_v(t, i));
    for (std::size_t i = 0; i < dim; ++i) lambda[i] = std::max(0.0, to_double(eig_v.values(static_cast<Eigen::Index>(i))));
    AuditReport::KappaAuto ka;
    ka.search = mse_optimal_kappa(y, tokens, lambda, bits);
    r.options.kappa = Real(ka.search.kappa);
    ka.distortion_at_3 = empirical_distortion(coords_v, matched_design(eig_v.values, Real(3), bits)).certified();
    r.kappa_auto = ka;
  }
  // The coordinate statistics (A2, A5, A6), adaptively: from double coordinates when every decision they make
  // is certain and every verdict they feed stays decided with the full path's error added; else from the
  // MPFR eigen-coordinates. --kappa auto has V's MPFR coordinates at hand already (the search needs them).
  const bool try_cheap = !opt.full_precision && !options.kappa_auto;
  auto statistics = [&](bool v_source, bool cheap) {
    if (cheap) {
      const auto st = v_source ? detail::cheap_statistics(rows, tokens, dim, 0.0, mv.mean, eig_v, opt.kappa, bits)
                               : detail::cheap_statistics(delta_rows, tokens - 1, dim, kRoundedDifferenceError, md.mean, eig_d, opt.kappa,
                                                          bits);
      if (st) return *st;
    }
    if (v_source) {
      if (coords_v.size() == 0) coords_v = eigen_coordinates(x, mv.mean, eig_v.vectors);
      return detail::full_statistics(coords_v, eig_v.values, opt.kappa, bits);
    }
    return detail::full_statistics(eigen_coordinates(dx, md.mean, eig_d.vectors), eig_d.values, opt.kappa, bits);
  };
  detail::SourceStatistics st_v, st_d;
  std::vector<TheoremEntry> entries_v, entries_d;
  std::optional<int> violation;
  for (bool cheap : {try_cheap, false}) {
    detail::run_both(
        opt.jobs, [&] { st_v = statistics(true, cheap); }, [&] { st_d = statistics(false, cheap); });
    r.v = summarize("V", tokens, mv, eig_v, bits, opt, st_v);
    r.delta = summarize("delta", tokens - 1, md, eig_d, bits, opt, st_d);
    entries_v.clear();
    entries_d.clear();
    add_source_entries(entries_v, opt, r.v, eig_v, st_v);
    add_source_entries(entries_d, opt, r.delta, eig_d, st_d);
    if (!st_v.cheap && !st_d.cheap) {
      violation = first_tail_domination_violation(r.delta.tau, r.v.tau);
      break;
    }
    bool decided = true;
    violation = tail_violation(r.delta, r.v, decided);
    const TheoremEntry a6{"", "", "", "", a6_bound_certified(eig_v, opt.kappa, bits, r.v),
                          a6_bound_certified(eig_d, opt.kappa, bits, r.delta)};
    for (const auto* entries : {&entries_v, &entries_d})
      for (const TheoremEntry& e : *entries)
        if (e.claim != "trace_corollary") decided = decided && decided_like_full(e);  // that one reads eigenvalues only
    if (decided && decided_like_full(a6)) break;
  }
  r.theorems.insert(r.theorems.end(), entries_v.begin(), entries_v.end());
  r.theorems.insert(r.theorems.end(), entries_d.begin(), entries_d.end());
  step(30);

  // alpha* and the Loewner premise (A3), adaptively: in double with certified bounds first, the full path
  // only for what those bounds cannot decide exactly as the full path would.
  std::optional<CheapDomination> cheap;
  std::optional<Verdict> cheap_loewner;
  if (!opt.full_precision) cheap = cheap_domination(rows, delta_rows, tokens, dim, cheap_loewner);
  if (cheap) {  // the cheap alpha* serves only if every verdict that reads it is decided at its decision width
    DominationFactor wide = cheap->factor;
    wide.alpha = cheap->for_decisions();
    const ComparativeBound cb_wide = comparative_bounded_support(eig_d, eig_v, wide, opt.kappa, bits);
    if (cb_wide.ordering == Verdict::undecided || verdict_le(wide.alpha, {Real(1), Real(0)}) == Verdict::undecided)
      cheap.reset();
  }
  r.alpha_adaptive = cheap.has_value();
  r.loewner_adaptive = cheap_loewner.has_value();
  detail::run_both(
      options.jobs, [&] { r.alpha = cheap ? cheap->factor : domination_factor(md.covariance, mv.covariance, eig_v, eig_d); },
      [&] { r.loewner = cheap_loewner ? *cheap_loewner : loewner_le(md.covariance, mv.covariance).verdict; });
  step(25);
  {
    const Real ratio = r.delta.trace / r.v.trace;
    r.trace_ratio = {ratio, rounding_slack(ratio, 4.0 * static_cast<double>(dim))};
  }

  const ComparativeBound cb = comparative_bounded_support(eig_d, eig_v, r.alpha, opt.kappa, bits);
  {
    TheoremEntry e{"A4", "delta vs V", "bound_ordering", "B_bs^delta <= alpha* B_bs^V (matched designs)",
                   cb.alpha_bound_v, cb.bound_delta};
    e.verdict = cb.ordering;
    if (!r.alpha.finite) e.note = r.alpha.reason;
    r.theorems.push_back(e);
  }
  {
    TheoremEntry e{"A4", "delta vs V", "delta_advantage", "B_bs^delta < B_bs^V (strict when alpha* <= 1, Sigma_delta != Sigma_V)",
                   cb.bound_v, cb.bound_delta};
    e.premises = {{"alpha* <= 1", r.alpha.finite ? verdict_le(r.alpha.alpha, {Real(1), Real(0)}) : Verdict::fails}};
    e.verdict = cb.advantage;
    e.note = "actual distortions (reported, never asserted): D_delta = " + to_string(r.delta.distortion_matched.value, 6) +
             ", D_V = " + to_string(r.v.distortion_matched.value, 6);
    r.theorems.push_back(e);
  }
  {
    TheoremEntry e{"A6", "delta vs V", "clipped_comparative",
                   "B'^delta <= B'^V, B' = sum_i lambda_i [kappa^2 4^-b_i + tau_i] (empirical tau)",
                   a6_bound_certified(eig_v, opt.kappa, bits, r.v), a6_bound_certified(eig_d, opt.kappa, bits, r.delta)};
    e.premises = {{"Sigma_delta <= Sigma_V", r.loewner},
                  {"tail domination tau_i^delta <= tau_i^V for all i", violation ? Verdict::fails : Verdict::holds}};
    e.verdict = verdict_le(e.measured, e.bound);
    if (violation)
      e.note = "tail domination fails first at eigen-rank " + std::to_string(*violation) + ": tau^delta = " +
               to_string(r.delta.tau(*violation), 6) + " > tau^V = " + to_string(r.v.tau(*violation), 6);
    r.theorems.push_back(e);
  }
  if (options.pq) add_pq_entries(r, rows, tokens, dim, eig_v, *options.pq);
  step(work_pq);
  detail::add_source_layer(r, rows, bits, eig_v, opt);
  step(15);
  for (auto& t : r.theorems)
    if (t.claim_fails() && !t.condition)
      t.note += (t.note.empty() ? "" : "; ") +
                std::string("every premise holds, so this contradicts the theorem: report it as a deltapq bug");
  return r;
}

}  // namespace dpq::app
