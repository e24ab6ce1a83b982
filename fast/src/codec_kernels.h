// Internal: the Part A codec's kernels of each SIMD level and the scalar pieces both levels share.
// Compiled with -ffp-contract=off so that the scalar and AVX2 arithmetic round identically.
// The shared helpers are `static`: each kernel file gets its own copy, compiled with its own flags
// (an inline definition merged by the linker could hand AVX2 code to the scalar path).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "deltapq/fast/codec.h"
#include "dispatch.h"

namespace dpq::fast::detail {

inline constexpr std::size_t kNoBadValue = static_cast<std::size_t>(-1);

// E2: the flat index (r * d + i) of row r's first non-finite value, or kNoBadValue. The SIMD kernels
// call it once they know a row has one, so every level names the same value as the scalar contract.
static inline std::size_t first_non_finite(const float* row, std::size_t d, std::size_t r) {
  for (std::size_t i = 0; i < d; ++i)
    if (!std::isfinite(row[i])) return r * d + i;
  return kNoBadValue;
}

// A1 in float: the same tie rule as the reference (floor: a value on a boundary goes up; clamp).
static inline std::uint32_t quantize_one(float y, float shift, float inv_step, float max_index) {
  float t = std::floor((y + shift) * inv_step);
  t = t < 0.0f ? 0.0f : t;  // written as max/min so that AVX2's max_ps/min_ps give the same result
  t = t > max_index ? max_index : t;
  return static_cast<std::uint32_t>(t);
}

static inline float dequantize_one(std::uint32_t k, float step, float offset) {
  const float scaled = static_cast<float>(k) * step;
  return scaled + offset;
}

// OR `nbits` bits of `value` into the row's bit stream at bit position `pos` (bytes pre-zeroed).
static inline void put_bits(std::uint8_t* row, std::size_t pos, std::uint32_t value, int nbits) {
  while (nbits > 0) {
    const std::size_t byte = pos >> 3;
    const int shift = static_cast<int>(pos & 7);
    const int take = nbits < 8 - shift ? nbits : 8 - shift;
    row[byte] = static_cast<std::uint8_t>(row[byte] | ((value & ((1u << take) - 1u)) << shift));
    value >>= take;
    pos += static_cast<std::size_t>(take);
    nbits -= take;
  }
}

static inline std::uint32_t get_bits(const std::uint8_t* row, std::size_t pos, int nbits) {
  std::uint32_t v = 0;
  int got = 0;
  while (got < nbits) {
    const std::size_t byte = pos >> 3;
    const int shift = static_cast<int>(pos & 7);
    const int take = nbits - got < 8 - shift ? nbits - got : 8 - shift;
    v |= ((static_cast<std::uint32_t>(row[byte]) >> shift) & ((1u << take) - 1u)) << got;
    got += take;
    pos += static_cast<std::size_t>(take);
  }
  return v;
}

// Each returns the flat index (row * d + column) of the first non-finite input, or kNoBadValue.
std::size_t quantize_pack_scalar(const KernelConstants& kd, const float* y, std::size_t n, std::size_t stride,
                                 std::uint8_t* codes);
std::size_t quantize_pack_avx2(const KernelConstants& kd, const float* y, std::size_t n, std::size_t stride,
                               std::uint8_t* codes);
void rotate_avx2(const float* x, std::size_t n, std::size_t k, const float* m, std::size_t cols, float* out);
void rotate_avx512(const float* x, std::size_t n, std::size_t k, const float* m, std::size_t cols, float* out);
void unpack_dequantize_scalar(const KernelConstants& kd, const std::uint8_t* codes, std::size_t n, float* y,
                              std::size_t stride);
void unpack_dequantize_avx2(const KernelConstants& kd, const std::uint8_t* codes, std::size_t n, float* y,
                            std::size_t stride);
void unpack_dequantize_avx512(const KernelConstants& kd, const std::uint8_t* codes, std::size_t n, float* y,
                              std::size_t stride);

}  // namespace dpq::fast::detail
