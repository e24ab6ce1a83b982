// The TurboQuant-style fast codec (D2/D3/D4 in float): per vector, the norm (fp32), then the unit
// vector rotated (randomized Walsh-Hadamard for d = 2^k, else a seeded dense orthogonal matrix, or no
// rotation) and each coordinate coded with a scalar codebook (the Lloyd-Max codebook of the sphere
// marginal: fast/sphere_codebooks.h ships them), bit-packed with the layout of codec.h; optionally
// followed by a 1-bit QJL sketch of the rotated residual (TurboQuant's inner-product quantizer:
// (b-1)-bit MSE stage + QJL at b bits per coordinate, D4/D5).
//
// Record per vector: 4 bytes norm (fp32, little-endian), then ceil(d b / 8) bytes of codes; with QJL,
// then the QjlSketch record of the residual r = u - Q(u) of the rotated unit vector u (fp32 ||r||,
// ceil(m / 8) sign bytes). A zero vector stores norm 0 and decodes to zeros; NaN/Inf input is an
// error naming row and column. Tie rule: a coordinate exactly on a threshold goes to the upper cell.
// AVX2 kernels (Hadamard path, d = 2^k >= 8) and the scalar fallback give bit-identical records.
// With QJL on the Hadamard path the stages are fused: the MSE kernel hands the rotated residual of a
// block of rows to one projection call, and decoding adds the sketch's reconstruction to the centroids
// before the single inverse rotation (x^ = ||x|| R^T (c + r^)).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "deltapq/fast/qjl.h"
#include "deltapq/fast/simd.h"

namespace dpq::fast {

// D3: y = R x. automatic: Hadamard R = H D / sqrt(d) for d = 2^k (random signs D), else dense.
enum class RotationKind { automatic, hadamard, dense, identity };

class Rotation {
 public:
  // Throws dpq::Error for d outside 1..16384 or a Hadamard rotation of a d that is not a power of two.
  Rotation(int dim, std::uint64_t seed, RotationKind kind = RotationKind::automatic);
  int dim() const { return dim_; }
  RotationKind kind() const { return kind_; }  // never automatic
  bool hadamard() const { return kind_ == RotationKind::hadamard; }
  const std::vector<float>& signs() const { return signs_; }
  const std::vector<float>& dense() const { return dense_; }  // row-major R
  void apply(float* x) const;    // in place, one vector
  void inverse(float* x) const;  // in place, one vector

 private:
  int dim_;
  RotationKind kind_;
  std::vector<float> signs_;
  std::vector<float> dense_;
};

// In-place unnormalized fast Walsh-Hadamard transform of n = 2^k floats (scalar reference order).
void walsh_hadamard(float* x, int n);

// A scalar codebook: 2^b ascending centroids and the 2^b - 1 thresholds between them (a value >=
// thresholds[k - 1] and < thresholds[k] has code k).
struct ScalarCodebook {
  std::vector<float> centroids, thresholds;
  // Thresholds at the float midpoints 0.5 (c_k + c_{k+1}) of the given centroids.
  static ScalarCodebook from_centroids(std::vector<float> centroids);
};

struct TurboOptions {
  std::uint64_t seed = 0;                            // the rotation's (and the sketch's, xor a constant)
  RotationKind rotation = RotationKind::automatic;
  int qjl_rows = 0;                                  // m of the residual sketch; 0: no QJL stage
  std::optional<std::uint64_t> qjl_seed;             // the sketch's own seed (default: seed xor a constant)
};

class TurboCodec {
 public:
  // bits 1..8 (of the scalar stage); the codebook must have 2^bits finite, strictly increasing
  // centroids and increasing thresholds between them.
  TurboCodec(int dim, int bits, ScalarCodebook codebook, const TurboOptions& options = {});
  std::size_t bytes_per_vector() const { return record_bytes_; }
  int dim() const { return dim_; }
  int bits() const { return bits_; }
  const Rotation& rotation() const { return rot_; }
  const QjlSketch* qjl() const { return qjl_.get(); }
  const ScalarCodebook& codebook() const { return codebook_; }
  void encode(const float* x, std::size_t n, std::uint8_t* out, std::optional<SimdLevel> level = std::nullopt) const;
  void decode(const std::uint8_t* in, std::size_t n, float* x, std::optional<SimdLevel> level = std::nullopt) const;

 private:
  void encode_generic(const float* x, std::size_t n, std::uint8_t* out, std::ptrdiff_t& bad) const;

  int dim_, bits_;
  std::size_t code_bytes_, record_bytes_;
  ScalarCodebook codebook_;
  Rotation rot_;
  std::shared_ptr<const QjlSketch> qjl_;
};

}  // namespace dpq::fast
