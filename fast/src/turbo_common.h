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

// Walsh-Hadamard butterflies of strides h = first, 2 first, ... below n (scalar reference order).
inline void wht_strides(float* x, int n, int first) {
  for (int h = first; h < n; h *= 2)
    for (int i = 0; i < n; i += 2 * h)
      for (int j = i; j < i + h; ++j) {
        const float a = x[j], b = x[j + h];
        x[j] = a + b;
        x[j + h] = a - b;
      }
}

}  // namespace
}  // namespace dpq::fast::detail
