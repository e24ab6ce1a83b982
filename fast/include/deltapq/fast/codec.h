// The fast path of the Part A quantizer: float32, AVX2 kernels with a scalar fallback, the same
// tie rule as the reference (core/include/deltapq/core/design.h, A1).
//
// Design: mean mu (d), orthogonal basis U (d x d, column i is eigen-direction i; empty for the
// identity basis), clip c_i > 0, bits b_i in 1..8. Encoding of a row x:
//   y = U^T (x - mu)  (a GEMM for the whole batch; mu is folded into the per-coordinate shift)
//   k_i = clamp(floor((y_i + c_i) * (1 / step_i)), 0, 2^b_i - 1),   step_i = 2 c_i / 2^b_i
// and decoding: y^_i = k_i step_i + (step_i / 2 - c_i), x^ = mu + U y^.
//
// Code layout (documented contract): each row is a little-endian bit stream; the code of
// coordinate i occupies bits [o_i, o_i + b_i) with o_i = b_0 + ... + b_{i-1}, least significant bit
// first (byte j holds bits 8j..8j+7 of the stream, bit 0 = its LSB). Each row starts on a byte
// boundary: bytes_per_row = ceil(sum_i b_i / 8); unused high bits of the last byte are zero.
// Uniform 4 bits: coordinate 2j is the low nibble of byte j, 2j+1 the high nibble.
//
// Errors (dpq::Error, never undefined behaviour): NaN or Inf in a batch (the message names row and
// column), mismatched sizes, b outside 1..8, c <= 0 or non-finite, a non-finite design entry,
// null buffers. No alignment is required of any buffer. On an error the output buffer's contents
// are unspecified (the CLI never writes them to a file).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "deltapq/core/design.h"
#include "deltapq/fast/simd.h"

namespace dpq::fast {

inline constexpr int kMaxFastBits = 8;

// The design is core's (deltapq/core/design.h): mean, basis, bits and clip, validated by core's
// validate_design with bits in 1..8.
using FastDesign = Design<float>;

// The per-coordinate constants the kernels use, derived once from a design (not a design of its own).
struct KernelConstants {
  std::size_t dim = 0;
  std::vector<float> shift;     // c_i - m_i, m = U^T mu (computed in double, rounded once)
  std::vector<float> inv_step;  // fl(1 / step_i)
  std::vector<float> step;      // step_i = 2 c_i / 2^b_i (exact in float)
  std::vector<float> offset;    // fl(step_i / 2 - c_i) (computed in double, rounded once)
  std::vector<float> max_index; // 2^b_i - 1
  std::vector<int> bits;
  std::vector<int> bit_offset;  // o_i
  int uniform_bits = 0;         // b when every coordinate has b bits, else 0
  std::size_t bytes_per_row = 0;
};

// Validates (E2, core's validate_design) and precomputes. Throws dpq::Error naming the bad entry.
KernelConstants make_kernel_constants(const FastDesign& design);

class Codec {
 public:
  explicit Codec(FastDesign design);

  const FastDesign& design() const { return design_; }
  const KernelConstants& kernel() const { return kernel_; }
  std::size_t dim() const { return kernel_.dim; }
  std::size_t bytes_per_row() const { return kernel_.bytes_per_row; }

  // x: n rows of d floats (row-major, contiguous); codes: n * bytes_per_row() bytes.
  void encode(const float* x, std::size_t n, std::uint8_t* codes,
              std::optional<SimdLevel> level = std::nullopt) const;
  // out: n rows of d floats.
  void decode(const std::uint8_t* codes, std::size_t n, float* out,
              std::optional<SimdLevel> level = std::nullopt) const;

 private:
  FastDesign design_;
  KernelConstants kernel_;
  std::vector<float> basis_t_;  // U^T row-major (decode), empty for the identity basis
};

// A batch whose codes reach this many bytes is a stream to quantize_pack: its rows are prefetched ahead
// (AVX2 and AVX-512) and, in the AVX-512 kernel, loaded line-aligned with its codes written by
// non-temporal stores (they bypass the caches; the codes are the same bytes as at every other level).
inline constexpr std::size_t kStreamingCodeBytes = std::size_t{1} << 20;

// The two kernels alone, on eigen-coordinates already rotated (y = x U, mean not yet removed:
// kernel().shift folds it in). y: n rows with row stride y_stride floats.
void quantize_pack(const KernelConstants& kd, const float* y, std::size_t n, std::size_t y_stride, std::uint8_t* codes,
                   std::optional<SimdLevel> level = std::nullopt);
void unpack_dequantize(const KernelConstants& kd, const std::uint8_t* codes, std::size_t n, float* y,
                       std::size_t y_stride, std::optional<SimdLevel> level = std::nullopt);

// Rotation of a batch: out (n x d) = x (n x d) * U, single-precision GEMM (OpenBLAS).
void rotate(const float* x, std::size_t n, std::size_t d, const float* basis, float* out);
// Back-rotation: out = y * U^T.
void rotate_back(const float* y, std::size_t n, std::size_t d, const float* basis, float* out);

}  // namespace dpq::fast
