// AVX2 kernels. Compiled with -mavx2 -mfma -ffp-contract=off; called only after the dispatcher has
// checked CPUID + XGETBV. Arithmetic per coordinate is the scalar contract's, in the same order.
#include <immintrin.h>

#include "kernels.h"

namespace dpq::fast::detail {
namespace {

// Indices of 8 consecutive coordinates starting at i, as int32 lanes. Turns `bad` lanes into NaN
// for non-finite inputs.
inline __m256i quantize8(const KernelDesign& kd, const float* row, std::size_t i, __m256& bad) {
  const __m256 y = _mm256_loadu_ps(row + i);
  bad = _mm256_add_ps(bad, _mm256_sub_ps(y, y));  // y - y: 0 when finite, NaN for NaN and +-Inf
  __m256 t = _mm256_mul_ps(_mm256_add_ps(y, _mm256_loadu_ps(kd.shift.data() + i)), _mm256_loadu_ps(kd.inv_step.data() + i));
  t = _mm256_floor_ps(t);
  t = _mm256_max_ps(t, _mm256_setzero_ps());
  t = _mm256_min_ps(t, _mm256_loadu_ps(kd.max_index.data() + i));
  return _mm256_cvttps_epi32(t);
}

// 8 codes of b bits each -> the 8b-bit little-endian group (b bytes), b in 1..8.
inline std::uint64_t pack8(__m256i k, int b) {
  if (b <= 4) {
    const __m256i shifts = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(b));
    const __m256i s = _mm256_sllv_epi32(k, shifts);
    __m128i v = _mm_or_si128(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    v = _mm_or_si128(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(1, 0, 3, 2)));
    v = _mm_or_si128(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(2, 3, 0, 1)));
    return static_cast<std::uint32_t>(_mm_cvtsi128_si32(v));
  }
  const __m256i lo = _mm256_cvtepu32_epi64(_mm256_castsi256_si128(k));
  const __m256i hi = _mm256_cvtepu32_epi64(_mm256_extracti128_si256(k, 1));
  const long long bb = b;
  const __m256i s = _mm256_or_si256(_mm256_sllv_epi64(lo, _mm256_setr_epi64x(0, bb, 2 * bb, 3 * bb)),
                                    _mm256_sllv_epi64(hi, _mm256_setr_epi64x(4 * bb, 5 * bb, 6 * bb, 7 * bb)));
  __m128i v = _mm_or_si128(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  v = _mm_or_si128(v, _mm_unpackhi_epi64(v, v));
  return static_cast<std::uint64_t>(_mm_cvtsi128_si64(v));
}

// The b-bit group of 8 codes -> 8 int32 lanes.
inline __m256i unpack8(const std::uint8_t* group, int b) {
  if (b == 8) return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(group)));
  if (b <= 4) {
    std::uint32_t w = 0;
    std::memcpy(&w, group, static_cast<std::size_t>(b));
    const __m256i shifts = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(b));
    return _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(w)), shifts),
                            _mm256_set1_epi32((1 << b) - 1));
  }
  std::uint64_t w = 0;
  std::memcpy(&w, group, static_cast<std::size_t>(b));
  const long long bb = b;
  const __m256i all = _mm256_set1_epi64x(static_cast<long long>(w));
  const __m256i mask = _mm256_set1_epi64x((1LL << b) - 1);
  const __m256i lo = _mm256_and_si256(_mm256_srlv_epi64(all, _mm256_setr_epi64x(0, bb, 2 * bb, 3 * bb)), mask);
  const __m256i hi = _mm256_and_si256(_mm256_srlv_epi64(all, _mm256_setr_epi64x(4 * bb, 5 * bb, 6 * bb, 7 * bb)), mask);
  // Keep the low 32 bits of each 64-bit lane: lanes (0,2,4,6) of each half, then join the halves.
  const __m256i idx = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
  const __m128i l = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(lo, idx));
  const __m128i h = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(hi, idx));
  return _mm256_inserti128_si256(_mm256_castsi128_si256(l), h, 1);
}

// 32 consecutive codes (b = 2, 4 or 8) packed with byte shuffles and multiply-adds instead of
// per-group shifts: 32 b / 8 bytes out. Same bits as pack8 on each group of 8.
inline void pack32(__m256i q0, __m256i q1, __m256i q2, __m256i q3, int b, std::uint8_t* out) {
  const __m256i a = _mm256_packus_epi32(q0, q1);
  const __m256i c = _mm256_packus_epi32(q2, q3);
  __m256i v = _mm256_packus_epi16(a, c);
  v = _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));  // bytes in order
  if (b == 8) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), v);
    return;
  }
  if (b == 4) {
    const __m256i m = _mm256_maddubs_epi16(v, _mm256_set1_epi16(0x1001));  // v[2j] + 16 v[2j+1]
    const __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi16(m, m), _MM_SHUFFLE(3, 1, 2, 0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm256_castsi256_si128(p));
    return;
  }
  // b == 2: v[4j] + 4 v[4j+1] + 16 v[4j+2] + 64 v[4j+3]
  const __m256i m = _mm256_madd_epi16(_mm256_maddubs_epi16(v, _mm256_set1_epi16(0x0401)), _mm256_set1_epi32(0x00100001));
  const __m256i p16 = _mm256_packus_epi32(m, m);
  const __m256i p8 = _mm256_packus_epi16(p16, p16);
  const __m256i p = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(out), _mm256_castsi256_si128(p));
}

std::size_t first_bad(const float* row, std::size_t d, std::size_t r) {
  for (std::size_t i = 0; i < d; ++i)
    if (!std::isfinite(row[i])) return r * d + i;
  return kNoBadValue;
}

}  // namespace

std::size_t quantize_pack_avx2(const KernelDesign& kd, const float* y, std::size_t n, std::size_t stride,
                               std::uint8_t* codes) {
  count_kernel(SimdLevel::avx2);
  const std::size_t d = kd.dim;
  const std::size_t full = d / 8 * 8;
  const int b = kd.uniform_bits;
  for (std::size_t r = 0; r < n; ++r) {
    const float* row = y + r * stride;
    std::uint8_t* out = codes + r * kd.bytes_per_row;
    __m256 bad = _mm256_setzero_ps();
    if (b) {
      // Uniform width: every group of 8 codes is b whole bytes; b = 2, 4, 8 go 32 at a time.
      std::size_t i = 0;
      if (b == 2 || b == 4 || b == 8)
        for (; i + 32 <= d; i += 32) {
          const __m256i q0 = quantize8(kd, row, i, bad), q1 = quantize8(kd, row, i + 8, bad);
          const __m256i q2 = quantize8(kd, row, i + 16, bad), q3 = quantize8(kd, row, i + 24, bad);
          pack32(q0, q1, q2, q3, b, out + i / 8 * static_cast<std::size_t>(b));
        }
      for (; i < full; i += 8) {
        const std::uint64_t g = pack8(quantize8(kd, row, i, bad), b);
        std::memcpy(out + i / 8 * static_cast<std::size_t>(b), &g, static_cast<std::size_t>(b));
      }
      const std::size_t tail_byte = full / 8 * static_cast<std::size_t>(b);
      std::memset(out + tail_byte, 0, kd.bytes_per_row - tail_byte);
    } else {
      std::memset(out, 0, kd.bytes_per_row);
      alignas(32) std::uint32_t k[8];
      for (std::size_t i = 0; i < full; i += 8) {
        _mm256_store_si256(reinterpret_cast<__m256i*>(k), quantize8(kd, row, i, bad));
        for (int j = 0; j < 8; ++j)
          put_bits(out, static_cast<std::size_t>(kd.bit_offset[i + j]), k[j], kd.bits[i + j]);
      }
    }
    for (std::size_t i = full; i < d; ++i) {
      if (!std::isfinite(row[i])) return r * d + i;
      put_bits(out, static_cast<std::size_t>(kd.bit_offset[i]),
               quantize_one(row[i], kd.shift[i], kd.inv_step[i], kd.max_index[i]), kd.bits[i]);
    }
    if (_mm256_movemask_ps(_mm256_cmp_ps(bad, bad, _CMP_UNORD_Q))) return first_bad(row, d, r);
  }
  return kNoBadValue;
}

void unpack_dequantize_avx2(const KernelDesign& kd, const std::uint8_t* codes, std::size_t n, float* y,
                            std::size_t stride) {
  count_kernel(SimdLevel::avx2);
  const std::size_t d = kd.dim;
  const std::size_t full = d / 8 * 8;
  const int b = kd.uniform_bits;
  alignas(32) std::uint32_t k[8];
  for (std::size_t r = 0; r < n; ++r) {
    const std::uint8_t* in = codes + r * kd.bytes_per_row;
    float* row = y + r * stride;
    for (std::size_t i = 0; i < full; i += 8) {
      __m256i idx;
      if (b) {
        idx = unpack8(in + i / 8 * static_cast<std::size_t>(b), b);
      } else {
        for (int j = 0; j < 8; ++j) k[j] = get_bits(in, static_cast<std::size_t>(kd.bit_offset[i + j]), kd.bits[i + j]);
        idx = _mm256_load_si256(reinterpret_cast<const __m256i*>(k));
      }
      const __m256 scaled = _mm256_mul_ps(_mm256_cvtepi32_ps(idx), _mm256_loadu_ps(kd.step.data() + i));
      _mm256_storeu_ps(row + i, _mm256_add_ps(scaled, _mm256_loadu_ps(kd.offset.data() + i)));
    }
    for (std::size_t i = full; i < d; ++i)
      row[i] = dequantize_one(get_bits(in, static_cast<std::size_t>(kd.bit_offset[i]), kd.bits[i]), kd.step[i],
                              kd.offset[i]);
  }
}

}  // namespace dpq::fast::detail
