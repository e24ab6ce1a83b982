// The fast path's streaming kernels (batches beyond the caches: prefetch, line-spliced loads,
// non-temporal line stores) and the turbo encoder's cell-table index, each against the scalar contract
// bit for bit. AVX-512 only: on a CPU without it these skip, naming why (avx2_skip.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "deltapq/fast/codec.h"
#include "deltapq/fast/sphere_codebooks.h"
#include "deltapq/fast/turbo_codec.h"
#include "avx2_skip.h"
#include "fast_designs.h"
#include "test_files.h"
#include "turbo_kernels.h"  // the test seam turbo_index_avx512

namespace dpq::fast {
namespace {

using dpq::testing::error_of;
using dpq::testing::identity;

// E1: a batch large enough to be a stream (codes >= kStreamingCodeBytes) goes through the AVX-512
// kernel's prefetched, line-spliced loads and non-temporal line stores: the same codes as the scalar
// contract for every alignment of the rows (k floats past a line) and of the codes (4-byte steps, and
// 1 byte, which falls back to ordinary stores), row strides with padding, row counts that leave a
// partial 64-byte chunk (16- and 32-byte rows), and nothing written before or after the codes.
TEST(E1, streamed_quantize_is_the_scalar_contract_at_any_alignment) {
  DPQ_SKIP_WITHOUT_AVX512();
  std::mt19937 rng(7);
  std::normal_distribution<float> gauss(0.0f, 0.6f);
  constexpr std::size_t kGuard = 64;
  constexpr std::uint8_t kPattern = 0x5a;
  for (const auto& [d, b] : std::vector<std::pair<std::size_t, int>>{{64, 2}, {128, 2}, {64, 4}, {64, 8}, {128, 4}, {128, 8}}) {
    const Codec codec(identity(d, b, 1.0f));
    const KernelConstants& kd = codec.kernel();
    const std::size_t n = kStreamingCodeBytes / codec.bytes_per_row() + 3;  // not a multiple of the rows per 64-byte chunk
    for (const std::size_t stride : {d, d + 16, d + 5}) {
      std::vector<float> y(15 + n * stride);
      for (float& v : y) v = gauss(rng);
      for (const std::size_t row_offset : {0, 1, 5, 15})
        for (const std::size_t code_offset : {0, 4, 8, 60, 1}) {
          std::vector<std::uint8_t> want(n * codec.bytes_per_row());
          quantize_pack(kd, y.data() + row_offset, n, stride, want.data(), SimdLevel::scalar);
          for (const SimdLevel level : {SimdLevel::avx2, SimdLevel::avx512}) {  // AVX2 prefetches a stream too
            std::vector<std::uint8_t> got(code_offset + want.size() + kGuard, kPattern);
            quantize_pack(kd, y.data() + row_offset, n, stride, got.data() + code_offset, level);
            const std::string where = std::string(to_string(level)) + ", d = " + std::to_string(d) + ", b = " + std::to_string(b) +
                                      ", stride " + std::to_string(stride) + ", rows +" + std::to_string(row_offset) + " floats, codes +" +
                                      std::to_string(code_offset) + " bytes";
            ASSERT_TRUE(std::equal(want.begin(), want.end(), got.begin() + static_cast<std::ptrdiff_t>(code_offset))) << where;
            for (std::size_t g = 0; g < code_offset; ++g) ASSERT_EQ(got[g], kPattern) << where;
            for (std::size_t g = 0; g < kGuard; ++g) ASSERT_EQ(got[code_offset + want.size() + g], kPattern) << where;
          }
        }
    }
    // A non-finite value in the first row, a streamed middle row (either of a pair) or the last row:
    // named as the scalar contract names it.
    std::vector<float> y(1 + n * d, 0.25f);
    std::vector<std::uint8_t> codes(n * codec.bytes_per_row());
    for (const std::size_t bad_row : {std::size_t{0}, n / 2, n / 2 + 1, n - 1}) {
      std::vector<float> z = y;
      z[1 + bad_row * d + 7] = std::numeric_limits<float>::infinity();
      z[1 + bad_row * d + d - 1] = std::numeric_limits<float>::quiet_NaN();
      const std::string want = error_of([&] { quantize_pack(kd, z.data() + 1, n, d, codes.data(), SimdLevel::scalar); });
      EXPECT_NE(want.find("Inf at row " + std::to_string(bad_row) + ", column 7"), std::string::npos) << want;
      EXPECT_EQ(error_of([&] { quantize_pack(kd, z.data() + 1, n, d, codes.data(), SimdLevel::avx512); }), want);
    }
  }
}

// E1: unpack+dequantize of a stream (AVX-512: constants in registers, whole output lines by
// non-temporal stores at any 4-byte offset) gives the scalar contract's floats bit for bit, at every
// output alignment, with padded strides (ordinary stores) and nothing written around the rows.
TEST(E1, streamed_dequantize_is_the_scalar_contract_at_any_alignment) {
  DPQ_SKIP_WITHOUT_AVX512();
  std::mt19937 rng(5);
  const float kPattern = std::bit_cast<float>(0x7fa5a5a5u);  // a NaN no kernel writes
  for (const auto& [d, b] : std::vector<std::pair<std::size_t, int>>{{64, 2}, {128, 2}, {64, 4}, {128, 4}, {64, 8}, {128, 8}}) {
    const Codec codec(identity(d, b, 1.0f));
    const KernelConstants& kd = codec.kernel();
    const std::size_t n = kStreamingCodeBytes / codec.bytes_per_row() + 3;
    std::vector<std::uint8_t> codes(n * codec.bytes_per_row());
    for (auto& c : codes) c = static_cast<std::uint8_t>(rng());
    for (const std::size_t stride : {d, d + 16}) {
      std::vector<float> want(n * stride, 0.0f);
      unpack_dequantize(kd, codes.data(), n, want.data(), stride, SimdLevel::scalar);
      for (const std::size_t offset : {0, 1, 5, 15})
        for (const SimdLevel level : {SimdLevel::avx2, SimdLevel::avx512}) {
          std::vector<float> got(offset + n * stride + 16, kPattern);
          unpack_dequantize(kd, codes.data(), n, got.data() + offset, stride, level);
          const std::string where = std::string(to_string(level)) + ", d = " + std::to_string(d) + ", b = " + std::to_string(b) +
                                    ", stride " + std::to_string(stride) + ", output +" + std::to_string(offset) + " floats";
          for (std::size_t g = 0; g < offset; ++g) ASSERT_EQ(std::bit_cast<std::uint32_t>(got[g]), 0x7fa5a5a5u) << where;
          for (std::size_t r = 0; r < n; ++r)
            for (std::size_t i = 0; i < stride; ++i) {
              const std::uint32_t v = std::bit_cast<std::uint32_t>(got[offset + r * stride + i]);
              if (i < d)
                ASSERT_EQ(v, std::bit_cast<std::uint32_t>(want[r * stride + i])) << where << ", row " << r << ", column " << i;
              else
                ASSERT_EQ(v, 0x7fa5a5a5u) << where << ": padding written, row " << r;
            }
          for (std::size_t g = 0; g < 16; ++g) ASSERT_EQ(std::bit_cast<std::uint32_t>(got[offset + n * stride + g]), 0x7fa5a5a5u) << where;
        }
    }
  }
}

// D2: a turbo decode large enough to stream (AVX-512: whole output lines by non-temporal stores at any
// 4-byte offset) gives the scalar contract's floats bit for bit, with nothing written around them.
TEST(D2, streamed_turbo_decode_is_the_scalar_contract_at_any_alignment) {
  DPQ_SKIP_WITHOUT_AVX512();
  constexpr std::size_t d = 128, n = (std::size_t{8} << 20) / (d * sizeof(float)) + 3;
  std::mt19937 rng(3);
  std::normal_distribution<float> gauss;
  std::vector<float> x(n * d);
  for (float& v : x) v = gauss(rng);
  for (const int bits : {2, 3, 4}) {
    const TurboCodec codec(static_cast<int>(d), bits, shipped_sphere_codebook(static_cast<int>(d), bits).value().codebook, {9});
    std::vector<std::uint8_t> rec(n * codec.bytes_per_vector());
    codec.encode(x.data(), n, rec.data(), SimdLevel::scalar);
    std::vector<float> want(n * d);
    codec.decode(rec.data(), n, want.data(), SimdLevel::scalar);
    for (const std::size_t offset : {0, 1, 5, 15}) {
      std::vector<float> got(offset + n * d + 16, std::bit_cast<float>(0x7fa5a5a5u));
      codec.decode(rec.data(), n, got.data() + offset, SimdLevel::avx512);
      const std::string where = "b = " + std::to_string(bits) + ", output +" + std::to_string(offset) + " floats";
      for (std::size_t g = 0; g < offset; ++g) ASSERT_EQ(std::bit_cast<std::uint32_t>(got[g]), 0x7fa5a5a5u) << where;
      ASSERT_EQ(std::memcmp(got.data() + offset, want.data(), want.size() * sizeof(float)), 0) << where;
      for (std::size_t g = 0; g < 16; ++g) ASSERT_EQ(std::bit_cast<std::uint32_t>(got[offset + n * d + g]), 0x7fa5a5a5u) << where;
    }
  }
}

// D2: the AVX-512 turbo encoder's cell-table index (b = 3, 4) is the contract's count of thresholds <= y
// for every float: each threshold and its neighbours 4 ulps either side (ties go up), a dense random
// sweep of the thresholds' range and beyond, +-0, +-inf, NaN (count 0), +-FLT_MAX and denormals. The
// shipped sphere codebooks must take the table (else this would test the binary search only); a
// codebook with two thresholds in one cell must fall back and still be right.
TEST(D2, turbo_cell_index_is_the_count_of_thresholds_below) {
  DPQ_SKIP_WITHOUT_AVX512();
  std::mt19937 rng(11);
  const auto check = [&](const std::vector<float>& thr, int bits, bool want_table, const std::string& what) {
    std::vector<float> y = {0.0f, -0.0f, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(),
                            std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::denorm_min(), 1e30f, -1e30f};
    for (float t : thr) {
      float up = t, down = t;
      y.push_back(t);
      for (int k = 0; k < 4; ++k) {
        up = std::nextafter(up, std::numeric_limits<float>::infinity());
        down = std::nextafter(down, -std::numeric_limits<float>::infinity());
        y.push_back(up);
        y.push_back(down);
      }
    }
    const float span = thr.back() - thr.front();
    std::uniform_real_distribution<float> sweep(thr.front() - span, thr.back() + span);
    for (int k = 0; k < (1 << 18); ++k) y.push_back(sweep(rng));
    std::vector<std::uint32_t> got(y.size());
    EXPECT_EQ(detail::turbo_index_avx512(thr.data(), bits, y.data(), y.size(), got.data()), want_table) << what;
    for (std::size_t i = 0; i < y.size(); ++i) {
      const auto want = static_cast<std::uint32_t>(std::count_if(thr.begin(), thr.end(), [&](float t) { return t <= y[i]; }));
      ASSERT_EQ(got[i], want) << what << ": y = " << y[i] << " (bits " << std::bit_cast<std::uint32_t>(y[i]) << ")";
    }
  };
  for (const int d : {32, 64, 128, 256})
    for (const int bits : {3, 4}) {
      const auto cb = shipped_sphere_codebook(d, bits);
      ASSERT_TRUE(cb.has_value());
      check(cb->codebook.thresholds, bits, true, "sphere d = " + std::to_string(d) + ", b = " + std::to_string(bits));
    }
  // Two thresholds in one cell: 0 and 0.001 at b = 3; 0.7 and 0.71 at b = 4.
  check({-1.0f, -0.5f, -0.25f, 0.0f, 0.001f, 0.25f, 0.5f}, 3, false, "crowded b = 3");
  std::vector<float> crowded4;
  for (int k = 0; k < 15; ++k) crowded4.push_back(static_cast<float>(k) * 0.1f + (k == 8 ? -0.09f : 0.0f));
  check(crowded4, 4, false, "crowded b = 4");
}

}  // namespace
}  // namespace dpq::fast
