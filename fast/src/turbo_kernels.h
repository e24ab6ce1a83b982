// Internal: the turbo codec's per-vector kernels of each level (same arithmetic, same order).
#pragma once

#include <cstddef>
#include <cstdint>

#include "dispatch.h"

namespace dpq::fast::detail {

struct TurboKernelArgs {
  int dim, bits;
  const float* signs;       // d (Hadamard) 
  const float* thresholds;  // 2^bits - 1
  const float* centroids;   // 2^bits
  std::size_t code_bytes;    // ceil(d bits / 8), after the 4-byte norm
  std::size_t record_bytes;  // stride between records (>= 4 + code_bytes; a QJL stage follows the codes)
  // The fused QJL stage. encode: when set, row r's residual v_i - c(k_i) of the rotated unit vector v
  // (as quantized) goes to residual[r d + i]. decode: when set, addend[r d + i] (the QJL reconstruction
  // in the rotated unit domain) is added to the centroid before the inverse rotation.
  float* residual = nullptr;
  const float* addend = nullptr;
};

// Hadamard path only (d = 2^k >= 8). Returns the flat index of the first non-finite input or -1.
std::ptrdiff_t turbo_encode_scalar(const TurboKernelArgs& a, const float* x, std::size_t n, std::uint8_t* out);
std::ptrdiff_t turbo_encode_avx2(const TurboKernelArgs& a, const float* x, std::size_t n, std::uint8_t* out);
std::ptrdiff_t turbo_encode_avx512(const TurboKernelArgs& a, const float* x, std::size_t n, std::uint8_t* out);
// Test seam: the AVX-512 encoder's Lloyd-Max index of n values y (the cell table where the codebook
// fits one, else the binary search) into codes. Returns whether the cell table was used.
bool turbo_index_avx512(const float* thresholds, int bits, const float* y, std::size_t n, std::uint32_t* codes);
void turbo_decode_scalar(const TurboKernelArgs& a, const std::uint8_t* in, std::size_t n, float* x);
void turbo_decode_avx2(const TurboKernelArgs& a, const std::uint8_t* in, std::size_t n, float* x);
void turbo_decode_avx512(const TurboKernelArgs& a, const std::uint8_t* in, std::size_t n, float* x);

}  // namespace dpq::fast::detail
