// The Part A scalar quantizer contract, shared by reference/ (Real) and fast/ (float):
// one definition of the cell index and its tie rule, so both sides cannot drift apart.
//
// Coordinate with bits b (0..16) and clip c > 0: L = 2^b cells, step = 2c / L,
// index k(y) = clamp(floor((y + c) / step), 0, L - 1), reconstruction -c + (k + 1/2) step.
// A value exactly on a cell boundary goes to the upper cell (floor does that); b = 0 gives the
// single cell k = 0 whose reconstruction is 0.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "deltapq/core/error.h"

namespace dpq {

inline constexpr int kMaxBits = 16;

// A1: the cell index of y. T is float, double or the reference Real; floor and comparisons
// are exact in every T, so the tie rule is the same everywhere.
template <class T>
std::int64_t cell_index(const T& y, const T& clip, int bits) {
  using std::floor;
  const std::int64_t cells = std::int64_t{1} << bits;
  const T step = (clip + clip) / T(static_cast<double>(cells));
  const T k = floor((y + clip) / step);
  if (!(k >= T(0))) return 0;  // also catches a NaN quotient, which callers reject earlier
  if (k >= T(static_cast<double>(cells - 1))) return cells - 1;
  return static_cast<std::int64_t>(static_cast<double>(k));
}

// A1: the mid-rise reconstruction of cell k.
template <class T>
T cell_center(std::int64_t k, const T& clip, int bits) {
  const double cells = static_cast<double>(std::int64_t{1} << bits);
  const T step = (clip + clip) / T(cells);
  return -clip + (T(static_cast<double>(k)) + T(0.5)) * step;
}

// A design: bits and clip per coordinate (in eigen-rank order for the Part A quantizer).
template <class T>
struct ScalarDesign {
  std::vector<int> bits;
  std::vector<T> clip;

  std::size_t dim() const { return bits.size(); }
  int total_bits() const {
    int s = 0;
    for (int b : bits) s += b;
    return s;
  }
};

// E2: rejects b outside 0..16, c <= 0 or non-finite, and mismatched sizes, naming the coordinate.
template <class T>
void validate_design(const ScalarDesign<T>& design) {
  using std::isfinite;
  if (design.bits.size() != design.clip.size())
    throw Error("design: " + std::to_string(design.bits.size()) + " bit widths but " +
                std::to_string(design.clip.size()) + " clips");
  if (design.bits.empty()) throw Error("design: dimension d = 0");
  for (std::size_t i = 0; i < design.bits.size(); ++i) {
    if (design.bits[i] < 0 || design.bits[i] > kMaxBits)
      throw Error("design: bits[" + std::to_string(i) + "] = " + std::to_string(design.bits[i]) +
                  " is outside 0..16");
    const T& c = design.clip[i];
    if (!(c > T(0)) || !isfinite(c))
      throw Error("design: clip[" + std::to_string(i) + "] = " +
                  std::to_string(static_cast<double>(c)) + " is not a positive finite number");
  }
}

}  // namespace dpq
