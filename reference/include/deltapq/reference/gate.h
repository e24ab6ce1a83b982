// G1: what a correct kernel must output, per input, for the three families deltapq gates -- the
// Part A codec (scalar), the TurboQuant-style codec (turbo) and the product quantizer (pq). The
// expectation of every code is the reference's exact code, or, when the input lies within the derived
// float32 rounding bound of a decision boundary, an *acceptable set* of two codes (proofs-notes/G1.md
// derives the bounds from E1's analysis; they hold for any summation order, with or without FMA, and
// are 0 where the float computation is exact, so an exact tie must go to its tie-rule cell).
//
// The decisions are made in double with a certified double error and fall back to Real only when the
// double evaluation cannot decide (near a boundary or a band edge), so the gate checks >= 1e5 rows/s.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "deltapq/core/design.h"

namespace dpq::ref::gate {

// The arithmetic the user declares for the kernel: fp32 (any order, FMA or not) or exact (no
// rounding: every expectation exact).
enum class Arithmetic { fp32, exact };

// An acceptable set of codes [lo, hi] (lo == hi: the code is exact).
struct CodeRange {
  std::int32_t lo = 0, hi = 0;
  bool exact() const { return lo == hi; }
  bool contains(std::int64_t k) const { return k >= lo && k <= hi; }
};

// ---- scalar: the Part A codec, x -> y = U^T (x - mu), k_i = clamp(floor((y_i + c_i) / step_i)) ----
struct ScalarDesignSpec {
  Design<float> design;  // mean and basis may be empty (zero mean, identity basis); bits 1..16
  Arithmetic arithmetic = Arithmetic::fp32;
};
// Expected codes of one row (d entries). Non-finite rows have no expectation (the kernel must refuse them).
std::vector<CodeRange> scalar_expected_codes(const ScalarDesignSpec& s, const float* x);
// The same for n finite rows at once (out: n x d): a basis design's y and magnitude sums are two
// double GEMMs, so the gate keeps up with a user's CI (>= 1e5 rows/s at d = 128).
void scalar_expected_codes(const ScalarDesignSpec& s, const float* x, std::size_t n, CodeRange* out);
// The reference's exact codes of one row (Real: the code of the exact y), for the corpus's
// "expected" column; inside an acceptable set either code is right.
std::vector<std::int64_t> scalar_exact_codes(const ScalarDesignSpec& s, const float* x);
// The reference reconstruction mu + U q(k) of codes k (double; exact to double rounding), and the bound
// within which an fp32 decode of the same codes must fall, per output coordinate.
void scalar_reconstruction(const ScalarDesignSpec& s, const std::int64_t* codes, double* out, double* bound);

// ---- turbo: y = R x / ||x||, code_i = #{thresholds <= y_i}, optional QJL signs of r = y - c[code] ----
struct TurboDesignSpec {
  int dim = 0, bits = 0;
  std::vector<float> centroids, thresholds;
  enum class Rotation { hadamard, dense, identity } rotation = Rotation::hadamard;
  std::vector<float> signs;   // hadamard: the random signs D (R = H D / sqrt d)
  std::vector<float> matrix;  // dense: R row-major
  int qjl_rows = 0;           // m (0: no QJL stage)
  std::vector<float> sketch;  // S, m x d row-major
  Arithmetic arithmetic = Arithmetic::fp32;
};
struct TurboExpectation {
  std::vector<CodeRange> codes;  // d
  double norm = 0;               // ||x||
  double norm_bound = 0;         // |fp32 norm - ||x|| | <= norm_bound
  bool zero = false;             // ||x|| (or its fp32 square) is 0: every code acceptable, decode to 0
  std::vector<double> rotated;   // y = R x / ||x|| (double)
  std::vector<double> rotated_bound;  // the fp32 bound on y_i (acceptance band)
};
TurboExpectation turbo_expected(const TurboDesignSpec& s, const float* x);
// The QJL record's expectation given the user's codes: the residual r = y - c[code], per sketch row
// the sign of (S r)_j (lo/hi: 0, 1, or the set {0, 1} near 0), and ||r|| with its bound.
struct QjlExpectation {
  std::vector<CodeRange> signs;  // m, values in {0, 1}
  double residual_norm = 0, residual_norm_bound = 0;
};
QjlExpectation turbo_expected_qjl(const TurboDesignSpec& s, const TurboExpectation& e, const std::int64_t* codes);
// The same for n rows (e[k] and codes[k d ..]): the sketch products are three double GEMMs.
void turbo_expected_qjl(const TurboDesignSpec& s, const TurboExpectation* const* e, const std::int64_t* codes, std::size_t n,
                        QjlExpectation* out);
// The reference reconstruction ||x|| R^T (c[code] + r^) from the user's record (norm, codes, and with
// QJL the signs and ||r||: r^ = sqrt(pi/2)/m ||r|| S^T s), and its fp32 bound per output coordinate.
void turbo_reconstruction(const TurboDesignSpec& s, const std::int64_t* codes, float norm, const std::uint8_t* signs,
                          float residual_norm, double* out, double* bound);

// ---- pq: nearest centroid per block (ties: the lowest index) ----
struct PqDesignSpec {
  int dim = 0, blocks = 0, bits = 0;
  std::vector<float> centroids;  // M x K x d_m, block-major
  Arithmetic arithmetic = Arithmetic::fp32;
  int block_dim() const { return dim / blocks; }
  int k() const { return 1 << bits; }
};
// Per block the acceptable codes: every centroid whose exact squared distance is within the rounding
// bound of the minimum. CodeRange is not enough (the set need not be contiguous): `sets[m]` lists them,
// `exact[m]` is the lowest-index exact minimum.
struct PqExpectation {
  std::vector<std::int32_t> exact;
  std::vector<std::vector<std::int32_t>> sets;
};
PqExpectation pq_expected(const PqDesignSpec& s, const float* x);

// Validation of a spec (E2): sizes, ranges, finite values, increasing thresholds, +-1 Hadamard signs
// (a scalar design through core's validate_design). The expectations do not assume a dense rotation
// is orthogonal: they are of the map the design states. Throws dpq::Error naming the field.
void validate(const ScalarDesignSpec& s);
void validate(const TurboDesignSpec& s);
void validate(const PqDesignSpec& s);

}  // namespace dpq::ref::gate
