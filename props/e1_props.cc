// E1: the fast path against the reference, with the float error bound derived in
// proofs-notes/E1.md; and scalar vs AVX2 bit-identity.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <boost/random/mersenne_twister.hpp>
#include <boost/random/normal_distribution.hpp>
#include <cmath>
#include <bit>
#include <cstring>
#include <limits>

#include "deltapq/fast/codec.h"
#include "deltapq/reference/quantizer.h"
#include "avx2_skip.h"
#include "support.h"

namespace dpq::props {
namespace {

using fast::Codec;
using fast::FastDesign;
using fast::SimdLevel;

constexpr double kU = std::numeric_limits<float>::epsilon() / 2;  // float unit roundoff 2^-24
// The relative errors the Gappa certificates prove (formal/gappa/*.g, read by CMake): the index
// t = fl(s fl(1/step)) against s / step, fl(k step) against k step, one float add.
constexpr double kIndexRel = DPQ_GAPPA_E1_INDEX, kDequantRel = DPQ_GAPPA_E1_DEQUANT, kAddRel = DPQ_GAPPA_E1_ADD;
static_assert(kIndexRel >= 2 * kU + kU * kU && kDequantRel >= kU && kAddRel >= kU,
              "a Gappa certificate cannot be tighter than one rounding (the .g file was misread)");

// The layout contract, read independently of the kernels: code i at bits [o_i, o_i + b_i), LSB first.
std::uint32_t code_at(const std::uint8_t* row, const std::vector<int>& bits, std::size_t i) {
  std::size_t pos = 0;
  for (std::size_t j = 0; j < i; ++j) pos += static_cast<std::size_t>(bits[j]);
  std::uint32_t v = 0;
  for (int k = 0; k < bits[i]; ++k, ++pos) v |= ((row[pos / 8] >> (pos % 8)) & 1u) << k;
  return v;
}

struct Case {
  FastDesign design;
  std::vector<float> x;
  std::size_t n = 0;
};

void showValue(const Case& c, std::ostream& os) {
  os << "{d " << c.design.dim() << ", n " << c.n << ", rotated " << !c.design.basis.empty() << ", bits[0] "
     << c.design.bits[0] << "}";
}

rc::Gen<Case> gen_case(int max_dim) {
  return rc::gen::exec([=] {
    Case c;
    // One case in four (where d fits): d = 64 or 128 with uniform 2, 4 or 8 bits, the AVX-512 quantizer's
    // own kernels, so every run reaches them (a miss in 100 cases: 0.75^100 = 3e-13).
    const bool own = max_dim >= 64 && *rc::gen::inRange(0, 4) == 0;
    const int d = own ? (max_dim >= 128 && *rc::gen::arbitrary<bool>() ? 128 : 64) : *rc::gen::inRange(1, max_dim + 1);
    c.n = static_cast<std::size_t>(*rc::gen::inRange(1, 24));
    const bool uniform = own || *rc::gen::arbitrary<bool>();
    const int ub = own ? 2 << *rc::gen::inRange(0, 3) : *rc::gen::inRange(1, 9);
    boost::random::mt19937_64 rng(*rc::gen::arbitrary<std::uint64_t>());
    boost::random::normal_distribution<double> normal;
    FastDesign& ds = c.design;
    for (int i = 0; i < d; ++i) {
      ds.bits.push_back(uniform ? ub : *rc::gen::inRange(1, 9));
      ds.clip.push_back(static_cast<float>(std::exp(normal(rng))));
    }
    if (*rc::gen::arbitrary<bool>()) {
      const Factor q = random_factor(rng(), d, d, 1.0, 1.0);  // orthonormal columns (double)
      for (double v : q.b) ds.basis.push_back(static_cast<float>(v));
    }
    if (*rc::gen::arbitrary<bool>())
      for (int i = 0; i < d; ++i) ds.mean.push_back(static_cast<float>(normal(rng)));
    const double scale = std::exp(normal(rng));
    for (std::size_t k = 0; k < c.n * static_cast<std::size_t>(d); ++k) c.x.push_back(static_cast<float>(scale * normal(rng)));
    return c;
  });
}

// The E1 criterion. `codes`/`decoded` come from the fast path; the reference evaluates the same
// float inputs exactly (Real). Returns an empty string, or the first violation.
std::string e1_violation(const FastDesign& ds, const float* x, std::size_t n, const std::uint8_t* codes,
                         std::size_t bytes_per_row, const float* decoded) {
  using ref::Real;
  const std::size_t d = ds.dim();
  const double gamma_f = d * kU / (1 - d * kU);
  const double gamma_d = d * 0x1p-53 / (1 - d * 0x1p-53);
  auto u_at = [&](std::size_t j, std::size_t i) -> double {
    return ds.basis.empty() ? (i == j ? 1.0 : 0.0) : ds.basis[j * d + i];
  };
  for (std::size_t r = 0; r < n; ++r) {
    const float* xr = x + r * d;
    for (std::size_t i = 0; i < d; ++i) {
      // Exact eigen-coordinate y = sum_j (x_j - mu_j) U_ji, and the float error terms.
      Real y(0);
      double s_x = 0, s_mu = 0, m = 0;
      for (std::size_t j = 0; j < d; ++j) {
        const double mu = ds.mean.empty() ? 0.0 : ds.mean[j];
        y += (Real(xr[j]) - Real(mu)) * Real(u_at(j, i));
        s_x += std::fabs(xr[j] * u_at(j, i));
        s_mu += std::fabs(mu * u_at(j, i));
        m += mu * u_at(j, i);
      }
      const double c = ds.clip[i];
      const int b = ds.bits[i];
      const Real step = ref::step(Real(c), b);  // exact, = the float step
      const double shift = c - m;
      // |s - (y + c)| <= gamma_d^f S_x (GEMM, any order, FMA or not)
      //                + |shift_f - (c - m)| (double sum of d terms, then one float rounding)
      //                + u |y' + shift_f| (the kernel's add).
      const double shift_err = kU * (std::fabs(shift) + 2 * gamma_d * s_mu) + 2 * gamma_d * s_mu;
      const double sum_err = gamma_f * s_x + shift_err + kU * ((1 + gamma_f) * s_x + std::fabs(shift) + shift_err);
      const Real t_exact = (y + Real(c)) / step;
      // t = fl(s * fl(1/step)) = (s / step)(1 + e) with |e| <= kIndexRel (e1_index.g): |t - t*| <=
      // (A / step)(1 + kIndexRel) + |t*| kIndexRel.
      const Real delta_t = Real(sum_err) / step * Real(1 + kIndexRel) + abs(t_exact) * Real(kIndexRel);
      const std::int64_t cells = std::int64_t{1} << b;
      const std::int64_t k_ref = cell_index(y, Real(c), b);
      const std::int64_t k_fast = code_at(codes + r * bytes_per_row, ds.bits, i);
      // Distance of t* to the nearest interior boundary 1..L-1 (clamping makes the rest agree).
      Real nearest = floor(t_exact + Real("0.5"));
      if (nearest < 1) nearest = Real(1);
      if (nearest > Real(static_cast<double>(cells - 1))) nearest = Real(static_cast<double>(cells - 1));
      const bool near_boundary = abs(t_exact - nearest) <= delta_t;
      if (k_fast != k_ref && !(near_boundary && std::llabs(k_fast - k_ref) == 1))
        return "row " + std::to_string(r) + ", coordinate " + std::to_string(i) + ": fast code " + std::to_string(k_fast) +
               ", reference " + std::to_string(k_ref) + ", t* = " + ref::to_string(t_exact, 12) + " (bound " +
               ref::to_string(delta_t, 3) + ")";
      if (decoded && ds.basis.empty()) {
        // Decode of the fast code: |fl(fl(k step) + offset_f) - (k step + offset)| with
        // offset = step/2 - c rounded once: u (k step + |offset| + |result|).
        const float got = decoded[r * d + i] - (ds.mean.empty() ? 0.0f : ds.mean[i]);
        const Real exact = ref::reconstruct(k_fast, Real(c), b);
        const double offset = ref::to_double(step) / 2 - c;
        const double mean_add = ds.mean.empty() ? 0.0 : kAddRel * (std::fabs(decoded[r * d + i]) + 2 * std::fabs(ds.mean[i]));
        // Gappa (formal/gappa/e1_dequant.g, e1_add.g): fl(k step) is relative <= kDequantRel, the
        // offset's one rounding to float relative <= u, and the final add's error kAddRel |p + offset|
        // <= kAddRel / (1 - kAddRel) |y^|.
        const double bound = kDequantRel * static_cast<double>(k_fast) * ref::to_double(step) + kU * std::fabs(offset) +
                             kAddRel / (1 - kAddRel) * std::fabs(got) + 2 * mean_add;
        if (abs(Real(got) - exact) > Real(bound))
          return "row " + std::to_string(r) + ", coordinate " + std::to_string(i) + ": decoded " + std::to_string(got) +
                 " vs " + ref::to_string(exact, 10) + " beyond " + std::to_string(bound);
      }
    }
  }
  if (decoded && !ds.basis.empty()) {
    // Full decode x^ = mu + U y^, y^ the fast dequantized coordinates (checked above through the
    // identity case): GEMM error gamma_d sum_i |U_ji| |y^_i|, the y^ error propagated through |U|,
    // and the mean add. Reference: mu + U q(k) exactly.
    std::vector<float> yhat(d);
    const fast::KernelConstants kd = fast::make_kernel_constants(ds);
    for (std::size_t r = 0; r < n; ++r) {
      fast::unpack_dequantize(kd, codes + r * bytes_per_row, 1, yhat.data(), d, SimdLevel::scalar);
      for (std::size_t j = 0; j < d; ++j) {
        Real exact = ds.mean.empty() ? Real(0) : Real(ds.mean[j]);
        double s_abs = 0, propagated = 0;
        for (std::size_t i = 0; i < d; ++i) {
          const int b = ds.bits[i];
          const std::int64_t k = code_at(codes + r * bytes_per_row, ds.bits, i);
          const Real q = ref::reconstruct(k, Real(ds.clip[i]), b);
          exact += Real(u_at(j, i)) * q;
          const double step = std::ldexp(static_cast<double>(ds.clip[i]), 1 - b);
          const double dec = kDequantRel * static_cast<double>(k) * step + kU * std::fabs(step / 2 - ds.clip[i]) +
                             kAddRel / (1 - kAddRel) * std::fabs(yhat[i]);
          s_abs += std::fabs(u_at(j, i) * yhat[i]);
          propagated += std::fabs(u_at(j, i)) * dec;
        }
        const float got = decoded[r * d + j];
        const double mean_add = ds.mean.empty() ? 0.0 : kU * (std::fabs(got) + std::fabs(ds.mean[j]) + s_abs);
        const double bound = propagated + gamma_f * s_abs * (1 + kU) + mean_add + kU / (1 - kU) * std::fabs(got);
        if (abs(Real(got) - exact) > Real(bound))
          return "row " + std::to_string(r) + ", output " + std::to_string(j) + ": decoded " + std::to_string(got) +
                 " vs " + ref::to_string(exact, 10) + " beyond " + std::to_string(bound);
      }
    }
  }
  return "";
}

TEST(E1, decode_criterion_catches_a_wrong_step) {
  // Decode with a design whose clips are 0.1 % off: the decoded values leave the derived bound.
  const auto ok = falsified("decode with clip x 1.001", [] {
    Case c = *gen_case(40);
    const Codec codec(c.design);
    FastDesign wrong = c.design;
    for (auto& cl : wrong.clip) cl *= 1.001f;
    std::vector<std::uint8_t> codes(codec.bytes_per_row() * c.n);
    std::vector<float> decoded(c.x.size());
    codec.encode(c.x.data(), c.n, codes.data());
    Codec(wrong).decode(codes.data(), c.n, decoded.data());
    RC_ASSERT(e1_violation(c.design, c.x.data(), c.n, codes.data(), codec.bytes_per_row(), decoded.data()) == "");
  });
  EXPECT_TRUE(ok);
}

RC_GTEST_PROP(E1, fast_codes_agree_with_the_reference_within_the_derived_bound, ()) {
  const Case c = *gen_case(80);
  const Codec codec(c.design);
  std::vector<std::uint8_t> codes(codec.bytes_per_row() * c.n);
  std::vector<float> decoded(c.x.size());
  for (SimdLevel level : {SimdLevel::scalar, fast::detected_simd()}) {
    codec.encode(c.x.data(), c.n, codes.data(), level);
    codec.decode(codes.data(), c.n, decoded.data(), level);
    const std::string v = e1_violation(c.design, c.x.data(), c.n, codes.data(), codec.bytes_per_row(), decoded.data());
    RC_ASSERT(v == "");
  }
}

TEST(E1, criterion_catches_an_off_by_one_cell_code) {
  const auto ok = falsified("off by one cell", [] {
    Case c = *gen_case(40);
    const Codec codec(c.design);
    std::vector<std::uint8_t> codes(codec.bytes_per_row() * c.n);
    codec.encode(c.x.data(), c.n, codes.data());
    // Move coordinate 0 of row 0 one cell (down if at the top), in place in the packed stream.
    std::uint32_t k = code_at(codes.data(), c.design.bits, 0);
    const std::uint32_t moved = k + 1 < (1u << c.design.bits[0]) ? k + 1 : k - 1;
    for (int bit = 0; bit < c.design.bits[0]; ++bit) {
      codes[bit / 8] = static_cast<std::uint8_t>((codes[bit / 8] & ~(1u << (bit % 8))) | (((moved >> bit) & 1u) << (bit % 8)));
    }
    RC_ASSERT(e1_violation(c.design, c.x.data(), c.n, codes.data(), codec.bytes_per_row(), nullptr) == "");
  });
  EXPECT_TRUE(ok);
}

TEST(E1, criterion_catches_a_wrong_clip) {
  const auto ok = falsified("clip x 1.01", [] {
    Case c = *gen_case(40);
    FastDesign wrong = c.design;
    for (auto& cl : wrong.clip) cl *= 1.01f;
    const Codec codec(wrong);
    std::vector<std::uint8_t> codes(codec.bytes_per_row() * c.n);
    codec.encode(c.x.data(), c.n, codes.data());
    RC_ASSERT(e1_violation(c.design, c.x.data(), c.n, codes.data(), codec.bytes_per_row(), nullptr) == "");
  });
  EXPECT_TRUE(ok);
}

// Scalar and AVX2: identical codes and identical decoded bits, on unaligned buffers, with guard
// bytes after every output.
// On a CPU without AVX2 there is nothing to compare: a clear skip (avx2_skip.h), not a property that
// gives up; where the CPU has AVX2 a detector saying otherwise fails the forced-AVX2 calls.
TEST(E1, scalar_and_avx2_are_bit_identical) {
  DPQ_SKIP_WITHOUT_AVX2();
  EXPECT_TRUE(rc::check("scalar_and_avx2_are_bit_identical", [] {
      const Case c = *gen_case(300);
      const Codec codec(c.design);
      const std::size_t misalign = static_cast<std::size_t>(*rc::gen::inRange(1, 4));
      constexpr std::size_t kGuard = 64;
      constexpr std::uint8_t kPattern = 0xa5;
      const std::size_t code_bytes = codec.bytes_per_row() * c.n;
      std::vector<float> xin(c.x.size() + misalign);
      std::memcpy(xin.data() + misalign, c.x.data(), c.x.size() * sizeof(float));
      const std::vector<SimdLevel> lv = testing::cpu_levels();  // scalar, avx2 and, where the CPU has it, avx512
      const std::size_t nl = lv.size();
      std::vector<std::vector<std::uint8_t>> codes(nl);
      std::vector<std::vector<float>> dec(nl);
      for (std::size_t k = 0; k < nl; ++k) {
        codes[k].assign(code_bytes + misalign + kGuard, kPattern);
        dec[k].assign(c.x.size() + misalign + kGuard, std::bit_cast<float>(0xa5a5a5a5u));
        codec.encode(xin.data() + misalign, c.n, codes[k].data() + misalign, lv[k]);
        codec.decode(codes[k].data() + misalign, c.n, dec[k].data() + misalign, lv[k]);
        for (std::size_t g = 0; g < kGuard; ++g) RC_ASSERT(codes[k][misalign + code_bytes + g] == kPattern);
        for (std::size_t g = 0; g < kGuard; ++g)
          RC_ASSERT(std::bit_cast<std::uint32_t>(dec[k][misalign + c.x.size() + g]) == 0xa5a5a5a5u);
      }
      for (std::size_t k = 1; k < nl; ++k) {
        RC_ASSERT(codes[0] == codes[k]);
        RC_ASSERT(std::memcmp(dec[0].data(), dec[k].data(), dec[0].size() * sizeof(float)) == 0);
      }
  }));
}

}  // namespace
}  // namespace dpq::props
