// D2 on the fast path: the Lloyd-Max codebooks of the sphere marginal f_d (what TurboQuant-style codecs
// quantize after a random rotation), shipped as generated, checked-in tables: the reference computes
// them (deltapq/reference/sphere.h, >= 192-bit arithmetic), tools/gen_sphere_codebooks.cc writes
// fast/src/sphere_codebooks_data.inc, and a test regenerates the file and compares it byte for byte,
// so a change to the reference that moves a float of a table is visible.
//
// Every centroid and threshold is the float nearest the exact value (thresholds are the exact
// midpoints of the exact centroids, rounded once), so the fast codec never runs the MPFR solver.
#pragma once

#include <optional>
#include <vector>

#include "deltapq/fast/turbo_codec.h"

namespace dpq::fast {

struct SphereCodebook {
  int dim = 0, bits = 0;
  ScalarCodebook codebook;         // 2^bits centroids, 2^bits - 1 thresholds
  double mse_per_coordinate = 0;   // E (T - Q(T))^2 of the exact codebook, rounded to double
};

// The shipped codebook for (dim, bits), bits 1..8, or nullopt when that dimension is not shipped.
std::optional<SphereCodebook> shipped_sphere_codebook(int dim, int bits);
// The dimensions with shipped codebooks (every bit width 1..8 for each), ascending.
std::vector<int> shipped_sphere_dims();

}  // namespace dpq::fast
