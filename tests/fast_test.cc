// The fast codec: documented layout, dispatch, and bad input (E2).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <tuple>
#include <vector>

#include "deltapq/core/error.h"
#include "deltapq/fast/codec.h"
#include "deltapq/fast/pq.h"
#include "deltapq/fast/qjl.h"
#include "deltapq/fast/sphere_codebooks.h"
#include "deltapq/fast/turbo_codec.h"
#include "avx2_skip.h"
#include "fast_designs.h"
#include "test_files.h"

namespace dpq::fast {
namespace {

using dpq::testing::error_of;
using dpq::testing::identity;

// A 16-dimensional eigenbasis design (a fixed orthogonal basis: a Householder reflection).
FastDesign eigen_design_16() {
  FastDesign ds;
  ds.clip.assign(16, 2.0f);
  ds.bits.assign(16, 4);
  ds.basis.assign(16 * 16, 0.0f);
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 16; ++j) ds.basis[static_cast<std::size_t>(i) * 16 + j] = (i == j ? 1.0f : 0.0f) - 2.0f / 16.0f;
  return ds;
}

std::vector<SimdLevel> levels() { return testing::cpu_levels(); }  // the CPU's word, not the detector's

TEST(FastCodec, uniform_4bit_layout_is_low_nibble_first) {
  // c = 8, b = 4: step 1, index = floor(y + 8). y = -8 -> 0, -7 -> 1, ..., 7.5 -> 15.
  const Codec codec(identity(10, 4, 8.0f));
  ASSERT_EQ(codec.bytes_per_row(), 5u);
  const float x[10] = {-8, -7, 0, 7.5f, 100, -100, 1, 2, 3, 4};
  for (SimdLevel level : levels()) {
    std::uint8_t codes[5];
    codec.encode(x, 1, codes, level);
    EXPECT_EQ(codes[0], 0x10) << to_string(level);  // k0 = 0, k1 = 1
    EXPECT_EQ(codes[1], 0xf8) << to_string(level);  // k2 = 8, k3 = 15
    EXPECT_EQ(codes[2], 0x0f) << to_string(level);  // k4 = 15 (clamped), k5 = 0 (clamped)
    EXPECT_EQ(codes[3], 0xa9) << to_string(level);  // 9, 10
    EXPECT_EQ(codes[4], 0xcb) << to_string(level);  // 11, 12
  }
}

TEST(FastCodec, mixed_widths_pack_lsb_first) {
  FastDesign ds = identity(3, 1, 1.0f);
  ds.bits = {1, 3, 8};
  ds.clip = {1.0f, 4.0f, 128.0f};  // steps 1, 1, 1
  const Codec codec(ds);
  ASSERT_EQ(codec.bytes_per_row(), 2u);  // 12 bits
  const float x[3] = {0.5f, -1.0f, 100.0f};  // k = 1, 3, 228
  for (SimdLevel level : levels()) {
    std::uint8_t codes[2];
    codec.encode(x, 1, codes, level);
    const unsigned stream = codes[0] | (codes[1] << 8);
    EXPECT_EQ(stream & 1u, 1u);
    EXPECT_EQ((stream >> 1) & 7u, 3u);
    EXPECT_EQ((stream >> 4) & 255u, 228u);
  }
}

TEST(FastCodec, boundary_goes_to_the_upper_cell_and_decode_is_mid_rise) {
  const Codec codec(identity(1, 2, 1.0f));  // step 0.5: boundaries -0.5, 0, 0.5
  for (SimdLevel level : levels()) {
    for (auto [y, k] : {std::pair{-0.5f, 1}, {0.0f, 2}, {0.5f, 3}, {1.0f, 3}, {-1.0f, 0}}) {
      std::uint8_t code;
      codec.encode(&y, 1, &code, level);
      EXPECT_EQ(code, k) << y;
      float back;
      codec.decode(&code, 1, &back, level);
      EXPECT_EQ(back, -1.0f + (k + 0.5f) * 0.5f);
    }
  }
}

TEST(FastCodec, forcing_avx2_runs_the_avx2_kernel) {
  DPQ_SKIP_WITHOUT_AVX2();
  const Codec codec(identity(64, 4, 1.0f));
  std::vector<float> x(64 * 3, 0.25f);
  std::vector<std::uint8_t> codes(codec.bytes_per_row() * 3);
  const auto before = kernel_calls(SimdLevel::avx2);
  const auto scalar_before = kernel_calls(SimdLevel::scalar);
  codec.encode(x.data(), 3, codes.data(), SimdLevel::avx2);
  codec.decode(codes.data(), 3, x.data(), SimdLevel::avx2);
  EXPECT_EQ(kernel_calls(SimdLevel::avx2), before + 2);
  EXPECT_EQ(kernel_calls(SimdLevel::scalar), scalar_before);
}

TEST(FastDispatch, the_default_level_is_resolved_once_from_DPQ_SIMD) {
  // ctest runs this test three times: without DPQ_SIMD (the detected level), with DPQ_SIMD=scalar and
  // with DPQ_SIMD=sse9 (an error on every call that needs the default, never a silent fallback).
  const char* expect = std::getenv("DPQ_EXPECT_DEFAULT_SIMD");
  const std::string want = expect ? expect : "";
  if (want == "error") {
    EXPECT_THROW(default_simd(), dpq::Error);
    EXPECT_THROW(select_simd(), dpq::Error);
    EXPECT_EQ(select_simd(SimdLevel::scalar), SimdLevel::scalar);  // an explicit level needs no default
    return;
  }
  const SimdLevel level = want.empty() ? detected_simd() : parse_simd_level(want);
  EXPECT_EQ(default_simd(), level);
  EXPECT_EQ(select_simd(), level);
  EXPECT_EQ(select_simd(SimdLevel::scalar), SimdLevel::scalar);  // the API override wins
  // Resolved once: a later change of the environment does not move it.
  ::setenv("DPQ_SIMD", level == SimdLevel::scalar && detected_simd() != SimdLevel::scalar ? "avx2" : "scalar", 1);
  EXPECT_EQ(default_simd(), level);
  // The default path really runs that level's kernels: an eigenbasis codec's rotation is a kernel every
  // level has (the quantizer of the avx512 level is the AVX2 one).
  const Codec codec(eigen_design_16());
  std::vector<float> x(16, 0.5f);
  std::vector<std::uint8_t> codes(codec.bytes_per_row());
  const auto before = kernel_calls(level);
  codec.encode(x.data(), 1, codes.data());
  // The rotation and the quantizer at scalar and avx2; at avx512 its own rotation only.
  EXPECT_EQ(kernel_calls(level), before + (level == SimdLevel::avx512 ? 1 : 2));
}

// A second opinion on the CPU (avx2_skip.h): where the machine has AVX2 + FMA (and AVX-512) the
// detector must say so, and the default path (no override: what the CLI and the pipeline run) must use
// the best level.
TEST(FastDispatch, the_detector_finds_the_best_level_the_cpu_has) {
  DPQ_SKIP_WITHOUT_AVX2();
  const SimdLevel best = testing::cpu_reports_avx512() ? SimdLevel::avx512 : SimdLevel::avx2;
  EXPECT_EQ(detected_simd(), best);
  if (!std::getenv("DPQ_SIMD")) {
    EXPECT_EQ(default_simd(), best);
    const Codec plain(identity(16, 4, 1.0f));
    std::vector<float> x(16, 0.25f);
    std::vector<std::uint8_t> codes(plain.bytes_per_row());
    const auto before = kernel_calls(SimdLevel::avx2);
    plain.encode(x.data(), 1, codes.data());  // no override: what the CLI and the pipeline run
    EXPECT_EQ(kernel_calls(SimdLevel::avx2), before + 1);  // the quantizer: AVX2 at both levels
    const Codec eigen(eigen_design_16());
    const auto before_best = kernel_calls(best);
    eigen.encode(x.data(), 1, codes.data());
    // The rotation is the best level's own kernel; the quantizer counts as avx2 at both levels.
    EXPECT_EQ(kernel_calls(best), before_best + (best == SimdLevel::avx512 ? 1 : 2));
  }
}

// Forcing avx512 runs its own kernels where it has them (the matrix kernel: the eigenbasis rotation and
// the QJL projections; PQ scoring) and never the scalar ones.
TEST(FastDispatch, forcing_avx512_runs_the_avx512_kernels) {
  DPQ_SKIP_WITHOUT_AVX512();
  const auto scalar_before = kernel_calls(SimdLevel::scalar);
  const Codec eigen(eigen_design_16());
  std::vector<float> x(16 * 5, 0.25f), back(x.size());
  std::vector<std::uint8_t> codes(eigen.bytes_per_row() * 5);
  auto before = kernel_calls(SimdLevel::avx512);
  eigen.encode(x.data(), 5, codes.data(), SimdLevel::avx512);
  eigen.decode(codes.data(), 5, back.data(), SimdLevel::avx512);
  EXPECT_EQ(kernel_calls(SimdLevel::avx512), before + 2);  // the two rotations (quantize and unpack: AVX2)
  {  // Part A's own AVX-512 kernels: d = 64, 128 at 2, 4 and 8 bits; any other design is AVX2's.
    for (const auto& [d, b, own] : std::vector<std::tuple<int, int, bool>>{{128, 4, true}, {64, 8, true}, {128, 2, true}, {128, 3, false}, {96, 4, false}}) {
      const Codec plain(identity(d, b, 1.0f));
      std::vector<float> row(static_cast<std::size_t>(d), 0.25f);
      std::vector<std::uint8_t> c(plain.bytes_per_row());
      const auto own_before = kernel_calls(SimdLevel::avx512), avx2_before = kernel_calls(SimdLevel::avx2);
      plain.encode(row.data(), 1, c.data(), SimdLevel::avx512);
      plain.decode(c.data(), 1, row.data(), SimdLevel::avx512);  // unpack+dequantize: the same designs
      EXPECT_EQ(kernel_calls(SimdLevel::avx512), own_before + (own ? 2 : 0)) << "d = " << d << ", b = " << b;
      EXPECT_EQ(kernel_calls(SimdLevel::avx2), avx2_before + (own ? 0 : 2)) << "d = " << d << ", b = " << b;
    }
  }
  const QjlSketch sk(16, 24, 3);
  std::vector<std::uint8_t> rec(sk.bytes_per_vector() * 5);
  before = kernel_calls(SimdLevel::avx512);
  sk.encode(x.data(), 5, rec.data(), SimdLevel::avx512);
  sk.reconstruct_strided(rec.data(), 5, sk.bytes_per_vector(), back.data(), SimdLevel::avx512);
  EXPECT_EQ(kernel_calls(SimdLevel::avx512), before + 4);  // projection + sign packing, sign unpacking + S^T s
  std::vector<float> scores(5);
  before = kernel_calls(SimdLevel::avx512);
  sk.scores(rec.data(), 5, sk.bytes_per_vector(), sk.project(x.data(), SimdLevel::avx512), scores.data(), SimdLevel::avx512);
  EXPECT_EQ(kernel_calls(SimdLevel::avx512), before + 2);  // the query's projection and the scores
  const TurboCodec turbo(16, 3, ScalarCodebook::from_centroids({-0.6f, -0.4f, -0.2f, -0.05f, 0.05f, 0.2f, 0.4f, 0.6f}), {4});
  std::vector<std::uint8_t> trec(turbo.bytes_per_vector() * 5);
  before = kernel_calls(SimdLevel::avx512);
  const auto avx2_before = kernel_calls(SimdLevel::avx2);
  turbo.encode(x.data(), 5, trec.data(), SimdLevel::avx512);
  turbo.decode(trec.data(), 5, back.data(), SimdLevel::avx512);
  EXPECT_EQ(kernel_calls(SimdLevel::avx512), before + 1);  // the encoder is avx512's own
  EXPECT_EQ(kernel_calls(SimdLevel::avx2), avx2_before + 1);  // the decoder at d = 16 is the AVX2 one
  EXPECT_EQ(kernel_calls(SimdLevel::scalar), scalar_before);
  {  // d = 32..256 at 2, 3, 4 bits: the decoder is avx512's own too
    const TurboCodec turbo32(32, 3, ScalarCodebook::from_centroids({-0.6f, -0.4f, -0.2f, -0.05f, 0.05f, 0.2f, 0.4f, 0.6f}), {4});
    std::vector<float> x32(32 * 5, 0.25f), back32(32 * 5);
    std::vector<std::uint8_t> rec32(turbo32.bytes_per_vector() * 5);
    const auto own_before = kernel_calls(SimdLevel::avx512), avx2_before32 = kernel_calls(SimdLevel::avx2);
    turbo32.encode(x32.data(), 5, rec32.data(), SimdLevel::avx512);
    turbo32.decode(rec32.data(), 5, back32.data(), SimdLevel::avx512);
    EXPECT_EQ(kernel_calls(SimdLevel::avx512), own_before + 2);
    EXPECT_EQ(kernel_calls(SimdLevel::avx2), avx2_before32);
  }
}

TEST(FastDispatch, level_names_parse_and_unknown_ones_are_errors) {
  EXPECT_EQ(parse_simd_level("scalar"), SimdLevel::scalar);
  EXPECT_EQ(parse_simd_level("avx2"), SimdLevel::avx2);
  EXPECT_EQ(parse_simd_level("avx512"), SimdLevel::avx512);
  EXPECT_NE(error_of([] { parse_simd_level("sse9"); }).find("'sse9' is not one of scalar, avx2, avx512"), std::string::npos);
  if (detected_simd() != SimdLevel::avx512) {
    EXPECT_THROW(select_simd(SimdLevel::avx512), dpq::Error);
  }
  if (detected_simd() == SimdLevel::scalar) {
    EXPECT_THROW(select_simd(SimdLevel::avx2), dpq::Error);
  }
}

// D4's reconstruction r^ = sqrt(pi/2)/m ||r|| S^T sign(S r), against the same formula in double from the
// sketch matrix itself (not from the record: the signs and the norm are recomputed), and <q, r^> against
// the estimator. The float error is bounded by gamma_{m+4} (m products summed, the scale, the fp32
// norm) times sqrt(pi/2)/m ||r|| sum_i |S_ij|; a wrong constant (1 instead of sqrt(pi/2): -20 %) is far
// outside it.
TEST(D4, qjl_reconstruction_is_the_formula_with_sqrt_pi_over_2) {
  const int d = 16, m = 24;
  const QjlSketch sk(d, m, 99);
  std::mt19937_64 rng(5);
  std::normal_distribution<float> normal;
  std::vector<float> r(d), q(d);
  for (auto& v : r) v = normal(rng);
  for (auto& v : q) v = normal(rng);
  std::vector<std::uint8_t> rec(sk.bytes_per_vector());
  sk.encode(r.data(), 1, rec.data());
  std::vector<float> got(d);
  sk.reconstruct(rec.data(), got.data());
  const std::vector<float>& S = sk.matrix();
  double norm = 0;
  for (float v : r) norm += static_cast<double>(v) * v;
  norm = std::sqrt(norm);
  std::vector<double> sign(m);
  for (int i = 0; i < m; ++i) {
    double p = 0;
    for (int j = 0; j < d; ++j) p += static_cast<double>(S[i * d + j]) * r[j];
    ASSERT_GT(std::abs(p), 1e-3) << "a sign too close to 0 for this check";
    sign[i] = p >= 0 ? 1 : -1;
  }
  const double c = std::sqrt(M_PI / 2) / m * norm, gamma = (m + 4) * std::ldexp(1.0, -24) / (1 - (m + 4) * std::ldexp(1.0, -24));
  double dot = 0, dot_bound = 0;
  for (int j = 0; j < d; ++j) {
    double e = 0, mag = 0;
    for (int i = 0; i < m; ++i) {
      e += sign[i] * S[i * d + j];
      mag += std::abs(S[i * d + j]);
    }
    EXPECT_LE(std::abs(got[j] - c * e), gamma * c * mag) << "coordinate " << j;
    dot += static_cast<double>(q[j]) * got[j];
    dot_bound += std::abs(q[j]) * c * mag;
  }
  // The estimate from the record is the same inner product (up to the same float rounding, twice).
  EXPECT_NEAR(sk.estimate(rec.data(), sk.project(q.data())), dot, 4 * gamma * dot_bound);
}

// D2 end to end: decode(encode(x)) against theory, at every SIMD level. With the shipped Lloyd-Max
// codebook of the sphere marginal, E ||x - x^||^2 / ||x||^2 = d * mse_per_coordinate (the rotation makes
// every coordinate of x/||x|| the sphere marginal). N = 4000 Gaussian vectors; the tolerance is 5
// standard errors of the sample mean, measured from the same sample, plus 1e-5 relative for the float
// rounding of the shipped centroids (each off by <= 2^-24 |c|: ~1e-6 relative in the MSE). A decode scaled by 1/d instead of 1/sqrt(d) gives a
// relative error near 1; a wrong codebook scale moves it by far more than 5 SE.
TEST(D2, turbo_decode_reconstructs_to_the_codebook_distortion) {
  const int d = 128, bits = 4;
  const auto shipped = shipped_sphere_codebook(d, bits);
  ASSERT_TRUE(shipped);
  const TurboCodec codec(d, bits, shipped->codebook, {7});
  const std::size_t n = 4000;
  std::mt19937_64 rng(11);
  std::normal_distribution<float> normal;
  std::vector<float> x(n * d), y(n * d);
  for (auto& v : x) v = 3 * normal(rng);
  std::vector<std::uint8_t> rec(n * codec.bytes_per_vector());
  for (SimdLevel level : levels()) {
    codec.encode(x.data(), n, rec.data(), level);
    codec.decode(rec.data(), n, y.data(), level);
    double sum = 0, sum2 = 0;
    for (std::size_t r = 0; r < n; ++r) {
      double e = 0, nx = 0;
      for (int i = 0; i < d; ++i) {
        const double a = x[r * d + i], b = y[r * d + i];
        e += (a - b) * (a - b);
        nx += a * a;
      }
      sum += e / nx;
      sum2 += (e / nx) * (e / nx);
    }
    const double mean = sum / n, se = std::sqrt((sum2 / n - mean * mean) / (n - 1));
    const double theory = d * shipped->mse_per_coordinate;
    EXPECT_NEAR(mean, theory, 5 * se + 1e-5 * theory) << to_string(level) << ": relative MSE " << mean << " vs " << theory;
  }
}

TEST(E2, fast_bad_input_is_an_error) {
  EXPECT_NE(error_of([] { Codec c(identity(0, 4, 1.0f)); }).find("d = 0"), std::string::npos);
  EXPECT_NE(error_of([] { Codec c(identity(4, 9, 1.0f)); }).find("bits[0] = 9 is outside 1..8"), std::string::npos);
  EXPECT_NE(error_of([] { Codec c(identity(4, 0, 1.0f)); }).find("outside 1..8"), std::string::npos);
  EXPECT_NE(error_of([] { Codec c(identity(4, 4, 0.0f)); }).find("clip[0]"), std::string::npos);
  EXPECT_NE(error_of([] { Codec c(identity(4, 4, -1.0f)); }).find("clip[0]"), std::string::npos);
  EXPECT_NE(error_of([] {
              FastDesign ds = identity(4, 4, 1.0f);
              ds.basis.assign(15, 0.0f);
              Codec c(ds);
            }).find("basis has 15 entries"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              FastDesign ds = identity(2, 4, 1.0f);
              ds.mean = {0.0f, std::numeric_limits<float>::quiet_NaN()};
              Codec c(ds);
            }).find("mean[1]"),
            std::string::npos);
  for (SimdLevel level : levels()) {
    for (bool rotated : {false, true}) {
      FastDesign ds = identity(20, 4, 1.0f);
      if (rotated) {
        ds.basis.assign(400, 0.0f);
        for (int i = 0; i < 20; ++i) ds.basis[i * 20 + i] = 1.0f;
      }
      const Codec codec(ds);
      std::vector<float> x(20 * 5, 0.0f);
      x[3 * 20 + 17] = std::numeric_limits<float>::quiet_NaN();
      std::vector<std::uint8_t> codes(codec.bytes_per_row() * 5);
      EXPECT_NE(error_of([&] { codec.encode(x.data(), 5, codes.data(), level); }).find("NaN"), std::string::npos);
      EXPECT_NE(error_of([&] { codec.encode(x.data(), 5, codes.data(), level); }).find("row 3, column 17"),
                std::string::npos)
          << error_of([&] { codec.encode(x.data(), 5, codes.data(), level); });
      x[3 * 20 + 17] = std::numeric_limits<float>::infinity();
      EXPECT_NE(error_of([&] { codec.encode(x.data(), 5, codes.data(), level); }).find("Inf"), std::string::npos);
      EXPECT_NE(error_of([&] { codec.encode(nullptr, 5, codes.data(), level); }).find("null"), std::string::npos);
      EXPECT_NE(error_of([&] { codec.decode(codes.data(), 5, nullptr, level); }).find("null"), std::string::npos);
    }
  }
}

// Two non-finite values in one row: every level names the row's first, also when the later one sits in
// the scalar tail (d % 8) that a kernel reaches after its vector lanes. d = 64 and 128 at 4 and 8 bits
// are AVX-512's own kernel.
TEST(E2, fast_encode_names_the_first_non_finite_value_of_a_row_at_every_level) {
  for (SimdLevel level : levels())
    for (const auto& [d, b] : std::vector<std::pair<int, int>>{{20, 4}, {64, 2}, {64, 4}, {64, 8}, {128, 2}, {128, 4}, {128, 8}, {130, 4}, {130, 3}}) {
      const Codec codec(identity(d, b, 1.0f));
      std::vector<float> x(static_cast<std::size_t>(d) * 5, 0.25f);
      x[3 * static_cast<std::size_t>(d) + 5] = std::numeric_limits<float>::quiet_NaN();
      x[3 * static_cast<std::size_t>(d) + static_cast<std::size_t>(d) - 1] = std::numeric_limits<float>::infinity();
      x[4 * static_cast<std::size_t>(d)] = std::numeric_limits<float>::infinity();
      std::vector<std::uint8_t> codes(codec.bytes_per_row() * 5);
      const std::string e = error_of([&] { codec.encode(x.data(), 5, codes.data(), level); });
      EXPECT_NE(e.find("row 3, column 5"), std::string::npos) << to_string(level) << " d = " << d << " b = " << b << ": " << e;
    }
}

TEST(E2, fast_rows_whose_float_arithmetic_overflows_are_refused_not_coded) {
  // With a basis, y = U^T x of values near FLT_MAX overflows to Inf or NaN: refused, naming the row.
  FastDesign ds = identity(4, 4, 1.0f);
  ds.basis = {0.6f, -0.8f, 0, 0, 0.8f, 0.6f, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
  const Codec rotated(ds);
  std::vector<float> x(4 * 3, 0.5f);
  x[2 * 4 + 1] = 3e38f;
  std::vector<std::uint8_t> codes(rotated.bytes_per_row() * 3);
  for (SimdLevel level : levels())
    EXPECT_NE(error_of([&] { rotated.encode(x.data(), 3, codes.data(), level); }).find("row 2, column 1"), std::string::npos);
  // The identity basis has no such sum: the value clamps to the top cell.
  const Codec plain(identity(4, 4, 1.0f));
  plain.encode(x.data(), 3, codes.data());
  EXPECT_EQ(codes[2 * plain.bytes_per_row()] >> 4, 15);
  // The turbo codec refuses a row whose squared norm overflows float32 (it stored Inf before).
  const dpq::fast::TurboCodec turbo(8, 2, dpq::fast::ScalarCodebook::from_centroids({-0.6f, -0.2f, 0.2f, 0.6f}));
  std::vector<float> t(8 * 2, 1.0f);
  for (int i = 8; i < 16; ++i) t[static_cast<std::size_t>(i)] = 1e20f;
  std::vector<std::uint8_t> rec(turbo.bytes_per_vector() * 2);
  for (SimdLevel level : levels())
    EXPECT_NE(error_of([&] { turbo.encode(t.data(), 2, rec.data(), level); }).find("row 1: ||x||^2 overflows float32"), std::string::npos);
}

// ---- Product quantizer ----

// Random rows with many exact ties: values on a coarse dyadic grid, centroids duplicated.
std::vector<float> grid_rows(std::size_t n, int d, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<float> x(n * d);
  for (float& v : x) v = static_cast<float>(static_cast<int>(rng() % 9) - 4) * 0.25f;
  return x;
}

TEST(FastPq, every_level_gives_the_same_codes_tables_and_training) {
  for (int bits : {1, 3, 8})
    for (int m : {1, 4, 12}) {
      const int d = 24;
      ProductQuantizer ref(d, m, bits);
      const std::size_t n = 700;
      const auto x = grid_rows(n, d, 7 + bits);
      ref.train(x.data(), n, {}, SimdLevel::scalar);
      for (SimdLevel level : levels()) {
        ProductQuantizer pq(d, m, bits);
        pq.train(x.data(), n, {}, level);
        EXPECT_EQ(pq.centroids(), ref.centroids()) << to_string(level) << " training, bits " << bits << ", M " << m;
        std::vector<std::uint8_t> a(n * m), b(n * m);
        ref.encode(x.data(), n, a.data(), SimdLevel::scalar);
        pq.encode(x.data(), n, b.data(), level);
        EXPECT_EQ(a, b) << to_string(level);
        std::vector<float> ta(m * (1 << bits)), tb(ta.size());
        for (bool ip : {false, true}) {
          ip ? ref.adc_table_ip(x.data(), ta.data(), SimdLevel::scalar) : ref.adc_table_l2(x.data(), ta.data(), SimdLevel::scalar);
          ip ? pq.adc_table_ip(x.data(), tb.data(), level) : pq.adc_table_l2(x.data(), tb.data(), level);
          EXPECT_EQ(ta, tb) << to_string(level) << (ip ? " inner product" : " L2");
        }
      }
    }
}

TEST(FastPq, ties_go_to_the_lowest_index_and_decode_copies_centroids) {
  // One block of 2 dims, 8 centroids: 0 and 5 identical, 3 and 6 identical.
  ProductQuantizer pq(2, 1, 3);
  std::vector<float> c = {0, 0, 4, 4, -4, 4, 1, 1, 8, 8, 0, 0, 1, 1, -8, -8};
  pq.set_centroids(c);
  const std::vector<float> x = {0, 0, 1, 1, 0.5f, 0.5f, 100, 100};  // 0.5,0.5: equidistant from 0 and 3
  for (SimdLevel level : levels()) {
    std::vector<std::uint8_t> codes(4);
    pq.encode(x.data(), 4, codes.data(), level);
    EXPECT_EQ(codes, (std::vector<std::uint8_t>{0, 3, 0, 4})) << to_string(level);
    std::vector<float> out(8);
    pq.decode(codes.data(), 4, out.data());
    EXPECT_EQ(out, (std::vector<float>{0, 0, 1, 1, 0, 0, 8, 8}));
  }
  // ADC: the L2 table entry of a code is the squared distance; the inner-product entry the dot product.
  std::vector<float> t(8);
  pq.adc_table_l2(x.data() + 2, t.data());
  EXPECT_EQ(t[2], 25.0f + 9.0f);  // query (1, 1), centroid (-4, 4)
  const std::uint8_t code = 2;
  EXPECT_EQ(pq.adc_lookup(t.data(), &code), 34.0f);
  pq.adc_table_ip(x.data() + 2, t.data());
  EXPECT_EQ(t[2], 0.0f);
  EXPECT_EQ(t[4], 16.0f);
}

TEST(FastPq, forcing_avx2_runs_the_avx2_kernel) {
  DPQ_SKIP_WITHOUT_AVX2();
  ProductQuantizer pq(8, 2, 4);
  const auto x = grid_rows(64, 8, 3);
  pq.train(x.data(), 64);
  const auto before = kernel_calls(SimdLevel::avx2);
  std::vector<std::uint8_t> codes(64 * 2);
  pq.encode(x.data(), 64, codes.data(), SimdLevel::avx2);
  EXPECT_GT(kernel_calls(SimdLevel::avx2), before);
}

TEST(E2, fast_pq_bad_input_is_an_error) {
  EXPECT_NE(error_of([] { ProductQuantizer(10, 3, 8); }).find("not divisible by M = 3"), std::string::npos);
  EXPECT_NE(error_of([] { ProductQuantizer(8, 2, 9); }).find("bits = 9"), std::string::npos);
  EXPECT_NE(error_of([] { ProductQuantizer(0, 1, 8); }).find("dimension 0"), std::string::npos);
  ProductQuantizer pq(4, 2, 2);
  std::vector<float> x(4 * 8, 1.0f);
  std::vector<std::uint8_t> codes(16);
  EXPECT_NE(error_of([&] { pq.encode(x.data(), 8, codes.data()); }).find("no centroids yet"), std::string::npos);
  EXPECT_NE(error_of([&] { pq.train(x.data(), 3); }).find("3 rows, but K = 2^2 = 4"), std::string::npos);
  x[4 * 5 + 2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_NE(error_of([&] { pq.train(x.data(), 8); }).find("at row 5, column 2"), std::string::npos);
  x[4 * 5 + 2] = 1.0f;
  pq.train(x.data(), 8);
  x[4 * 6 + 1] = std::numeric_limits<float>::infinity();
  EXPECT_NE(error_of([&] { pq.encode(x.data(), 8, codes.data()); }).find("at row 6, column 1"), std::string::npos);
  x[4 * 6 + 1] = 3e38f;  // finite, but its squared distances overflow float
  for (SimdLevel level : levels())
    EXPECT_NE(error_of([&] { pq.encode(x.data(), 8, codes.data(), level); }).find("row 6, block 0: squared distances overflow"),
              std::string::npos)
        << to_string(level);
  EXPECT_NE(error_of([&] { pq.set_centroids(std::vector<float>(3)); }).find("3 centroid values given"), std::string::npos);
}

}  // namespace
}  // namespace dpq::fast
