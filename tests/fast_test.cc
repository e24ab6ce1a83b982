// The fast codec: documented layout, dispatch, and bad input (E2).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <cstdlib>
#include <limits>

#include "deltapq/core/error.h"
#include "deltapq/fast/codec.h"
#include "test_files.h"

namespace dpq::fast {
namespace {

using dpq::testing::error_of;

std::vector<SimdLevel> levels() {
  std::vector<SimdLevel> l{SimdLevel::scalar};
  if (detected_simd() == SimdLevel::avx2) l.push_back(SimdLevel::avx2);
  return l;
}

FastDesign identity(std::size_t d, int bits, float clip) {
  FastDesign ds;
  ds.dim = d;
  ds.clip.assign(d, clip);
  ds.bits.assign(d, bits);
  return ds;
}

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
  if (detected_simd() != SimdLevel::avx2) GTEST_SKIP() << "this CPU has no AVX2: the scalar path is all there is";
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

TEST(FastCodec, environment_variable_selects_the_level) {
  ::setenv("DPQ_SIMD", "scalar", 1);
  EXPECT_EQ(select_simd(), SimdLevel::scalar);
  if (detected_simd() == SimdLevel::avx2) {
    ::setenv("DPQ_SIMD", "avx2", 1);
    EXPECT_EQ(select_simd(), SimdLevel::avx2);
    EXPECT_EQ(select_simd(SimdLevel::scalar), SimdLevel::scalar);  // the API override wins
  }
  ::setenv("DPQ_SIMD", "sse9", 1);
  EXPECT_THROW(select_simd(), dpq::Error);
  ::unsetenv("DPQ_SIMD");
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

}  // namespace
}  // namespace dpq::fast
