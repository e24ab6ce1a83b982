#include "deltapq/app/paper_check.h"

#include <boost/random/mersenne_twister.hpp>
#include <boost/random/normal_distribution.hpp>
#include <boost/random/student_t_distribution.hpp>
#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

#include "deltapq/app/kvdump.h"
#include "deltapq/app/report_wire.h"
#include "item_map.h"
#include "deltapq/core/error.h"
#include "deltapq/fast/sphere_codebooks.h"
#include "deltapq/reference/attention.h"
#include "deltapq/reference/sphere.h"
#include "deltapq/reference/stats.h"

namespace dpq::app {

const char* to_string(Scheme s) { return s == Scheme::kv ? "KV" : s == Scheme::kqv ? "KQV" : "QKQV"; }

BitAccount SideSpec::account() const {
  BitAccount a;
  a.coordinate_bits = dim * mse_bits();
  a.sketch_bits = with_qjl ? dim : 0;  // m = d
  a.norms = with_qjl ? 2 : 1;
  return a;
}

SideSpec key_side(Scheme s, int dim, int n, std::uint64_t seed) { return SideSpec{dim, n, s != Scheme::kv, s == Scheme::qkqv, seed}; }
SideSpec value_side(Scheme s, int dim, int n, std::uint64_t seed) {
  return SideSpec{dim, n, s != Scheme::kv, s != Scheme::kv, seed + 1};
}

fast::ScalarCodebook sphere_codebook(int dim, int bits) {
  if (auto shipped = fast::shipped_sphere_codebook(dim, bits)) return shipped->codebook;
  if (dim < 2) throw Error("sphere codebook: d = " + std::to_string(dim) + " (the sphere marginal needs d >= 2)");
  static std::mutex mutex;
  static std::map<std::pair<int, int>, fast::ScalarCodebook> cache;
  const std::lock_guard<std::mutex> lock(mutex);
  if (auto it = cache.find({dim, bits}); it != cache.end()) return it->second;
  const int saved = ref::precision_bits();
  ref::set_precision_bits(192);
  fast::ScalarCodebook cb;
  try {
    const ref::Codebook exact = ref::lloyd_max(ref::Marginal::sphere(dim), bits, ref::Real("1e-45"));
    for (const auto& c : exact.centroids) cb.centroids.push_back(mpfr_get_flt(c.backend().data(), MPFR_RNDN));
    for (const auto& t : exact.thresholds) cb.thresholds.push_back(mpfr_get_flt(t.backend().data(), MPFR_RNDN));
  } catch (...) {
    ref::set_precision_bits(saved);
    throw;
  }
  ref::set_precision_bits(saved);
  return cache[{dim, bits}] = cb;
}

fast::TurboCodec side_codec(const SideSpec& side) {
  if (side.mse_bits() < 1) throw Error("scheme budget n = " + std::to_string(side.budget) + " too small");
  fast::TurboOptions o;
  o.seed = side.seed;
  o.rotation = side.rotate ? fast::RotationKind::automatic : fast::RotationKind::identity;
  o.qjl_rows = side.with_qjl ? side.dim : 0;
  return fast::TurboCodec(side.dim, side.mse_bits(), sphere_codebook(side.dim, side.mse_bits()), o);
}

std::vector<float> round_trip(const fast::TurboCodec& codec, const std::vector<float>& x) {
  const std::size_t n = x.size() / static_cast<std::size_t>(codec.dim());
  std::vector<std::uint8_t> records(n * codec.bytes_per_vector());
  std::vector<float> out(x.size());
  codec.encode(x.data(), n, records.data());
  codec.decode(records.data(), n, out.data());
  return out;
}

namespace {

struct Regime {
  std::string name;
  double nu;  // Student-t degrees of freedom; 0: Gaussian
  int rank;   // 0: full rank
};

// N rows of d: i.i.d. coordinates (Gaussian or Student-t), or a rank-r Gaussian product.
std::vector<float> draw(const Regime& g, int n, int d, std::uint64_t seed) {
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

const char* kMetrics[] = {"kl", "k_dir", "six_d"};
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

}  // namespace

PaperCheckReport paper_check(const PaperCheckOptions& options) {
  PaperCheckReport rep;
  rep.options = options;
  const bool quick = options.quick;
  rep.dims = quick ? std::vector<int>{8, 128} : std::vector<int>{2, 8, 128, 1024};
  rep.budgets = quick ? std::vector<int>{2, 3, 4} : std::vector<int>{2, 3, 4, 5, 6};
  const std::vector<Regime> regimes = {{"gaussian", 0, 0}, {"heavy_t3", 3, 0}, {"extreme_t1.05", 1.05, 0},
                                       {"low_rank_1", 0, 1}, {"low_rank_32", 0, 32}};
  rep.regimes = regimes.size();
  rep.keys = quick ? 128 : 512;
  rep.queries = quick ? 64 : 128;
  rep.permutations = quick ? 199 : 999;

  std::vector<Dataset> datasets;
  if (options.kv_dir) {
    datasets = kv_datasets(open_kv_streams(*options.kv_dir, options.kv_layout));
    rep.kv_dim = datasets[0].d;
  } else {
    for (const Regime& g : regimes)
      for (int d : rep.dims) {
        const std::uint64_t s0 = dataset_seed(options.seed, g.name, d);
        datasets.push_back({g.name, d, draw(g, rep.keys, d, s0), draw(g, rep.keys, d, s0 + 1), draw(g, rep.queries, d, s0 + 2)});
      }
  }
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
      const auto kq = round_trip(side_codec(key_side(sc, d, n, s0 + 11)), ds.keys);
      const auto vq = round_trip(side_codec(value_side(sc, d, n, s0 + 11)), ds.values);
      const auto ks = ref::set_metrics(ds.keys, kq, d), vs = ref::set_metrics(ds.values, vq, d);
      cell["k_dir"][sc] = ks.dir;
      for (int q = 0; q < nq; ++q) {
        const auto m = ref::query_metrics(ds.queries.data() + static_cast<std::size_t>(q) * d, ds.keys, kq, ds.values, vq, d, ks, vs);
        cell["kl"][sc].push_back(m.kl);
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
      out.rows.push_back(row);
    }
    return out;
  };
  const std::size_t nb = rep.budgets.size(), cells_total = datasets.size() * nb;
  auto cells = detail::map_items<Cell>(
      cells_total, options.jobs, options.distribution,
      [&](std::size_t k) { return compute(datasets[k / nb], rep.budgets[k % nb]); },
      [](const Cell& c) { return cell_to_wire(c.samples, c.rows); },
      [](const std::string& bytes) {
        Cell c;
        cell_from_wire(bytes, c.samples, c.rows);
        return c;
      },
      options.progress);
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
        for (const char* metric : kMetrics) {
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
             (against.empty() ? "" : "; not in: " + against.front() + (against.size() > 1 ? " and " + std::to_string(against.size() - 1) + " more" : ""))});
  }
  {
    int total = 0, ok = 0;
    for (const Dataset& ds : datasets)
      for (int n : budgets) {
        ++total;
        ok += med(ds.name, ds.d, n, "kl", Scheme::qkqv) > med(ds.name, ds.d, n, "kl", Scheme::kqv);
      }
    rep.findings.push_back({2, "QKQV is worse than KQV in KL at every budget and distribution", ok == total,
                            std::to_string(ok) + " of " + std::to_string(total) + " cells have median KL(QKQV) > median KL(KQV)"});
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
                            "cells matching the claimed winner of median K direction error: " + detail});
  }
  return rep;
}

}  // namespace dpq::app
