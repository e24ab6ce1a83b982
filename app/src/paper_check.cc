#include "deltapq/app/paper_check.h"

#include <boost/random/mersenne_twister.hpp>
#include <boost/random/normal_distribution.hpp>
#include <boost/random/student_t_distribution.hpp>
#include <algorithm>
#include <cmath>
#include <map>

#include "deltapq/app/kvdump.h"
#include "deltapq/app/report_wire.h"
#include "item_map.h"
#include "paper_internal.h"
#include "deltapq/core/error.h"
#include "deltapq/model/tokenizer.h"
#include "deltapq/reference/attention.h"
#include "deltapq/reference/stats.h"

namespace dpq::app {

namespace {

struct Regime {
  std::string name;
  double nu;  // Student-t degrees of freedom; 0: Gaussian
  int rank;   // 0: full rank
};

const std::vector<Regime> kRegimes = {{"gaussian", 0, 0}, {"heavy_t3", 3, 0}, {"extreme_t1.05", 1.05, 0},
                                      {"low_rank_1", 0, 1}, {"low_rank_32", 0, 32}};

// N rows of d: i.i.d. coordinates (Gaussian or Student-t), or a rank-r Gaussian product (with `noisy`,
// plus i.i.d. N(0, r/100) noise: a tenth of the product's per-coordinate standard deviation sqrt(r)).
std::vector<float> draw(const Regime& g, int n, int d, std::uint64_t seed, bool noisy) {
  boost::random::mt19937_64 rng(seed);
  boost::random::normal_distribution<double> normal;
  std::vector<float> x(static_cast<std::size_t>(n) * d);
  if (g.rank > 0) {
    const int r = g.rank;
    std::vector<double> a(static_cast<std::size_t>(r) * d);
    for (auto& v : a) v = normal(rng);
    for (int i = 0; i < n; ++i) {
      std::vector<double> z(r);
      for (auto& v : z) v = normal(rng);
      for (int j = 0; j < d; ++j) {
        double s = 0;
        for (int k = 0; k < r; ++k) s += z[k] * a[static_cast<std::size_t>(k) * d + j];
        x[static_cast<std::size_t>(i) * d + j] = static_cast<float>(s);
      }
    }
    if (noisy) {  // after the product, so the signal is the same draw as without noise
      const double sd = 0.1 * std::sqrt(static_cast<double>(r));
      for (auto& v : x) v = static_cast<float>(v + sd * normal(rng));
    }
    return x;
  }
  if (g.nu > 0) {
    boost::random::student_t_distribution<double> t(g.nu);
    for (auto& v : x) v = static_cast<float>(t(rng));
    return x;
  }
  for (auto& v : x) v = static_cast<float>(normal(rng));
  return x;
}

const char* kMetrics[] = {"kl", "k_dir", "k_norm", "v_rel_mse", "out_dir", "six_d"};
const char* kFindingMetrics[] = {"kl", "k_dir", "six_d"};  // the measures finding 1 names
const Scheme kSchemes[] = {Scheme::kv, Scheme::kqv, Scheme::qkqv};

// One cell family of the grid: a regime at a dimension, or one KV head of a real model.
struct Dataset {
  std::string name;
  int d;
  std::vector<float> keys, values, queries;
};

// Every (layer, KV head) of a kvdump: post-RoPE keys, values, and the post-RoPE queries of the query
// heads that attend through that KV head.
std::vector<Dataset> kv_datasets(const KvStreams& m) {
  const std::string& where = m.input;
  if (!m.has_queries)
    throw Error(where + ": no queries: paper-check --kv needs the post-RoPE queries of every query head to measure "
                "attention (kvdump writes them; a hand-written manifest lists them under \"queries\"; in a tensor file "
                "name them like 'q[3]' or 'layers.3.query')");
  std::vector<Dataset> out;
  for (const KvFile& f : m.files) {
    if (f.kind != "k_post") continue;
    Dataset ds;
    ds.name = "L" + std::to_string(f.layer) + "H" + std::to_string(f.head);
    const pipeline::Stream k = m.load(f);
    ds.d = static_cast<int>(k.dim);
    ds.keys = k.data;
    if (const KvFile* v = m.find(f.layer, f.head, "v")) {
      const pipeline::Stream vs = m.load(*v);
      if (vs.dim != k.dim || vs.rows != k.rows)
        throw Error(v->path + ": values are [" + std::to_string(vs.rows) + ", " + std::to_string(vs.dim) +
                    "] but the keys of the same head are [" + std::to_string(k.rows) + ", " + std::to_string(k.dim) + "]");
      ds.values = vs.data;
    }
    for (const KvQuery& q : m.queries)
      if (q.layer == f.layer && q.kv_head == f.head) {
        const pipeline::Stream qs = m.load_query(q);
        if (qs.dim != k.dim)
          throw Error(q.path + ": queries have d = " + std::to_string(qs.dim) + " but the keys of KV head " +
                      std::to_string(f.head) + " have d = " + std::to_string(k.dim));
        ds.queries.insert(ds.queries.end(), qs.data.begin(), qs.data.end());
      }
    if (ds.values.empty() || ds.queries.empty())
      throw Error(where + ": layer " + std::to_string(f.layer) + " head " + std::to_string(f.head) + " lacks " +
                  (ds.values.empty() ? "values (kind \"v\")" : "queries"));
    out.push_back(std::move(ds));
  }
  if (out.empty()) throw Error(where + ": no post-RoPE keys (k_post): paper-check --kv codes post-RoPE keys");
  return out;
}

std::uint64_t dataset_seed(std::uint64_t seed, const std::string& name, int d) {
  return seed ^ (std::hash<std::string>{}(name) + static_cast<std::uint64_t>(d) * 7919);
}

PairStats compare(const std::vector<double>& a, const std::vector<double>& b, int permutations, std::uint64_t seed) {
  return {ref::rank_biserial(a, b), ref::permutation_p(a, b, permutations, seed), ref::energy_distance(a, b)};
}


// The data sets of the grid under a formalization: the synthetic regimes (drawn here), or the KV heads
// of a dump (`kv`, loaded once) with their real queries or, with Queries::gaussian, independent ones.
std::vector<Dataset> grid_datasets(const PaperCheckOptions& options, const Formalization& form, const std::vector<Dataset>* kv,
                                   const std::vector<Regime>& regimes, const std::vector<int>& dims, int keys, int queries) {
  const bool noisy = form.low_rank == Formalization::LowRank::noisy;
  const Regime isotropic{"gaussian", 0, 0};
  std::vector<Dataset> out;
  if (kv) {
    out = *kv;
    if (form.queries == Formalization::Queries::gaussian)
      for (Dataset& ds : out) {
        const int nq = static_cast<int>(ds.queries.size() / static_cast<std::size_t>(ds.d));
        ds.queries = draw(isotropic, nq, ds.d, dataset_seed(options.seed, ds.name, ds.d) + 2, false);
      }
    return out;
  }
  for (const Regime& g : regimes)
    for (int d : dims) {
      const std::uint64_t s0 = dataset_seed(options.seed, g.name, d);
      const Regime& qg = form.queries == Formalization::Queries::gaussian ? isotropic : g;
      out.push_back({g.name, d, draw(g, keys, d, s0, noisy), draw(g, keys, d, s0 + 1, noisy), draw(qg, queries, d, s0 + 2, noisy)});
    }
  return out;
}

// A side of a scheme under a formalization: norms charged take the QJL side's second norm from its
// sketch; KV's codebook is the sphere marginal's, the Gaussian's or fitted to the data it codes.
SideSpec formal_side(SideSpec side, Scheme s, const Formalization& form, const std::vector<float>& data) {
  if (form.norms == Formalization::Norms::charged && side.with_qjl) side.qjl_rows = std::max(0, side.dim - 32);
  if (s == Scheme::kv && form.kv_codebook == Formalization::KvCodebook::gaussian)
    side.codebook = gaussian_codebook(side.dim, side.mse_bits());
  if (s == Scheme::kv && form.kv_codebook == Formalization::KvCodebook::empirical)
    side.codebook = empirical_codebook(data, side.dim, side.mse_bits());
  return side;
}

// What the geometric metrics see of a side: its reconstruction, or with Qjl::estimator the Lloyd-Max
// stage alone (the same rotation and codebook, without the sketch).
std::vector<float> geometric_view(const SideSpec& side, const Formalization& form, const std::vector<float>& x,
                                  const std::vector<float>& full) {
  if (form.qjl != Formalization::Qjl::estimator || side.sketch_rows() == 0) return full;
  SideSpec mse = side;
  mse.with_qjl = false;
  mse.budget = side.mse_bits();
  return round_trip(side_codec(mse), x);
}

// The grid's size (--quick or full): dimensions, budgets, regimes, keys, queries, permutations.
void set_grid_shape(PaperCheckReport& rep, bool quick) {
  rep.dims = quick ? std::vector<int>{8, 128} : std::vector<int>{2, 8, 128, 1024};
  rep.budgets = quick ? std::vector<int>{2, 3, 4} : std::vector<int>{2, 3, 4, 5, 6};
  rep.regimes = kRegimes.size();
  rep.keys = quick ? 128 : 512;
  rep.queries = quick ? 64 : 128;
  rep.permutations = quick ? 199 : 999;
}

// One run of the grid under `form`: the table and the three findings. Progress reports cells as
// offset + done of `steps`.
PaperCheckReport run_grid(const PaperCheckOptions& options, const Formalization& form, const std::vector<Dataset>* kv,
                          std::size_t offset, std::size_t steps) {
  PaperCheckReport rep;
  rep.options = options;
  rep.options.form = form;
  set_grid_shape(rep, options.quick);
  const std::vector<Regime>& regimes = kRegimes;
  const std::vector<Dataset> datasets = grid_datasets(options, form, kv, regimes, rep.dims, rep.keys, rep.queries);
  if (kv) rep.kv_dim = datasets[0].d;
  rep.datasets = datasets.size();

  // samples[dataset][d][n][metric][scheme]
  std::map<std::string, std::map<int, std::map<int, std::map<std::string, std::map<Scheme, std::vector<double>>>>>> samples;
  // One (dataset, budget) cell: the per-query samples of every metric and scheme, and its table rows.
  // Cells are independent (own seeds), so they run on any thread or MPI rank and the report is the same.
  struct Cell {
    std::map<std::string, std::map<Scheme, std::vector<double>>> samples;
    std::vector<PaperCell> rows;
  };
  auto compute = [&](const Dataset& ds, int n) {
    Cell out;
    auto& cell = out.samples;
    const int d = ds.d;
    const std::uint64_t s0 = dataset_seed(options.seed, ds.name, d);
    const int nq = static_cast<int>(ds.queries.size() / static_cast<std::size_t>(d));
    for (Scheme sc : kSchemes) {
      const SideSpec ks_side = formal_side(key_side(sc, d, n, s0 + 11), sc, form, ds.keys);
      const SideSpec vs_side = formal_side(value_side(sc, d, n, s0 + 11), sc, form, ds.values);
      const auto kq = round_trip(side_codec(ks_side), ds.keys);
      const auto vq = round_trip(side_codec(vs_side), ds.values);
      const auto ks = ref::set_metrics(ds.keys, geometric_view(ks_side, form, ds.keys, kq), d);
      const auto vs = ref::set_metrics(ds.values, geometric_view(vs_side, form, ds.values, vq), d);
      cell["k_dir"][sc] = ks.dir;
      cell["k_norm"][sc] = ks.norm;
      cell["v_rel_mse"][sc] = vs.rel_se;
      for (int q = 0; q < nq; ++q) {
        const auto m = ref::query_metrics(ds.queries.data() + static_cast<std::size_t>(q) * d, ds.keys, kq, ds.values, vq, d, ks, vs);
        cell["kl"][sc].push_back(m.kl);
        cell["out_dir"][sc].push_back(m.out_dir);
        cell["six_d"][sc].push_back(m.six_d);
      }
    }
    for (const char* metric : kMetrics) {
      auto& per = cell[metric];
      PaperCell row;
      row.data = ds.name;
      row.d = d;
      row.n = n;
      row.metric = metric;
      std::map<Scheme, double> med;
      for (Scheme sc : kSchemes) med[sc] = row.median[static_cast<int>(sc)] = ref::median(per[sc]);
      Scheme win = Scheme::kv, second = Scheme::kqv;
      for (Scheme sc : kSchemes)
        if (med[sc] < med[win]) win = sc;
      bool first = true;
      for (Scheme sc : kSchemes)
        if (sc != win && (first || med[sc] < med[second])) {
          second = sc;
          first = false;
        }
      row.winner = win;
      row.runner_up = second;
      row.rank_biserial = ref::rank_biserial(per[win], per[second]);
      row.permutation_p = ref::permutation_p(per[win], per[second], rep.permutations, s0 + static_cast<std::uint64_t>(n));
      row.energy = ref::energy_distance(per[win], per[second]);
      // The paper's pairs, each with its own permutation stream.
      const std::uint64_t ps = s0 + 1000003 * static_cast<std::uint64_t>(n);
      row.kqv_vs_kv = compare(per[Scheme::kqv], per[Scheme::kv], rep.permutations, ps + 1);
      row.qkqv_vs_kqv = compare(per[Scheme::qkqv], per[Scheme::kqv], rep.permutations, ps + 2);
      out.rows.push_back(row);
    }
    return out;
  };
  const std::size_t nb = rep.budgets.size(), cells_total = datasets.size() * nb;
  std::function<void(std::size_t, std::size_t)> cell_progress;
  if (options.progress) cell_progress = [&](std::size_t done, std::size_t) { options.progress(offset + done, steps); };
  auto cells = detail::map_items<Cell>(
      cells_total, options.jobs, options.distribution,
      [&](std::size_t k) { return compute(datasets[k / nb], rep.budgets[k % nb]); },
      [](const Cell& c) { return cell_to_wire(c.samples, c.rows); },
      [](const std::string& bytes) {
        Cell c;
        cell_from_wire(bytes, c.samples, c.rows);
        return c;
      },
      cell_progress);
  if (!cells) {  // an MPI rank other than 0: its cells went to rank 0
    rep.complete = false;
    return rep;
  }
  for (std::size_t k = 0; k < cells_total; ++k) {
    const Dataset& ds = datasets[k / nb];
    samples[ds.name][ds.d][rep.budgets[k % nb]] = std::move((*cells)[k].samples);
    rep.table.insert(rep.table.end(), (*cells)[k].rows.begin(), (*cells)[k].rows.end());
  }

  // The paper's three findings, judged on medians, with counts as evidence.
  auto med = [&](const std::string& g, int d, int n, const std::string& metric, Scheme s) {
    return ref::median(samples[g][d][n][metric][s]);
  };
  const auto& budgets = rep.budgets;
  {
    int total = 0, ok = 0;
    std::vector<std::string> against;
    if (std::find(budgets.begin(), budgets.end(), 4) != budgets.end())
      for (const Dataset& ds : datasets)
        for (const char* metric : kFindingMetrics) {
          ++total;
          const double k = med(ds.name, ds.d, 4, metric, Scheme::kqv);
          const bool wins = k <= med(ds.name, ds.d, 4, metric, Scheme::kv) && k <= med(ds.name, ds.d, 4, metric, Scheme::qkqv);
          ok += wins;
          if (!wins) against.push_back(ds.name + " d=" + std::to_string(ds.d) + " " + metric);
        }
    rep.findings.push_back(
        {1, "At n = 4, KQV wins on every measure (KL, geometric K error, 6D) across all distributions and ranks",
         total && ok == total,
         std::to_string(ok) + " of " + std::to_string(total) + " (data, d, metric) cells at n = 4 have KQV lowest" +
             (against.empty() ? "" : "; not in: " + against.front() + (against.size() > 1 ? " and " + std::to_string(against.size() - 1) + " more" : "")),
         ok, total});
  }
  {
    int total = 0, ok = 0;
    for (const Dataset& ds : datasets)
      for (int n : budgets) {
        ++total;
        ok += med(ds.name, ds.d, n, "kl", Scheme::qkqv) > med(ds.name, ds.d, n, "kl", Scheme::kqv);
      }
    rep.findings.push_back({2, "QKQV is worse than KQV in KL at every budget and distribution", ok == total,
                            std::to_string(ok) + " of " + std::to_string(total) + " cells have median KL(QKQV) > median KL(KQV)", ok,
                            total});
  }
  {
    int total = 0, ok = 0;
    std::string detail;
    for (int n : budgets) {
      const bool claimed_qkqv = n == 2 || n == 3 || n == 5;
      int cells = 0, match = 0;
      for (const Dataset& ds : datasets) {
        ++cells;
        const bool qkqv_better = med(ds.name, ds.d, n, "k_dir", Scheme::qkqv) < med(ds.name, ds.d, n, "k_dir", Scheme::kqv);
        match += qkqv_better == claimed_qkqv;
      }
      total += cells;
      ok += match;
      detail += (detail.empty() ? "" : ", ") + std::string("n=") + std::to_string(n) + " (claimed " +
                (claimed_qkqv ? "QKQV" : "KQV") + "): " + std::to_string(match) + "/" + std::to_string(cells);
    }
    rep.findings.push_back({3, "Crossover in geometric K error: QKQV better at n in {2,3,5}, KQV at n in {4,6}", ok == total,
                            "cells matching the claimed winner of median K direction error: " + detail, ok, total});
  }
  return rep;
}

// The formalizations a sensitivity run covers: every combination (quick), or each choice changed alone.
std::vector<Formalization> sensitivity_forms(bool factorial, bool synthetic) {
  using F = Formalization;
  const std::vector<F::Qjl> qjl{F::Qjl::reconstruction, F::Qjl::estimator};
  const std::vector<F::KvCodebook> cb{F::KvCodebook::sphere, F::KvCodebook::gaussian, F::KvCodebook::empirical};
  const std::vector<F::Norms> norms{F::Norms::apart, F::Norms::charged};
  const std::vector<F::Queries> queries{F::Queries::same, F::Queries::gaussian};
  std::vector<F::LowRank> low_rank{F::LowRank::product};
  if (synthetic) low_rank.push_back(F::LowRank::noisy);
  std::vector<F> out;
  if (factorial) {
    for (auto a : qjl)
      for (auto b : cb)
        for (auto c : norms)
          for (auto e : queries)
            for (auto g : low_rank) out.push_back(F{a, b, c, e, g});
    return out;  // the first is the default
  }
  out.push_back(F{});
  F f;
  f.qjl = F::Qjl::estimator;
  out.push_back(f);
  for (auto b : {F::KvCodebook::gaussian, F::KvCodebook::empirical}) {
    f = F{};
    f.kv_codebook = b;
    out.push_back(f);
  }
  f = F{};
  f.norms = F::Norms::charged;
  out.push_back(f);
  f = F{};
  f.queries = F::Queries::gaussian;
  out.push_back(f);
  if (synthetic) {
    f = F{};
    f.low_rank = F::LowRank::noisy;
    out.push_back(f);
  }
  return out;
}

Sensitivity judge_sensitivity(std::vector<SensitivityRun> runs, const std::string& design) {
  Sensitivity s;
  s.design = design;
  s.runs = std::move(runs);
  const SensitivityRun& base = s.runs.front();
  const auto base_choices = base.form.choices();
  for (std::size_t i = 0; i < base.findings.size(); ++i) {
    FindingRobustness r;
    r.id = base.findings[i].id;
    // Per (choice, value) away from the default: runs with that value, and how many flip the verdict.
    std::map<std::pair<std::size_t, std::string>, std::pair<int, int>> by_value;
    for (const SensitivityRun& run : s.runs) {
      ++r.runs;
      r.holds += run.findings[i].holds;
      const bool flipped = run.findings[i].holds != base.findings[i].holds;
      r.robust = r.robust && !flipped;
      const auto choices = run.form.choices();
      for (std::size_t c = 0; c < choices.size(); ++c)
        if (choices[c].second != base_choices[c].second) {
          auto& [n, k] = by_value[{c, choices[c].second}];
          ++n;
          k += flipped;
        }
    }
    for (const auto& [key, counts] : by_value)
      if (counts.second > 0)
        r.flips.push_back(base_choices[key.first].first + "=" + key.second + ": " + std::to_string(counts.second) + " of " +
                          std::to_string(counts.first) + " runs flip it");
    s.robustness.push_back(r);
  }
  return s;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> Formalization::choices() const {
  using F = Formalization;
  return {{"qjl", qjl == F::Qjl::reconstruction ? "reconstruction" : "estimator"},
          {"kv_codebook", kv_codebook == F::KvCodebook::sphere ? "sphere" : kv_codebook == F::KvCodebook::gaussian ? "gaussian" : "empirical"},
          {"norms", norms == F::Norms::apart ? "apart" : "charged"},
          {"queries", queries == F::Queries::same ? "same" : "gaussian"},
          {"low_rank", low_rank == F::LowRank::product ? "product" : "noisy"}};
}

std::string Formalization::label() const {
  const auto mine = choices(), base = Formalization{}.choices();
  std::string out;
  for (std::size_t i = 0; i < mine.size(); ++i)
    if (mine[i].second != base[i].second) out += (out.empty() ? "" : ", ") + mine[i].first + "=" + mine[i].second;
  return out.empty() ? "default" : out;
}

void set_choice(Formalization& f, const std::string& name, const std::string& value) {
  using F = Formalization;
  auto bad = [&](const char* allowed) {
    return Error("paper-check: " + name + " = '" + value + "' is not one of " + allowed);
  };
  if (name == "qjl") {
    if (value != "reconstruction" && value != "estimator") throw bad("reconstruction, estimator");
    f.qjl = value == "estimator" ? F::Qjl::estimator : F::Qjl::reconstruction;
  } else if (name == "kv_codebook") {
    if (value != "sphere" && value != "gaussian" && value != "empirical") throw bad("sphere, gaussian, empirical");
    f.kv_codebook = value == "sphere" ? F::KvCodebook::sphere : value == "gaussian" ? F::KvCodebook::gaussian : F::KvCodebook::empirical;
  } else if (name == "norms") {
    if (value != "apart" && value != "charged") throw bad("apart, charged");
    f.norms = value == "charged" ? F::Norms::charged : F::Norms::apart;
  } else if (name == "queries") {
    if (value != "same" && value != "gaussian") throw bad("same, gaussian");
    f.queries = value == "gaussian" ? F::Queries::gaussian : F::Queries::same;
  } else if (name == "low_rank") {
    if (value != "product" && value != "noisy") throw bad("product, noisy");
    f.low_rank = value == "noisy" ? F::LowRank::noisy : F::LowRank::product;
  } else {
    throw Error("paper-check: unknown formalization choice '" + name + "' (qjl, kv_codebook, norms, queries, low_rank)");
  }
}

PaperCheckReport paper_check(const PaperCheckOptions& options) {
  if (options.sensitivity && options.form.label() != "default")
    throw Error("paper-check --sensitivity varies every formalization choice itself: it takes none of them (" +
                options.form.label() + ")");
  if (options.kv_dir && options.form.low_rank != Formalization::LowRank::product)
    throw Error("paper-check: low_rank = noisy shapes the synthetic low-rank regimes; --kv has none");
  // The downstream inputs are checked on every rank before any cell runs: a bad model, tokenizer or
  // text stops the command with nothing computed.
  std::optional<model::Llama2> llm;
  std::vector<int> tokens;
  if (options.model) {
    const auto& in = *options.model;
    llm.emplace(in.model);
    const model::Tokenizer tok(in.tokenizer, llm->config().vocab_size);
    tokens = model::tokenize_file(tok, in.text, llm->config().seq_len, 3, in.max_tokens);
    if (llm->config().head_dim() < 2)
      throw Error(in.model + ": head dimension " + std::to_string(llm->config().head_dim()) + ": the schemes need d >= 2");
  }
  std::optional<std::vector<Dataset>> kv;
  if (options.kv_dir) kv = kv_datasets(open_kv_streams(*options.kv_dir, options.kv_layout));

  const std::vector<Formalization> forms =
      options.sensitivity ? sensitivity_forms(options.quick, !options.kv_dir) : std::vector<Formalization>{options.form};
  // Progress: every grid's cells, then (with a model, on rank 0) one step per budget downstream.
  PaperCheckReport shape;
  set_grid_shape(shape, options.quick);
  const std::size_t budgets = shape.budgets.size(), datasets = kv ? kv->size() : shape.regimes * shape.dims.size();
  const std::size_t cells = datasets * budgets, steps = forms.size() * cells + (options.model ? budgets : 0);
  const std::vector<Dataset>* kv_ptr = kv ? &*kv : nullptr;
  PaperCheckReport rep = run_grid(options, forms.front(), kv_ptr, 0, steps);
  if (options.sensitivity) {
    std::vector<SensitivityRun> runs{{forms.front(), rep.findings}};
    for (std::size_t i = 1; i < forms.size(); ++i)
      runs.push_back({forms[i], run_grid(options, forms[i], kv_ptr, i * cells, steps).findings});
    if (rep.complete)
      rep.sensitivity = judge_sensitivity(
          std::move(runs), options.quick ? "every combination of the choices (" + std::to_string(forms.size()) + " grids), on the quick grid"
                                         : "each choice changed alone (" + std::to_string(forms.size()) + " grids, the first the defaults)");
  }
  if (!rep.complete) return rep;  // an MPI rank other than 0
  rep.options = options;
  if (options.model) {
    std::size_t done = forms.size() * cells;
    rep.downstream = detail::run_downstream(*options.model, *llm, tokens, rep.budgets, [&] {
      if (options.progress) options.progress(++done, steps);
    });
  }
  return rep;
}

}  // namespace dpq::app
