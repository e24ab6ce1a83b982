// The D8 downstream check: the three schemes as a running model's KV cache (eval-nll), per budget.
#include <string>

#include "deltapq/app/eval_nll.h"
#include "paper_internal.h"

namespace dpq::app::detail {

// The downstream check: per budget, KV alone, KQV versus KV and QKQV versus KQV on the same tokens
// (eval-nll's paired block bootstrap). The 2 x |budgets| pair intervals are Bonferroni-adjusted, so
// together they hold at 95 %: a finding that needs "every budget" or "some budget" reads them jointly.
Downstream run_downstream(const PaperCheckOptions::ModelInput& in, model::Llama2& llm, const std::vector<int>& tokens,
                          const std::vector<int>& budgets, const std::function<void()>& tick) {
  Downstream out;
  out.model = in.model;
  out.text = in.text;
  out.tokens = tokens.size();
  out.head_dim = llm.config().head_dim();
  out.confidence = 1 - 0.05 / static_cast<double>(2 * budgets.size());
  for (int n : budgets) {
    EvalNllOptions o;
    o.bits = n;
    o.bootstrap.confidence = out.confidence;
    EvalNllReport by[3];
    for (Scheme sc : {Scheme::kv, Scheme::kqv, Scheme::qkqv}) {
      o.scheme = to_kv_scheme(sc);
      o.versus.reset();
      if (sc != Scheme::kv) o.versus = to_kv_scheme(sc == Scheme::kqv ? Scheme::kv : Scheme::kqv);
      EvalNllReport& r = by[static_cast<int>(sc)] = eval_nll(llm, tokens, o);
      out.rows.push_back({n, sc, r.delta_nll, r.kl, r.delta_nll_ci});
    }
    for (Scheme sc : {Scheme::kqv, Scheme::qkqv}) {
      const EvalNllReport& r = by[static_cast<int>(sc)];
      out.pairs.push_back({n, sc, sc == Scheme::kqv ? Scheme::kv : Scheme::kqv, r.versus_delta_nll.value_or(0), r.versus_ci, r.versus_worse});
    }
    tick();
  }
  auto pair = [&](int n, Scheme a) -> const DownstreamPair* {
    for (const DownstreamPair& p : out.pairs)
      if (p.n == n && p.a == a) return &p;
    return nullptr;
  };
  auto show = [](const DownstreamPair& p) {
    return std::string(to_string(p.a)) + " - " + to_string(p.b) + " at n=" + std::to_string(p.n) + ": " + to_string(p.a_worse);
  };
  {
    DownstreamFinding f{1, "At n = 4, KQV gives the model the lowest NLL (below KV and below QKQV)", Verdict::undecided, ""};
    const DownstreamPair *kv = pair(4, Scheme::kqv), *qk = pair(4, Scheme::qkqv);
    if (!kv || !qk) {
      f.evidence = "n = 4 is not in the grid's budgets";
    } else {
      // KQV below KV: "KQV worse than KV" fails; KQV below QKQV: "QKQV worse than KQV" holds.
      if (kv->a_worse == Verdict::holds || qk->a_worse == Verdict::fails) f.verdict = Verdict::fails;
      else if (kv->a_worse == Verdict::fails && qk->a_worse == Verdict::holds) f.verdict = Verdict::holds;
      f.evidence = "worse for the source: " + show(*kv) + ", " + show(*qk);
    }
    out.findings.push_back(f);
  }
  {
    DownstreamFinding f{2, "QKQV gives the model a higher NLL than KQV at every budget", Verdict::holds, ""};
    int worse = 0, better = 0;
    for (int n : budgets) {
      const DownstreamPair& p = *pair(n, Scheme::qkqv);
      worse += p.a_worse == Verdict::holds;
      better += p.a_worse == Verdict::fails;
    }
    const int total = static_cast<int>(budgets.size());
    f.verdict = better > 0 ? Verdict::fails : worse == total ? Verdict::holds : Verdict::undecided;
    f.evidence = "QKQV worse than KQV decided at " + std::to_string(worse) + " of " + std::to_string(total) +
                 " budgets, better at " + std::to_string(better) + ", undecided at " + std::to_string(total - worse - better);
    out.findings.push_back(f);
  }
  return out;
}

}  // namespace dpq::app::detail
