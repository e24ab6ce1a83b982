// A2/A5 design choice: the MSE-optimal clipping multiple (`--kappa auto`), the kappa whose matched design
// c_i = kappa sqrt(lambda_i) (core's matched_clip) minimises the empirical distortion of the given
// coordinates, D(kappa) = sum_i (1/T) sum_t (y_ti - q_i(y_ti))^2, with the bits b_i of each coordinate.
//
// The search is a numerical choice of design, not a verdict: D is evaluated in double (each term
// exactly the quantizer of core/design.h applied in double, a sum of T d non-negative terms, relative
// error <= T d u), on a log-spaced grid of kappa in [1/4, 256] (ratio 256^(1/64) per step) and then by
// golden-section search between the neighbours of the best grid point to a relative width of 1e-6. The
// audit then certifies, at full precision, the distortion of the chosen design and of kappa = 3
// (empirical_distortion), so every printed distortion and verdict is the reference's.
#pragma once

#include <cstddef>
#include <vector>

namespace dpq::ref {

struct KappaChoice {
  double kappa = 3;         // the minimiser found (3 when no coordinate has bits: D does not depend on it)
  double distortion = 0;    // D(kappa) in double, per vector
  double distortion_at_3 = 0;
  int evaluations = 0;
};

// y: T x d row-major coordinates (eigen-coordinates, zero mean); lambda: d variances (the design's);
// bits: d widths in 0..16. Throws dpq::Error on mismatched sizes, T = 0, or a non-finite value.
KappaChoice mse_optimal_kappa(const std::vector<double>& y, std::size_t tokens, const std::vector<double>& lambda,
                              const std::vector<int>& bits);

// The same search per coordinate (D is a sum over coordinates, so each coordinate's own kappa_i minimises
// the total): kappa_i for every i (3 where b_i = 0). What a codec with per-coordinate clips uses; the
// audit's theorems take one kappa.
std::vector<KappaChoice> mse_optimal_kappas(const std::vector<double>& y, std::size_t tokens, const std::vector<double>& lambda,
                                            const std::vector<int>& bits);

// D(kappa) as above (exposed for tests): A1's quantizer (core's cell_index / cell_center) in double, the
// same sum that empirical_distortion(coords, matched_design(lambda, kappa, bits)) certifies in Real.
double matched_distortion(const std::vector<double>& y, std::size_t tokens, const std::vector<double>& lambda,
                          const std::vector<int>& bits, double kappa);

}  // namespace dpq::ref
