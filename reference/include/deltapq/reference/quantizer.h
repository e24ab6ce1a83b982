// The Part A quantizer in Real: designs, encode/decode, eigen-coordinates and empirical distortion.
// The cell index and its tie rule come from deltapq/core/design.h, shared with fast/.
#pragma once

#include <cstdint>
#include <vector>

#include "deltapq/core/design.h"
#include "deltapq/reference/certified.h"
#include "deltapq/reference/linalg.h"
#include "deltapq/reference/real.h"

namespace dpq::ref {

using RealDesign = Design<Real>;  // on eigen-coordinates: mean and basis stay empty

// Bits per eigen-rank.
std::vector<int> uniform_bits(std::size_t dim, int bits);
// Greedy allocation of `budget` bits (at most 16 per coordinate) minimising sum_i lambda_i 4^{-b_i}
// (the A2 matched bound): each bit goes to the largest current term; ties to the lowest rank.
std::vector<int> greedy_bits(const RVector& lambda, int budget);

// Matched design c_i = kappa sqrt(lambda_i) (core's matched_clip: a null direction, lambda_i <= 1e-12
// lambda_max, gets the clip of that floor variance; any positive clip is a valid design).
RealDesign matched_design(const RVector& lambda, const Real& kappa, const std::vector<int>& bits);
// Support design c_i = max_t |Y_ti| (1 for an all-zero coordinate): the sample has bounded support
// |Y_i| <= c_i by construction, so A2 applies to it.
RealDesign support_design(const RMatrix& coords, const std::vector<int>& bits);

// A1: index and reconstruction of one coordinate.
std::int64_t quantize_index(const Real& y, const Real& clip, int bits);
Real reconstruct(std::int64_t k, const Real& clip, int bits);
inline Real quantize(const Real& y, const Real& clip, int bits) {
  return reconstruct(quantize_index(y, clip, bits), clip, bits);
}
Real step(const Real& clip, int bits);

// Vector encode/decode in the eigen-coordinates y (design validated, sizes checked).
std::vector<std::int64_t> encode(const RealDesign& design, const RVector& y);
RVector decode(const RealDesign& design, const std::vector<std::int64_t>& codes);

// Eigen-coordinates Y = (X - mu) U of every row of X.
RMatrix eigen_coordinates(const RMatrix& rows, const RVector& mean, const RMatrix& basis);

// Per-coordinate empirical distortion (1/T) sum_t (Y_ti - q_i(Y_ti))^2, split into the in-range
// part (|Y| <= c) and the overload part (|Y| > c).
// error bounds the rounding of the whole computation: y - q(y) cancels, so each term's error is
// relative to the clip, not to the term (derivation in proofs-notes/A2.md).
struct CoordinateDistortion {
  RVector in_range;
  RVector overload;
  Real error;  // |exact sum - sum()| <= error
  RVector total() const { return in_range + overload; }
  Real sum() const { return in_range.sum() + overload.sum(); }
  Certified certified() const { return {sum(), error}; }
};

// Certified rounding error of e^2 where e = a - b was computed in Real from exact inputs whose own
// computation erred by at most `input_error`: |fl(e^2) - e^2| <= 2|e|de + de^2 + u e^2 with
// de = input_error + u |e|.
Real squared_difference_error(const Real& e, const Real& input_error);
CoordinateDistortion empirical_distortion(const RMatrix& coords, const RealDesign& design);

}  // namespace dpq::ref
