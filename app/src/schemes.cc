// The D5 schemes: bit accounting, the sides' codecs and their codebooks (sphere marginal, and the
// Gaussian and data-fitted alternatives of the D8 sensitivity study).
#include "deltapq/app/paper_check.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <tuple>

#include "deltapq/core/error.h"
#include "deltapq/fast/sphere_codebooks.h"
#include "deltapq/reference/sphere.h"

namespace dpq::app {

const char* to_string(Scheme s) { return s == Scheme::kv ? "KV" : s == Scheme::kqv ? "KQV" : "QKQV"; }

BitAccount SideSpec::account() const {
  BitAccount a;
  a.coordinate_bits = dim * mse_bits();
  a.sketch_bits = sketch_rows();  // m = d by default
  a.norms = sketch_rows() > 0 ? 2 : 1;
  return a;
}

SideSpec key_side(Scheme s, int dim, int n, std::uint64_t seed) { return SideSpec{dim, n, s != Scheme::kv, s == Scheme::qkqv, seed}; }
SideSpec value_side(Scheme s, int dim, int n, std::uint64_t seed) {
  return SideSpec{dim, n, s != Scheme::kv, s != Scheme::kv, seed + 1};
}

namespace {
// The reference's Lloyd-Max codebook of a marginal at 192 bits, times `scale`, each value rounded once
// to float; cached per (marginal, bits) (thread-safe).
fast::ScalarCodebook reference_codebook(const ref::Marginal& marginal, int bits, double scale) {
  static std::mutex mutex;
  static std::map<std::tuple<bool, int, int>, fast::ScalarCodebook> cache;
  const std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_tuple(marginal.gaussian, marginal.dim, bits);
  if (auto it = cache.find(key); it == cache.end()) {
    fast::ScalarCodebook cb;
    {
      const ref::PrecisionScope precision(192);
      const ref::Codebook exact = ref::lloyd_max(marginal, bits, ref::Real("1e-45"));
      const ref::Real s(scale);
      for (const auto& c : exact.centroids) cb.centroids.push_back(mpfr_get_flt(ref::Real(c * s).backend().data(), MPFR_RNDN));
      for (const auto& t : exact.thresholds) cb.thresholds.push_back(mpfr_get_flt(ref::Real(t * s).backend().data(), MPFR_RNDN));
    }
    cache[key] = cb;
  }
  return cache[key];
}
}  // namespace

fast::ScalarCodebook sphere_codebook(int dim, int bits) {
  if (auto shipped = fast::shipped_sphere_codebook(dim, bits)) return shipped->codebook;
  if (dim < 2) throw Error("sphere codebook: d = " + std::to_string(dim) + " (the sphere marginal needs d >= 2)");
  return reference_codebook(ref::Marginal::sphere(dim), bits, 1.0);
}

fast::ScalarCodebook gaussian_codebook(int dim, int bits) {
  if (dim < 1) throw Error("gaussian codebook: d = " + std::to_string(dim));
  // N(0, 1)'s codebook scaled by 1/sqrt(d): the scale is exact in double for the d used (powers of 4 are
  // exact; otherwise one rounding before the 192-bit product).
  return reference_codebook(ref::Marginal::normal(), bits, 1.0 / std::sqrt(static_cast<double>(dim)));
}

fast::ScalarCodebook empirical_codebook(const std::vector<float>& x, int dim, int bits) {
  std::vector<double> u;
  for (std::size_t r = 0; (r + 1) * static_cast<std::size_t>(dim) <= x.size(); ++r) {
    const float* row = x.data() + r * static_cast<std::size_t>(dim);
    double n2 = 0;
    for (int i = 0; i < dim; ++i) n2 += static_cast<double>(row[i]) * row[i];
    if (!(n2 > 0)) continue;
    const double inv = 1 / std::sqrt(n2);
    for (int i = 0; i < dim; ++i) u.push_back(row[i] * inv);
  }
  if (u.empty()) throw Error("empirical codebook: every row is zero");
  std::sort(u.begin(), u.end());
  std::vector<double> prefix(u.size() + 1, 0), prefix2(u.size() + 1, 0);
  for (std::size_t i = 0; i < u.size(); ++i) {
    prefix[i + 1] = prefix[i] + u[i];
    prefix2[i + 1] = prefix2[i] + u[i] * u[i];
  }
  // Cell k of centroids c: [t_{k-1}, t_k) with t the midpoints, as sample index ranges.
  auto cell_end = [&](const std::vector<double>& c, std::size_t k) {
    return k + 1 < c.size() ? static_cast<std::size_t>(std::lower_bound(u.begin(), u.end(), 0.5 * (c[k] + c[k + 1])) - u.begin())
                            : u.size();
  };
  // Lloyd's iteration: each cell's centroid becomes its mean (an empty cell keeps its centroid, which
  // stays strictly between its neighbours' new ones, so the order is kept). Returns the sample MSE.
  auto lloyd = [&](std::vector<double>& c) {
    for (int it = 0; it < 500; ++it) {
      double moved = 0;
      std::size_t lo = 0;
      std::vector<double> next(c.size());
      for (std::size_t k = 0; k < c.size(); ++k) {
        const std::size_t hi = cell_end(c, k);
        next[k] = hi > lo ? (prefix[hi] - prefix[lo]) / static_cast<double>(hi - lo) : c[k];
        moved = std::max(moved, std::fabs(next[k] - c[k]));
        lo = hi;
      }
      c = next;
      if (moved < 1e-9) break;
    }
    double sse = 0;
    std::size_t lo = 0;
    for (std::size_t k = 0; k < c.size(); ++k) {  // sum over the cell of (u - c)^2
      const std::size_t hi = cell_end(c, k);
      const double cnt = static_cast<double>(hi - lo), s1 = prefix[hi] - prefix[lo], s2 = prefix2[hi] - prefix2[lo];
      sse += s2 - 2 * c[k] * s1 + cnt * c[k] * c[k];
      lo = hi;
    }
    return sse / static_cast<double>(u.size());
  };
  // Two starts, the better fit kept: the sphere codebook, and the sample's mid-cell quantiles (when they
  // are distinct: a sample with fewer distinct values than levels leaves cells empty whatever the start).
  const fast::ScalarCodebook sphere = sphere_codebook(std::max(dim, 2), bits);
  std::vector<double> c(sphere.centroids.begin(), sphere.centroids.end());
  double best = lloyd(c);
  std::vector<double> q(c.size());
  for (std::size_t k = 0; k < q.size(); ++k)
    q[k] = u[std::min(u.size() - 1, static_cast<std::size_t>((static_cast<double>(k) + 0.5) * static_cast<double>(u.size()) /
                                                               static_cast<double>(q.size())))];
  if (std::adjacent_find(q.begin(), q.end(), [](double x, double y) { return !(y > x); }) == q.end()) {
    const double mse = lloyd(q);
    if (mse < best) c = q;
  }
  std::vector<float> cf(c.begin(), c.end());
  // Rounding to float may merge close centroids (heavy tails crowd them near 0). Two floats apart at
  // least, so each float midpoint lies strictly between its centroids and the thresholds increase.
  for (std::size_t k = 1; k < cf.size(); ++k) {
    const float least = std::nextafter(std::nextafter(cf[k - 1], 2.0f), 2.0f);
    if (!(cf[k] >= least)) cf[k] = least;
  }
  return fast::ScalarCodebook::from_centroids(cf);
}

fast::TurboCodec side_codec(const SideSpec& side) {
  if (side.mse_bits() < 1) throw Error("scheme budget n = " + std::to_string(side.budget) + " too small");
  fast::TurboOptions o;
  o.seed = side.seed;
  o.rotation = side.rotate ? fast::RotationKind::automatic : fast::RotationKind::identity;
  o.qjl_rows = side.sketch_rows();
  return fast::TurboCodec(side.dim, side.mse_bits(), side.codebook ? *side.codebook : sphere_codebook(side.dim, side.mse_bits()), o);
}

std::vector<float> round_trip(const fast::TurboCodec& codec, const std::vector<float>& x) {
  const std::size_t n = x.size() / static_cast<std::size_t>(codec.dim());
  std::vector<std::uint8_t> records(n * codec.bytes_per_vector());
  std::vector<float> out(x.size());
  codec.encode(x.data(), n, records.data());
  codec.decode(records.data(), n, out.data());
  return out;
}

pipeline::KvScheme to_kv_scheme(Scheme s) {
  return s == Scheme::kv ? pipeline::KvScheme::kv : s == Scheme::kqv ? pipeline::KvScheme::kqv : pipeline::KvScheme::qkqv;
}

Scheme d5_scheme(pipeline::KvScheme s) {
  if (!pipeline::is_d5_scheme(s)) throw Error(std::string("--kv-scheme ") + pipeline::to_string(s) + " is not a D5 scheme");
  return s == pipeline::KvScheme::kv ? Scheme::kv : s == pipeline::KvScheme::kqv ? Scheme::kqv : Scheme::qkqv;
}

}  // namespace dpq::app
