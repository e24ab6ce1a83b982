// The fast turbo codec: scalar and AVX2 bit-identical; codes equal to the exact Lloyd-Max indices of
// the exactly rotated unit vector except within the derived float bound of a threshold; zero vectors;
// bad input.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <bit>
#include <boost/random/mersenne_twister.hpp>
#include <boost/random/normal_distribution.hpp>
#include <cmath>
#include <cstring>
#include <limits>

#include "deltapq/core/error.h"
#include "deltapq/fast/sphere_codebooks.h"
#include "deltapq/fast/turbo_codec.h"
#include "avx2_skip.h"
#include "support.h"

namespace {
// The shipped codebook (every d the generators draw, 8..4096, is shipped): fast/ only, so the ASan build
// of these properties does not need the application layer.
dpq::fast::ScalarCodebook sphere_codebook(int d, int bits) { return dpq::fast::shipped_sphere_codebook(d, bits).value().codebook; }
}  // namespace

namespace dpq::props {
namespace {

using fast::SimdLevel;
using fast::TurboCodec;

struct TCase {
  int d, bits;
  std::size_t n;
  std::uint64_t seed;
};
void showValue(const TCase& c, std::ostream& os) { os << "{d " << c.d << ", b " << c.bits << ", n " << c.n << "}"; }
rc::Gen<TCase> gen_tcase(int max_log2) {
  return rc::gen::exec([=] {
    return TCase{1 << *rc::gen::inRange(3, max_log2 + 1), *rc::gen::inRange(1, 9),
                 static_cast<std::size_t>(*rc::gen::inRange(1, 12)), *rc::gen::arbitrary<std::uint64_t>()};
  });
}
std::vector<float> data(const TCase& c) {
  boost::random::mt19937_64 rng(c.seed);
  boost::random::normal_distribution<float> normal;
  std::vector<float> x(c.n * static_cast<std::size_t>(c.d));
  const float scale = std::exp(normal(rng) * 3);
  for (auto& v : x) v = scale * normal(rng);
  return x;
}

// On a CPU without AVX2 there is nothing to compare: a clear skip (avx2_skip.h), not a property that
// gives up; where the CPU has AVX2 a detector saying otherwise fails the forced-AVX2 calls.
TEST(D2, turbo_codec_scalar_and_avx2_are_bit_identical) {
  DPQ_SKIP_WITHOUT_AVX2();
  EXPECT_TRUE(rc::check("turbo_codec_scalar_and_avx2_are_bit_identical", [] {
      TCase c = *gen_tcase(12);
      // With the fused QJL stage (m of 0, d/2, d, 2d; d <= 512 to keep S small) and, sometimes, more rows
      // than one of its 64-row blocks.
      const int m = c.d <= 512 ? *rc::gen::element(0, c.d / 2, c.d, 2 * c.d) : 0;
      if (m > 0 && *rc::gen::arbitrary<bool>()) c.n = static_cast<std::size_t>(*rc::gen::inRange(60, 140));
      const TurboCodec codec(c.d, c.bits, sphere_codebook(c.d, c.bits), {c.seed, fast::RotationKind::automatic, m});
      const auto x = data(c);
      const std::size_t off = static_cast<std::size_t>(*rc::gen::inRange(1, 4)), guard = 64, bytes = c.n * codec.bytes_per_vector();
      const std::vector<SimdLevel> lv = testing::cpu_levels();  // scalar, avx2 and, where the CPU has it, avx512
      const std::size_t nl = lv.size();
      std::vector<std::vector<std::uint8_t>> rec(nl);
      std::vector<std::vector<float>> dec(nl);
      std::vector<float> xin(x.size() + off);
      std::memcpy(xin.data() + off, x.data(), x.size() * sizeof(float));
      for (std::size_t k = 0; k < nl; ++k) {
        rec[k].assign(bytes + off + guard, 0xa5);
        dec[k].assign(x.size() + off + guard, std::bit_cast<float>(0xa5a5a5a5u));
        codec.encode(xin.data() + off, c.n, rec[k].data() + off, lv[k]);
        codec.decode(rec[k].data() + off, c.n, dec[k].data() + off, lv[k]);
        for (std::size_t g = 0; g < guard; ++g) RC_ASSERT(rec[k][off + bytes + g] == 0xa5);
        for (std::size_t g = 0; g < guard; ++g) RC_ASSERT(std::bit_cast<std::uint32_t>(dec[k][off + x.size() + g]) == 0xa5a5a5a5u);
      }
      for (std::size_t k = 1; k < nl; ++k) {
        RC_ASSERT(rec[0] == rec[k]);
        RC_ASSERT(std::memcmp(dec[0].data(), dec[k].data(), dec[0].size() * sizeof(float)) == 0);
      }
  }));
}

// Exact rotated unit coordinates y = H D x / (sqrt(d) ||x||) in double (exact enough: d <= 1024 terms
// of floats), the float error bound of the kernel, and the index agreement rule of E1.
std::string index_violation(const TurboCodec& codec, const float* x, int d, int bits, const std::uint8_t* rec) {
  const std::vector<float>& thresholds = codec.codebook().thresholds;
  std::vector<double> y(static_cast<std::size_t>(d));
  double n2 = 0, s1 = 0;
  for (int i = 0; i < d; ++i) {
    y[static_cast<std::size_t>(i)] = static_cast<double>(x[i]) * codec.rotation().signs()[static_cast<std::size_t>(i)];
    n2 += static_cast<double>(x[i]) * x[i];
    s1 += std::fabs(x[i]);
  }
  for (int h = 1; h < d; h *= 2)
    for (int i = 0; i < d; i += 2 * h)
      for (int j = i; j < i + h; ++j) {
        const double a = y[j], b = y[j + h];
        y[j] = a + b;
        y[j + h] = a - b;
      }
  const double u = 0x1p-24, norm = std::sqrt(n2), lg = std::log2(static_cast<double>(d));
  auto gamma = [&](double k) { return k * u / (1 - k * u); };
  for (int i = 0; i < d; ++i) {
    const double yi = y[static_cast<std::size_t>(i)] / (norm * std::sqrt(static_cast<double>(d)));
    // WHT: each output a log2(d)-level sum of +-x_j: gamma_{log2 d} sum |x|; the scale 1/(norm sqrt d)
    // (norm from d-term float sums and a sqrt: gamma_{d+2} relative) and its product: 3 more roundings.
    const double bound = gamma(lg + 3) * s1 / (norm * std::sqrt(static_cast<double>(d))) + gamma(d + 5) * std::fabs(yi);
    int k_ref = 0;
    double nearest = std::numeric_limits<double>::infinity();
    for (std::size_t t = 0; t < thresholds.size(); ++t) {
      const double thf = static_cast<double>(thresholds[t]);  // the codec's float threshold
      k_ref += yi >= thf;
      nearest = std::min(nearest, std::fabs(yi - thf));
    }
    std::uint32_t k = 0;
    for (int bit = 0; bit < bits; ++bit) {
      const std::size_t pos = static_cast<std::size_t>(i) * static_cast<std::size_t>(bits) + static_cast<std::size_t>(bit);
      k |= static_cast<std::uint32_t>((rec[4 + pos / 8] >> (pos % 8)) & 1u) << bit;
    }
    const int diff = std::abs(static_cast<int>(k) - k_ref);
    if (diff > 1 || (diff == 1 && nearest > bound))
      return "coordinate " + std::to_string(i) + ": code " + std::to_string(k) + ", exact " + std::to_string(k_ref) +
             ", distance to a threshold " + std::to_string(nearest) + " (bound " + std::to_string(bound) + ")";
  }
  return "";
}

RC_GTEST_PROP(D2, turbo_codes_agree_with_the_exact_rotation_within_the_bound, ()) {
  const TCase c = *gen_tcase(10);
  const TurboCodec codec(c.d, c.bits, sphere_codebook(c.d, c.bits), {c.seed});
  const auto x = data(c);
  std::vector<std::uint8_t> rec(c.n * codec.bytes_per_vector());
  codec.encode(x.data(), c.n, rec.data());
  for (std::size_t r = 0; r < c.n; ++r)
    RC_ASSERT(index_violation(codec, x.data() + r * c.d, c.d, c.bits, rec.data() + r * codec.bytes_per_vector()) == "");
}

TEST(D2, turbo_index_criterion_catches_a_wrong_sign) {
  EXPECT_TRUE(falsified("codes of another rotation", [] {
    TCase c = *gen_tcase(8);
    c.bits = std::max(c.bits, 3);
    const auto cb = sphere_codebook(c.d, c.bits);
    const TurboCodec codec(c.d, c.bits, cb, {c.seed}), other(c.d, c.bits, cb, {c.seed + 1});
    const auto x = data(c);
    std::vector<std::uint8_t> rec(c.n * codec.bytes_per_vector());
    other.encode(x.data(), c.n, rec.data());
    RC_ASSERT(index_violation(codec, x.data(), c.d, c.bits, rec.data()) == "");
  }));
}

TEST(E2, turbo_codec_zero_vectors_and_bad_input) {
  const int d = 64;
  const TurboCodec codec(d, 4, sphere_codebook(d, 4), {5});
  std::vector<float> x(static_cast<std::size_t>(d) * 3, 1.0f), back(x.size(), 7.0f);
  std::fill(x.begin() + d, x.begin() + 2 * d, 0.0f);  // row 1: zero vector
  std::vector<std::uint8_t> rec(3 * codec.bytes_per_vector());
  for (SimdLevel lv : {SimdLevel::scalar, fast::detected_simd()}) {
    codec.encode(x.data(), 3, rec.data(), lv);
    codec.decode(rec.data(), 3, back.data(), lv);
    for (int i = 0; i < d; ++i) EXPECT_EQ(back[static_cast<std::size_t>(d + i)], 0.0f);
    for (float v : back) EXPECT_TRUE(std::isfinite(v));
    x[static_cast<std::size_t>(2 * d + 5)] = std::numeric_limits<float>::quiet_NaN();
    try {
      codec.encode(x.data(), 3, rec.data(), lv);
      ADD_FAILURE() << "no error for NaN";
    } catch (const dpq::Error& e) {
      EXPECT_NE(std::string(e.what()).find("row 2, column 5"), std::string::npos) << e.what();
    }
    x[static_cast<std::size_t>(2 * d + 5)] = 1.0f;
  }
  // Every level, d = 64 and 128 (rows in registers at AVX-512): an infinity is named like a NaN, and a
  // finite row whose squares overflow (its norm is +Inf) is coded exactly as the scalar contract codes
  // it, or refused with the same message.
  for (int dd : {64, 128}) {
    const TurboCodec c2(dd, 4, sphere_codebook(dd, 4), {5});
    std::vector<float> y(static_cast<std::size_t>(dd) * 4, 0.5f);
    std::vector<std::uint8_t> want(4 * c2.bytes_per_vector()), got(want.size());
    y[static_cast<std::size_t>(3 * dd + 7)] = -std::numeric_limits<float>::infinity();
    y[static_cast<std::size_t>(3 * dd + dd - 1)] = std::numeric_limits<float>::infinity();
    for (SimdLevel lv : testing::cpu_levels()) {
      try {
        c2.encode(y.data(), 4, got.data(), lv);
        ADD_FAILURE() << "no error for -Inf at " << fast::to_string(lv);
      } catch (const dpq::Error& e) {
        EXPECT_NE(std::string(e.what()).find("row 3, column 7"), std::string::npos) << fast::to_string(lv) << ": " << e.what();
      }
    }
    std::fill(y.begin() + 3 * dd, y.end(), 0.5f);
    std::fill(y.begin() + dd, y.begin() + 2 * dd, 3e38f);  // row 1: finite, its squares overflow
    std::string want_error;
    try {
      c2.encode(y.data(), 4, want.data(), SimdLevel::scalar);
    } catch (const dpq::Error& e) {
      want_error = e.what();
    }
    for (SimdLevel lv : testing::cpu_levels()) {
      std::string got_error;
      try {
        c2.encode(y.data(), 4, got.data(), lv);
      } catch (const dpq::Error& e) {
        got_error = e.what();
      }
      EXPECT_EQ(got_error, want_error) << fast::to_string(lv);
      if (want_error.empty()) {
        EXPECT_EQ(got, want) << fast::to_string(lv);
      }
    }
  }
  EXPECT_THROW(TurboCodec(d, 9, fast::ScalarCodebook::from_centroids(std::vector<float>(512, 0.0f)), {1}), dpq::Error);
  EXPECT_THROW(TurboCodec(d, 2, fast::ScalarCodebook::from_centroids({0.3f, 0.1f, 0.2f, 0.4f}), {1}), dpq::Error);
  EXPECT_THROW(TurboCodec(d, 2, fast::ScalarCodebook{{-0.3f, -0.1f, 0.1f, 0.3f}, {0.0f, -0.2f, 0.2f}}, {1}), dpq::Error);
}

}  // namespace
}  // namespace dpq::props
