// The embedded default data: a seeded synthetic activation stream with the three features the
// source papers argue about — temporal correlation (AR(1)), heavy-tailed innovations, a low-rank component.
//
//   x_t = mean + s_t,   s_t = phi * s_{t-1} + sqrt(1 - phi^2) * (A z_t + sigma * e_t),
//   z_t ~ N(0, I_rank),  e_t i.i.d. Student-t(nu) scaled to unit variance,
//   A = d x rank with i.i.d. N(0, 1/rank) entries, mean_j ~ N(0, 1), s_0 from the stationary start.
//
// Deterministic for a given seed on every platform (Boost.Random's distributions are portable).
#pragma once

#include <cstddef>
#include <cstdint>
#include <boost/random/mersenne_twister.hpp>
#include <vector>

namespace dpq {

struct SyntheticStreamParams {
  std::size_t tokens = 2048;  // T
  std::size_t dim = 32;       // d
  double phi = 0.95;          // AR(1) coefficient, |phi| < 1
  double nu = 4.0;            // Student-t degrees of freedom of the innovations, > 2
  std::size_t rank = 4;       // rank of the low-rank component (0: none)
  double sigma = 0.5;         // scale of the full-rank heavy-tailed innovation
  std::uint64_t seed = 2026;
};

// Row-major [tokens, dim]. Throws dpq::Error on parameters outside their ranges.
std::vector<double> synthetic_stream(const SyntheticStreamParams& p);

// A random orthogonal d x d matrix, row-major: modified Gram-Schmidt on the columns of a Gaussian
// matrix drawn from rng, in double (the gate's corpus and the property tests draw bases with it).
std::vector<double> random_orthogonal(boost::random::mt19937_64& rng, int d);

}  // namespace dpq
