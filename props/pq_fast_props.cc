// The fast product quantizer against the exact nearest centroid (proofs-notes/B1.md, "fast encode"):
// the chosen centroid's exact squared distance exceeds the exact minimum by at most e_khat + e_kstar,
// e_k = gamma_{2 d_m} (||c_k||^2 + 2 sum_j |x_j c_kj|), gamma_n = n u / (1 - n u), u = 2^-24: the
// score is a chain of 2 d_m fused operations, one rounding each. ADC tables: the L2 entry is within
// gamma_{d_m + 2} of the exact squared distance (relative), the inner product within
// gamma_{d_m} sum_j |q_j c_kj|. And every SIMD level gives the scalar contract's codes and tables.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <random>

#include "deltapq/fast/pq.h"
#include "deltapq/reference/pq.h"
#include "avx2_skip.h"
#include "support.h"

namespace dpq::props {
namespace {

using fast::ProductQuantizer;
using fast::SimdLevel;

Real gamma_f32(int n) {
  const Real nu = Real(n) * ldexp(Real(1), -24);
  return nu / (1 - nu);
}

struct PqCase {
  int d, m, bits;
  std::size_t n;
  double log_scale;
  std::uint64_t seed;
  bool near_ties;  // rows placed on midpoints between two centroids (plus a tiny offset)
};
rc::Gen<PqCase> gen_pq_case() {
  return rc::gen::apply(
      [](int d, int mi, int bits, int n, int ls, std::uint64_t seed, bool ties) {
        std::vector<int> divisors;
        for (int m = 1; m <= d; ++m)
          if (d % m == 0) divisors.push_back(m);
        return PqCase{d, divisors[mi % divisors.size()], bits, static_cast<std::size_t>(n), ls / 10.0, seed, ties};
      },
      rc::gen::inRange(1, 33), rc::gen::inRange(0, 8), rc::gen::inRange(1, 9), rc::gen::inRange(256, 600),
      rc::gen::inRange(-40, 40), rc::gen::arbitrary<std::uint64_t>(), rc::gen::arbitrary<bool>());
}

struct Setup {
  ProductQuantizer pq;
  std::vector<float> x;
};
Setup make(const PqCase& c) {
  std::mt19937_64 rng(c.seed);
  std::student_t_distribution<float> t(3.0f);
  const float scale = static_cast<float>(std::pow(10.0, c.log_scale));
  Setup s{ProductQuantizer(c.d, c.m, c.bits), std::vector<float>(c.n * c.d)};
  for (float& v : s.x) v = scale * t(rng);
  fast::PqTrainOptions o;
  o.iterations = 4;
  o.seed = c.seed;
  s.pq.train(s.x.data(), c.n, o);
  if (c.near_ties) {  // move every row's blocks to the midpoint of two random centroids, then nudge by 1 ulp
    const int k = s.pq.centroids_per_block(), dm = s.pq.block_dim();
    for (std::size_t i = 0; i < c.n; ++i)
      for (int b = 0; b < c.m; ++b) {
        const float* p = s.pq.centroid(b, static_cast<int>(rng() % k));
        const float* q = s.pq.centroid(b, static_cast<int>(rng() % k));
        for (int j = 0; j < dm; ++j) {
          float& v = s.x[i * c.d + b * dm + j];
          v = 0.5f * p[j] + 0.5f * q[j];
          if (rng() & 1) v = std::nextafter(v, (rng() & 1) ? INFINITY : -INFINITY);
        }
      }
  }
  return s;
}

// Returns false (without asserting) if a choice exceeds the bound scaled by `factor`. The minimum is
// the reference's (ref::nearest_centroid_distortion on the same float data, promoted exactly).
bool encode_within_bound(const Setup& s, std::size_t n, const Real& factor) {
  const int m = s.pq.blocks(), dm = s.pq.block_dim(), k = s.pq.centroids_per_block(), d = s.pq.dim();
  std::vector<std::uint8_t> codes(n * m);
  s.pq.encode(s.x.data(), n, codes.data());
  const Real g = gamma_f32(2 * dm);
  auto exact = [&](const float* x, const float* c, Real* err) {
    Real sum(0), mag(0);
    for (int j = 0; j < dm; ++j) {
      const Real e = Real(x[j]) - Real(c[j]);
      sum += e * e;
      mag += Real(c[j]) * Real(c[j]) + 2 * abs(Real(x[j]) * Real(c[j]));
    }
    *err = g * mag;
    return sum;
  };
  for (int b = 0; b < m; ++b) {
    std::vector<double> xb(n * dm), cb(static_cast<std::size_t>(k) * dm);
    for (std::size_t i = 0; i < n; ++i)
      for (int j = 0; j < dm; ++j) xb[i * dm + j] = s.x[i * d + b * dm + j];
    for (int kk = 0; kk < k; ++kk)
      for (int j = 0; j < dm; ++j) cb[kk * dm + j] = s.pq.centroid(b, kk)[j];
    const ref::Distortion reference = ref::nearest_centroid_distortion(xb.data(), n, dm, cb.data(), k);
    for (std::size_t i = 0; i < n; ++i) {
      const float* x = s.x.data() + i * d + b * dm;
      const int chosen = codes[i * m + b], best = reference.codes[i];
      Real e_chosen, e_best;
      const Real d_chosen = exact(x, s.pq.centroid(b, chosen), &e_chosen);
      const Real d_best = exact(x, s.pq.centroid(b, best), &e_best);
      if (d_chosen - d_best > factor * (e_chosen + e_best)) {
        RC_LOG() << "row " << i << " block " << b << ": chose " << chosen << " (" << ref::to_string(d_chosen, 10)
                 << "), reference minimum " << best << " (" << ref::to_string(d_best, 10) << ")\n";
        return false;
      }
    }
  }
  return true;
}

RC_GTEST_PROP(B1, fast_encode_is_within_the_rounding_bound_of_the_exact_minimum, ()) {
  const PqCase c = *gen_pq_case();
  const Setup s = make(c);
  RC_ASSERT(encode_within_bound(s, c.n, Real(1)));
}

TEST(B1, the_encode_bound_is_not_vacuous) {
  // Test of the test: demanding the exact argmin (bound x 0) must fail on near-tie rows.
  EXPECT_TRUE(falsified("exact argmin", [] {
    PqCase c = *gen_pq_case();
    c.near_ties = true;
    RC_ASSERT(encode_within_bound(make(c), c.n, Real(0)));
  }));
}

RC_GTEST_PROP(B1, every_level_matches_the_scalar_contract_and_tables_are_within_bounds, ()) {
  const PqCase c = *gen_pq_case();
  const Setup s = make(c);
  const int m = c.m, k = s.pq.centroids_per_block(), dm = s.pq.block_dim();
  std::vector<std::uint8_t> a(c.n * m), b(c.n * m);
  s.pq.encode(s.x.data(), c.n, a.data(), SimdLevel::scalar);
  for (SimdLevel level : testing::cpu_levels()) {
    s.pq.encode(s.x.data(), c.n, b.data(), level);
    RC_ASSERT(a == b);
  }
  std::vector<float> out(c.n * c.d);
  s.pq.decode(a.data(), c.n, out.data());
  for (std::size_t i = 0; i < c.n; ++i)
    for (int blk = 0; blk < m; ++blk)
      for (int j = 0; j < dm; ++j) RC_ASSERT(out[i * c.d + blk * dm + j] == s.pq.centroid(blk, a[i * m + blk])[j]);
  // ADC tables for one query row.
  const float* q = s.x.data();
  std::vector<float> l2(m * k), l2s(m * k), ip(m * k), ips(m * k);
  s.pq.adc_table_l2(q, l2.data());
  s.pq.adc_table_l2(q, l2s.data(), SimdLevel::scalar);
  s.pq.adc_table_ip(q, ip.data());
  s.pq.adc_table_ip(q, ips.data(), SimdLevel::scalar);
  RC_ASSERT(l2 == l2s);
  RC_ASSERT(ip == ips);
  for (int blk = 0; blk < m; ++blk)
    for (int kk = 0; kk < k; ++kk) {
      const float* cc = s.pq.centroid(blk, kk);
      Real dist(0), dot(0), mag(0);
      for (int j = 0; j < dm; ++j) {
        const Real e = Real(cc[j]) - Real(q[blk * dm + j]);
        dist += e * e;
        dot += Real(cc[j]) * Real(q[blk * dm + j]);
        mag += abs(Real(cc[j]) * Real(q[blk * dm + j]));
      }
      RC_ASSERT(abs(Real(l2[blk * k + kk]) - dist) <= gamma_f32(dm + 2) * dist);
      RC_ASSERT(abs(Real(ip[blk * k + kk]) - dot) <= gamma_f32(dm) * mag);
    }
}

}  // namespace
}  // namespace dpq::props
