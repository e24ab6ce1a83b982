// Internal: AVX2 packing of b-bit codes (the layout of deltapq/fast/codec.h), shared by the AVX2
// kernel files. Only included by files compiled with -mavx2 -mfma; `static` so each keeps its copy.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace dpq::fast::detail {
namespace {

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
    // Byte by byte, not memcpy(&w, group, b): a copy of variable length is a libc call per group of 8
    // codes (it made b = 2, 3 decode slower than b = 4). b is loop-invariant, so the branches predict.
    std::uint32_t w = group[0];
    if (b > 1) w |= static_cast<std::uint32_t>(group[1]) << 8;
    if (b > 2) w |= static_cast<std::uint32_t>(group[2]) << 16;
    if (b > 3) w |= static_cast<std::uint32_t>(group[3]) << 24;
    const __m256i shifts = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(b));
    return _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(w)), shifts),
                            _mm256_set1_epi32((1 << b) - 1));
  }
  std::uint32_t lo4;
  std::memcpy(&lo4, group, 4);  // b >= 5 here: the first 4 bytes are in the group
  std::uint64_t w = lo4 | static_cast<std::uint64_t>(group[4]) << 32;
  if (b > 5) w |= static_cast<std::uint64_t>(group[5]) << 40;
  if (b > 6) w |= static_cast<std::uint64_t>(group[6]) << 48;
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

}  // namespace
}  // namespace dpq::fast::detail
