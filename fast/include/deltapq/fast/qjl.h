// D4 in the fast path: the 1-bit QJL sketch of a residual, bit-packed.
// Record per vector: fp32 ||r||, then ceil(m / 8) bytes of sign bits (bit j = 1 when (S r)_j >= 0,
// LSB first). The estimator of <q, r> is sqrt(pi/2)/m ||r|| sum_j s_j (S q)_j with s_j = +-1.
//
// The projections S r, S q and S^T s are the fast path's own matrix kernel (fast/src/dispatch.h,
// CodecKernels::rotate): each output an fma chain in a fixed order, so records and reconstructions are
// bit-identical at every SIMD level and for every batch size (no BLAS call, whose blocking would move
// a sign bit lying within rounding of 0 with the batch).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "deltapq/fast/simd.h"

namespace dpq::fast {

class QjlSketch {
 public:
  // S is m x d with i.i.d. N(0, 1) entries from `seed` (Boost.Random, portable).
  QjlSketch(int dim, int m, std::uint64_t seed);
  int dim() const { return dim_; }
  int m() const { return m_; }
  const std::vector<float>& matrix() const { return s_; }  // S, row-major m x d
  std::size_t bytes_per_vector() const { return 4 + (static_cast<std::size_t>(m_) + 7) / 8; }
  // n residuals (n x d) into n records. Throws dpq::Error on a non-finite entry (naming row and
  // column) or null buffers.
  void encode(const float* r, std::size_t n, std::uint8_t* out, std::optional<SimdLevel> level = std::nullopt) const;
  // The same, with the records `out_stride` bytes apart (a record embedded in a larger one).
  void encode_strided(const float* r, std::size_t n, std::uint8_t* out, std::size_t out_stride,
                      std::optional<SimdLevel> level = std::nullopt) const;
  // S q for one query (m floats), computed once and reused for every stored residual.
  std::vector<float> project(const float* q, std::optional<SimdLevel> level = std::nullopt) const;
  // The QJL estimate of <q, r> from a record and the projected query (in double, j in order).
  double estimate(const std::uint8_t* record, const std::vector<float>& projected_query) const;
  // The same estimate for n records `stride` bytes apart, in float, by the score kernel (the attention
  // inner loop: one query against every stored key): sqrt(pi/2)/m ||r|| sum_j s_j (S q)_j with the sum
  // in 16 interleaved partial sums reduced by a fixed tree (fast/src/dispatch.h), bit-identical at
  // every level.
  void scores(const std::uint8_t* records, std::size_t n, std::size_t stride, const std::vector<float>& projected_query,
              float* out, std::optional<SimdLevel> level = std::nullopt) const;
  // The unbiased vector reconstruction r^ = sqrt(pi/2)/m ||r|| S^T s (so <q, r^> is the estimate).
  void reconstruct(const std::uint8_t* record, float* out, std::optional<SimdLevel> level = std::nullopt) const;
  // n records `in_stride` bytes apart into n x d reconstructions.
  void reconstruct_strided(const std::uint8_t* records, std::size_t n, std::size_t in_stride, float* out,
                           std::optional<SimdLevel> level = std::nullopt) const;

 private:
  int dim_, m_;
  std::vector<float> s_, st_;  // S (m x d) and S^T (d x m), both row-major
};

}  // namespace dpq::fast
