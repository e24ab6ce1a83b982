// Internal: one function table per kernel family and SIMD level. Each ISA file (FAMILY_scalar.cc,
// FAMILY_avx2.cc, FAMILY_avx512.cc) defines its family's table; entry points look a table up once per call with
// kernels_for(select_simd(level)) and call through it, so no entry point branches on the level.
#pragma once

#include <cstddef>
#include <cstdint>

#include "deltapq/fast/codec.h"
#include "deltapq/fast/simd.h"

namespace dpq::fast::detail {

// Part A codec: quantize+pack returns the flat index (row * d + column) of the first non-finite
// input or kNoBadValue.
struct CodecKernels {
  std::size_t (*quantize_pack)(const KernelConstants&, const float* y, std::size_t n, std::size_t stride,
                               std::uint8_t* codes);
  void (*unpack_dequantize)(const KernelConstants&, const std::uint8_t* codes, std::size_t n, float* y,
                            std::size_t stride);
  // out[r][i] = sum_j x[r][j] m[j][i] for x n x k, m row-major k x cols, out n x cols, accumulated as
  // fma in j order from 0 -- the same rounding at every level and for every n, so a row's result does
  // not depend on its batch. The Part A rotation (k = cols = d) and the QJL projections (d -> m, m -> d).
  void (*rotate)(const float* x, std::size_t n, std::size_t k, const float* m, std::size_t cols, float* out);
};

struct TurboKernelArgs;
// TurboQuant-style codec, Hadamard path: encode returns the flat index of the first non-finite input or -1.
struct TurboKernels {
  std::ptrdiff_t (*encode)(const TurboKernelArgs&, const float* x, std::size_t n, std::uint8_t* out);
  void (*decode)(const TurboKernelArgs&, const std::uint8_t* in, std::size_t n, float* x);
};

struct PqBlock;
// Product quantizer: nearest-centroid assignment and ADC tables.
struct PqKernels {
  std::ptrdiff_t (*assign)(const PqBlock&, const float* x, std::size_t n, std::size_t stride, std::uint8_t* codes,
                           std::size_t code_stride, float* best);
  void (*table)(const PqBlock&, const float* q, bool inner_product, float* table);
};

// QJL attention scores: out[r] = (scale * ||r||) * sum_j s_j q_j for n records `stride` bytes apart
// (fp32 norm, then m sign bits LSB first) against one projected query q (m floats). The sum is the
// contract's: 16 interleaved float partial sums (lane j mod 16, j increasing), reduced 16 -> 8 -> 4 -> 2
// -> 1 by adding lane l + half to lane l; every level computes exactly that.
// D4's stored bits s = sign(S r), sign(0) = +1. pack_signs: row r's bit j (LSB first, byte j / 8 of
// out + r * out_stride) is p[r * m + j] >= 0 (false for NaN); the bits past m in the last byte are 0.
// unpack_signs: the inverse, +1.0f for a set bit, -1.0f otherwise, into signs[r * m + j]. Both exact,
// so every level gives the same bytes and floats.
struct QjlKernels {
  void (*scores)(const std::uint8_t* records, std::size_t n, std::size_t stride, std::size_t m, const float* q, float scale,
                 float* out);
  void (*pack_signs)(const float* p, std::size_t rows, std::size_t m, std::uint8_t* out, std::size_t out_stride);
  void (*unpack_signs)(const std::uint8_t* in, std::size_t rows, std::size_t in_stride, std::size_t m, float* signs);
};

extern const CodecKernels kCodecScalar, kCodecAvx2, kCodecAvx512;
extern const QjlKernels kQjlScalar, kQjlAvx2, kQjlAvx512;
extern const TurboKernels kTurboScalar, kTurboAvx2, kTurboAvx512;
extern const PqKernels kPqScalar, kPqAvx2, kPqAvx512;

// The table of a level (the level has been validated by select_simd).
const CodecKernels& codec_kernels(SimdLevel level);
const TurboKernels& turbo_kernels(SimdLevel level);
const PqKernels& pq_kernels(SimdLevel level);
const QjlKernels& qjl_kernels(SimdLevel level);

// Every kernel entry counts itself (tests assert which level ran).
void count_kernel(SimdLevel level);

}  // namespace dpq::fast::detail
