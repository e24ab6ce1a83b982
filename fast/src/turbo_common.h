// Internal: scalar pieces shared by both turbo kernel files (static: one copy per file and flags).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace dpq::fast::detail {
namespace {

// Sum of squares in 8 interleaved partial sums, reduced in a fixed order: the AVX2 kernel's order.
inline float sum_squares8(const float* x, int d) {
  float part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < d; ++i) part[i & 7] += x[i] * x[i];
  return ((part[0] + part[4]) + (part[1] + part[5])) + ((part[2] + part[6]) + (part[3] + part[7]));
}

// The butterflies of strides 1, 2, 4 (both levels run these scalar).
inline void wht_small(float* x, int n) {
  for (int h = 1; h < 8 && h < n; h *= 2)
    for (int i = 0; i < n; i += 2 * h)
      for (int j = i; j < i + h; ++j) {
        const float a = x[j], b = x[j + h];
        x[j] = a + b;
        x[j + h] = a - b;
      }
}

inline void put_code(std::uint8_t* row, std::size_t pos, std::uint32_t value, int nbits) {
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

inline std::uint32_t get_code(const std::uint8_t* row, std::size_t pos, int nbits) {
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

}  // namespace
}  // namespace dpq::fast::detail
