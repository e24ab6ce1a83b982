// The TurboQuant-style fast codec (D2/D3 in float): per vector, the norm (fp32), then the unit vector
// rotated (randomized Walsh-Hadamard for d = 2^k, else a seeded dense orthogonal matrix) and each
// coordinate coded with a Lloyd-Max codebook of the sphere marginal (centroids supplied by the caller,
// e.g. from the reference), bit-packed with the layout of codec.h.
//
// Record per vector: 4 bytes norm (fp32, little-endian), then ceil(d b / 8) bytes of codes. A zero
// vector stores norm 0 and decodes to zeros; NaN/Inf input is an error naming row and column.
// Tie rule: a coordinate exactly on a threshold (midpoint of two centroids) goes to the upper cell.
// AVX2 kernels (for d = 2^k >= 8) and the scalar fallback give bit-identical records.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "deltapq/fast/simd.h"

namespace dpq::fast {

// D3: y = R x, R = H D / sqrt(d) for d = 2^k (random signs D), else a seeded dense orthogonal matrix.
class Rotation {
 public:
  Rotation(int dim, std::uint64_t seed, bool force_dense = false);
  int dim() const { return dim_; }
  bool hadamard() const { return dense_.empty(); }
  const std::vector<float>& signs() const { return signs_; }
  const std::vector<float>& dense() const { return dense_; }  // row-major R
  void apply(float* x) const;    // in place, one vector
  void inverse(float* x) const;  // in place, one vector

 private:
  int dim_;
  std::vector<float> signs_;
  std::vector<float> dense_;
};

// In-place unnormalized fast Walsh-Hadamard transform of n = 2^k floats (scalar reference order).
void walsh_hadamard(float* x, int n);

class TurboCodec {
 public:
  // centroids: 2^bits ascending values (bits 1..8); seed: the rotation's.
  TurboCodec(int dim, int bits, std::vector<float> centroids, std::uint64_t seed, bool force_dense = false);
  std::size_t bytes_per_vector() const { return 4 + code_bytes_; }
  int dim() const { return dim_; }
  const Rotation& rotation() const { return rot_; }
  void encode(const float* x, std::size_t n, std::uint8_t* out, std::optional<SimdLevel> level = std::nullopt) const;
  void decode(const std::uint8_t* in, std::size_t n, float* x, std::optional<SimdLevel> level = std::nullopt) const;

 private:
  int dim_, bits_;
  std::size_t code_bytes_;
  std::vector<float> centroids_, thresholds_;
  Rotation rot_;
};

}  // namespace dpq::fast
