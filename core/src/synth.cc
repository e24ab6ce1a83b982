#include "deltapq/core/synth.h"

#include <boost/random/mersenne_twister.hpp>
#include <boost/random/normal_distribution.hpp>
#include <boost/random/student_t_distribution.hpp>
#include <cmath>
#include <string>

#include "deltapq/core/error.h"
#include "deltapq/core/limits.h"

namespace dpq {

std::vector<double> synthetic_stream(const SyntheticStreamParams& p) {
  if (p.tokens < 2) throw Error("synthetic stream: tokens = " + std::to_string(p.tokens) + " (need T >= 2)");
  if (p.dim == 0) throw Error("synthetic stream: dim d = 0");
  // The stream in double, then as float32 bytes on writing: 12 bytes per value.
  require_bytes(checked_product({p.tokens, p.dim, 12}, "synthetic stream"),
                "synthetic stream [" + std::to_string(p.tokens) + ", " + std::to_string(p.dim) + "]");
  require_bytes(checked_product({p.dim, p.rank, 8}, "synthetic stream"), "synthetic stream's mixing matrix");
  if (!(std::fabs(p.phi) < 1)) throw Error("synthetic stream: phi = " + std::to_string(p.phi) + " (need |phi| < 1)");
  if (!(p.nu > 2)) throw Error("synthetic stream: nu = " + std::to_string(p.nu) + " (need nu > 2 for a finite variance)");
  if (!(p.sigma >= 0) || !std::isfinite(p.sigma)) throw Error("synthetic stream: sigma = " + std::to_string(p.sigma));

  boost::random::mt19937_64 rng(p.seed);
  boost::random::normal_distribution<double> normal(0.0, 1.0);
  boost::random::student_t_distribution<double> student(p.nu);
  const double t_scale = std::sqrt((p.nu - 2) / p.nu);  // unit-variance innovations

  const std::size_t d = p.dim, r = p.rank;
  std::vector<double> mixing(d * r), mean(d);
  for (auto& a : mixing) a = normal(rng) / std::sqrt(static_cast<double>(r ? r : 1));
  for (auto& m : mean) m = normal(rng);

  auto innovation = [&](std::vector<double>& out) {
    std::vector<double> z(r);
    for (auto& v : z) v = normal(rng);
    for (std::size_t j = 0; j < d; ++j) {
      double v = p.sigma * t_scale * student(rng);
      for (std::size_t k = 0; k < r; ++k) v += mixing[j * r + k] * z[k];
      out[j] = v;
    }
  };

  std::vector<double> state(d), e(d), x(p.tokens * d);
  innovation(state);  // stationary start: Var s_0 = Var(innovation), as for every later s_t
  const double gain = std::sqrt(1 - p.phi * p.phi);
  for (std::size_t t = 0; t < p.tokens; ++t) {
    if (t > 0) {
      innovation(e);
      for (std::size_t j = 0; j < d; ++j) state[j] = p.phi * state[j] + gain * e[j];
    }
    for (std::size_t j = 0; j < d; ++j) x[t * d + j] = mean[j] + state[j];
  }
  return x;
}

std::vector<double> random_orthogonal(boost::random::mt19937_64& rng, int d) {
  boost::random::normal_distribution<double> normal;
  std::vector<double> q(static_cast<std::size_t>(d) * d);
  for (auto& v : q) v = normal(rng);
  for (int j = 0; j < d; ++j) {
    for (int k = 0; k < j; ++k) {
      double dot = 0;
      for (int i = 0; i < d; ++i) dot += q[i * d + j] * q[i * d + k];
      for (int i = 0; i < d; ++i) q[i * d + j] -= dot * q[i * d + k];
    }
    double n = 0;
    for (int i = 0; i < d; ++i) n += q[i * d + j] * q[i * d + j];
    n = std::sqrt(n);
    for (int i = 0; i < d; ++i) q[i * d + j] /= n;
  }
  return q;
}

}  // namespace dpq
