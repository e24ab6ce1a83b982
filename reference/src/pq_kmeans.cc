// B1 in the reference: seeded k-means (double) and the exact nearest-centroid distortion (Real).
#include "deltapq/reference/pq.h"

#include <algorithm>
#include <random>

#include "deltapq/core/kmeans.h"
#include "deltapq/core/error.h"
#include "pq_internal.h"

namespace dpq::ref {
using namespace pq_detail;

KMeansResult kmeans(const double* x, std::size_t n, int dim, int k, const KMeansOptions& options) {
  if (k < 1) throw Error("k-means: k = " + std::to_string(k) + " must be >= 1");
  if (n < static_cast<std::size_t>(k))
    throw Error("k-means: " + std::to_string(n) + " rows, but " + std::to_string(k) + " centroids need at least as many rows");
  if (options.iterations < 1) throw Error("k-means: iterations must be >= 1");
  KMeansResult r;
  r.centroids.assign(static_cast<std::size_t>(k) * dim, 0.0);
  double* c = r.centroids.data();
  auto dist = [&](std::size_t i, int kk) {
    double s = 0;
    for (int j = 0; j < dim; ++j) {
      const double e = x[i * dim + j] - c[kk * dim + j];
      s += e * e;
    }
    return s;
  };
  std::mt19937_64 rng(options.seed);
  std::vector<double> d2(n, std::numeric_limits<double>::infinity());
  std::size_t pick = rng() % n;
  for (int kk = 0; kk < k; ++kk) {  // k-means++: D^2 sampling
    std::copy(x + pick * dim, x + (pick + 1) * dim, c + kk * dim);
    if (kk + 1 == k) break;
    double total = 0;
    for (std::size_t i = 0; i < n; ++i) {
      d2[i] = std::min(d2[i], dist(i, kk));
      total += d2[i];
    }
    pick = kmeanspp_draw(rng, d2.data(), n, total);
  }
  std::vector<int> codes(n), previous(n);
  for (int it = 0; it < options.iterations; ++it) {  // Lloyd
    for (std::size_t i = 0; i < n; ++i) {
      double best = std::numeric_limits<double>::infinity();
      int arg = 0;
      for (int kk = 0; kk < k; ++kk) {
        const double s = dist(i, kk);
        if (s < best) {
          best = s;
          arg = kk;
        }
      }
      codes[i] = arg;
    }
    if (it > 0 && codes == previous) {
      r.converged = true;
      break;
    }
    previous = codes;
    ++r.rounds;
    lloyd_update(x, n, dim, codes.data(), k, c);
  }
  return r;
}

Distortion nearest_centroid_distortion(const double* x, std::size_t n, int dim, const double* centroids, int k) {
  if (n == 0 || k < 1 || dim < 1) throw Error("distortion: empty data or codebook");
  // A computed sum of dim squares of rounded differences is within gamma_{dim+1} (relative) of the
  // exact one; the comparison below is widened by a few more roundings and an absolute underflow term.
  const double g = gamma_double(dim + 4);
  const double widen = (1 + g) / (1 - g) * (1 + 8 * kU);
  const double underflow = 4.0 * dim * std::numeric_limits<double>::denorm_min();
  Distortion out;
  out.codes.resize(n);
  std::vector<double> dd(k);
  Real total(0), total_sq(0);
  for (std::size_t i = 0; i < n; ++i) {
    const double* xi = x + i * dim;
    double dmin = std::numeric_limits<double>::infinity();
    for (int kk = 0; kk < k; ++kk) {
      double s = 0;
      for (int j = 0; j < dim; ++j) {
        const double e = xi[j] - centroids[kk * dim + j];
        s += e * e;
      }
      dd[kk] = s;
      dmin = std::min(dmin, s);
    }
    const double cut = dmin * widen + underflow;
    Real best = infinity();
    int arg = -1;
    for (int kk = 0; kk < k; ++kk) {
      if (dd[kk] > cut) continue;
      Real s(0);
      for (int j = 0; j < dim; ++j) {
        const Real e = Real(xi[j]) - Real(centroids[kk * dim + j]);
        s += e * e;
      }
      if (s < best) {
        best = s;
        arg = kk;
      }
    }
    out.codes[i] = arg;
    total += best;
    total_sq += best * best;
  }
  const Real nn(static_cast<double>(n));
  out.mean.value = total / nn;
  // Differences of doubles, squares and sums: at most 3 dim + n + 2 roundings per term at >= 128 bits.
  out.mean.error = rounding_slack(out.mean.value, 3.0 * dim + static_cast<double>(n) + 2);
  const Real var = total_sq / nn - out.mean.value * out.mean.value;
  out.per_row_sd = var > 0 ? Real(sqrt(var)) : Real(0);
  return out;
}

}  // namespace dpq::ref
