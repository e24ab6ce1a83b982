// The Part A quantizer contract, shared by reference/ (Real) and fast/ (float): one design type, one
// validation, one definition of the cell index and its tie rule, one matched-clip rule, so the two
// implementations cannot drift apart.
//
// Coordinate with bits b (0..16) and clip c > 0: L = 2^b cells, step = 2c / L,
// index k(y) = clamp(floor((y + c) / step), 0, L - 1), reconstruction -c + (k + 1/2) step.
// A value exactly on a cell boundary goes to the upper cell (floor does that); b = 0 gives the
// single cell k = 0 whose reconstruction is 0.
//
// A design codes a vector x as y = U^T (x - mu) (its eigen-coordinates), then each y_i with (b_i, c_i).
// The reference works on eigen-coordinates directly (mean and basis empty); the fast codec applies
// mean and basis itself and derives its kernel constants from the same design (fast/codec.h).
#pragma once

#include <cmath>
#include <cstdint>
#include <sstream>
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

// The design of a coordinate-wise quantizer in an orthogonal basis.
template <class T>
struct Design {
  std::vector<T> mean;    // mu, d entries (empty: zero mean)
  std::vector<T> basis;   // U, d x d row-major, U(j, i) = basis[j * d + i]; column i = direction of
                          // coordinate i (eigen-rank order); empty: the identity basis
  std::vector<int> bits;  // b_i, d entries
  std::vector<T> clip;    // c_i, d entries

  std::size_t dim() const { return bits.size(); }
  int total_bits() const {
    int s = 0;
    for (int b : bits) s += b;
    return s;
  }
};

namespace detail {
template <class T>
std::string design_number(const T& v) {
  std::ostringstream os;
  os.precision(7);
  os << static_cast<double>(v);
  return os.str();
}
}  // namespace detail

// E2: rejects a dimension of 0, mismatched sizes, b outside min_bits..max_bits, c <= 0 or non-finite,
// and a non-finite mean or basis entry, naming the entry. `what` prefixes the message ("design",
// "fast design").
template <class T>
void validate_design(const Design<T>& design, int min_bits = 0, int max_bits = kMaxBits,
                     const std::string& what = "design") {
  using std::isfinite;
  const std::size_t d = design.bits.size();
  auto fail = [&](const std::string& m) { throw Error(what + ": " + m); };
  if (d == 0 && design.clip.empty()) fail("dimension d = 0");
  if (design.clip.size() != d)
    fail(std::to_string(d) + " bit widths but " + std::to_string(design.clip.size()) + " clips");
  if (!design.mean.empty() && design.mean.size() != d)
    fail("mean has " + std::to_string(design.mean.size()) + " entries for d = " + std::to_string(d));
  if (!design.basis.empty() && design.basis.size() != d * d)
    fail("basis has " + std::to_string(design.basis.size()) + " entries, expected d x d = " + std::to_string(d * d));
  for (std::size_t i = 0; i < design.mean.size(); ++i)
    if (!isfinite(design.mean[i])) fail("mean[" + std::to_string(i) + "] is not finite");
  for (std::size_t i = 0; i < design.basis.size(); ++i)
    if (!isfinite(design.basis[i])) fail("basis[" + std::to_string(i) + "] is not finite");
  for (std::size_t i = 0; i < d; ++i) {
    if (design.bits[i] < min_bits || design.bits[i] > max_bits)
      fail("bits[" + std::to_string(i) + "] = " + std::to_string(design.bits[i]) + " is outside " +
           std::to_string(min_bits) + ".." + std::to_string(max_bits));
    const T& c = design.clip[i];
    if (!(c > T(0)) || !isfinite(c))
      fail("clip[" + std::to_string(i) + "] = " + detail::design_number(c) + " is not a positive finite number");
  }
}

// The matched design's clip for a coordinate of variance lambda (A2): c = kappa sqrt(lambda). A
// direction whose variance is not above kNullDirection * lambda_max (a null direction of the
// covariance, or one below the float codec's resolution) gets the clip of variance
// kNullDirection * lambda_max instead: any positive clip is a valid design, and this one keeps the
// step a normal float. An all-zero covariance (lambda_max <= 0) gets clip kappa.
inline constexpr double kNullDirection = 1e-12;
template <class T>
T matched_clip(const T& lambda, const T& lambda_max, const T& kappa) {
  using std::sqrt;
  if (!(lambda_max > T(0))) return kappa;
  const T floor_variance = lambda_max * T(kNullDirection);
  return lambda > floor_variance ? T(kappa * sqrt(lambda)) : T(kappa * sqrt(floor_variance));
}

}  // namespace dpq
