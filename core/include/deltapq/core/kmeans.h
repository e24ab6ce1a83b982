// The two k-means steps that the reference (double) and the fast path (float) share word for word:
// the k-means++ D^2 draw and the Lloyd mean update. Header-only templates on the data type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace dpq {

// The next k-means++ centre: row i with probability d2[i] / total (total = sum of d2, accumulated
// in double by the caller), one 53-bit uniform draw from rng; uniform over the rows when total is 0
// (every row already sits on a centre: duplicates are all that is left).
template <class T>
std::size_t kmeanspp_draw(std::mt19937_64& rng, const T* d2, std::size_t n, double total) {
  if (!(total > 0)) return rng() % n;
  const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53 * total;
  double cumulative = 0;
  for (std::size_t i = 0; i < n; ++i) {
    cumulative += d2[i];
    if (cumulative > u) return i;
  }
  return n - 1;
}

// Lloyd's update: every centroid becomes the mean of its rows (sums in double, in row order); a
// centroid with no rows keeps its value. x: n x dim, codes[i] in 0..k-1, centroids: k x dim.
template <class T, class Code>
void lloyd_update(const T* x, std::size_t n, int dim, const Code* codes, int k, T* centroids) {
  std::vector<double> sums(static_cast<std::size_t>(k) * dim, 0.0);
  std::vector<std::size_t> counts(k, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<std::size_t>(codes[i]);
    ++counts[c];
    for (int j = 0; j < dim; ++j) sums[c * dim + j] += static_cast<double>(x[i * dim + j]);
  }
  for (int kk = 0; kk < k; ++kk)
    if (counts[kk] > 0)
      for (int j = 0; j < dim; ++j)
        centroids[static_cast<std::size_t>(kk) * dim + j] = static_cast<T>(sums[static_cast<std::size_t>(kk) * dim + j] /
                                                                             static_cast<double>(counts[kk]));
}

}  // namespace dpq
