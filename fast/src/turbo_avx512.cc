// The turbo codec's AVX-512 encode kernel (d = 2^k >= 16): the scalar contract's arithmetic, 16 lanes at
// a time. The norm keeps the contract's 8 interleaved partial sums (the two 8-lane halves of each
// register are added in coordinate order); the Walsh-Hadamard butterflies are a + b and a + (-1) b ==
// a - b exactly; the Lloyd-Max index is a branchless binary search of the sorted thresholds (the count of
// thresholds <= v, as the contract's linear count gives) from a 16- or 32-entry register table or,
// for b >= 6, a gather. d = 8 and decoding use the AVX2 kernels (they count as avx2).
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "avx2_pack.h"
#include "codec_kernels.h"
#include "turbo_common.h"
#include "turbo_kernels.h"

namespace dpq::fast::detail {
namespace {

// Strides 1, 2, 4 and 8 inside each 16-lane register.
inline void wht_small_avx512(float* u, int d) {
  const __m512 s1 = _mm512_setr_ps(1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1);
  const __m512 s2 = _mm512_setr_ps(1, 1, -1, -1, 1, 1, -1, -1, 1, 1, -1, -1, 1, 1, -1, -1);
  const __m512 s4 = _mm512_setr_ps(1, 1, 1, 1, -1, -1, -1, -1, 1, 1, 1, 1, -1, -1, -1, -1);
  const __m512 s8 = _mm512_setr_ps(1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1, -1);
  for (int i = 0; i < d; i += 16) {
    __m512 v = _mm512_load_ps(u + i);
    v = _mm512_add_ps(_mm512_permute_ps(v, _MM_SHUFFLE(2, 2, 0, 0)), _mm512_mul_ps(_mm512_permute_ps(v, _MM_SHUFFLE(3, 3, 1, 1)), s1));
    v = _mm512_add_ps(_mm512_permute_ps(v, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_mul_ps(_mm512_permute_ps(v, _MM_SHUFFLE(3, 2, 3, 2)), s2));
    v = _mm512_add_ps(_mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(2, 2, 0, 0)), _mm512_mul_ps(_mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(3, 3, 1, 1)), s4));
    v = _mm512_add_ps(_mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_mul_ps(_mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(3, 2, 3, 2)), s8));
    _mm512_store_ps(u + i, v);
  }
}

inline void wht_large_avx512(float* u, int d) {
  for (int h = 16; h < d; h *= 2)
    for (int i = 0; i < d; i += 2 * h)
      for (int j = i; j < i + h; j += 16) {
        const __m512 p = _mm512_load_ps(u + j), q = _mm512_load_ps(u + j + h);
        _mm512_store_ps(u + j, _mm512_add_ps(p, q));
        _mm512_store_ps(u + j + h, _mm512_sub_ps(p, q));
      }
}

// The count of thresholds <= v per lane: b steps of a binary search, step s comparing v with the
// threshold at idx + 2^(b-1-s) - 1.
struct Search {
  int bits;
  __m512 t16, t32hi;   // thresholds 0..15 and 16..31 (b <= 5), padded with the last one
  const float* thresholds;
  __m512i index(__m512 v) const {
    __m512i idx = _mm512_setzero_si512();
    for (int s = bits - 1; s >= 0; --s) {
      const __m512i probe = _mm512_add_epi32(idx, _mm512_set1_epi32((1 << s) - 1));
      __m512 t;
      if (bits <= 4) t = _mm512_permutexvar_ps(probe, t16);
      else if (bits == 5) t = _mm512_permutex2var_ps(t16, probe, t32hi);
      else t = _mm512_i32gather_ps(probe, thresholds, 4);
      idx = _mm512_mask_add_epi32(idx, _mm512_cmp_ps_mask(v, t, _CMP_GE_OQ), idx, _mm512_set1_epi32(1 << s));
    }
    return idx;
  }
};

}  // namespace

std::ptrdiff_t turbo_encode_avx512(const TurboKernelArgs& a, const float* x, std::size_t n, std::uint8_t* out) {
  const int d = a.dim, b = a.bits;
  if (d < 16) return turbo_encode_avx2(a, x, n, out);
  count_kernel(SimdLevel::avx512);
  const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(d));
  alignas(64) float u[16384];
  alignas(32) float part[8];
  const int L1 = (1 << b) - 1;
  alignas(64) float t32[32];
  for (int k = 0; k < 32; ++k) t32[k] = a.thresholds[k < L1 ? k : L1 - 1];
  Search search{b, _mm512_load_ps(t32), _mm512_load_ps(t32 + 16), a.thresholds};
  alignas(64) float c16[16];
  for (int k = 0; k < 16; ++k) c16[k] = a.centroids[k <= L1 ? k : L1];
  const __m512 cent16 = _mm512_load_ps(c16);
  for (std::size_t r = 0; r < n; ++r) {
    const float* xr = x + r * static_cast<std::size_t>(d);
    __m256 acc = _mm256_setzero_ps();
    __m512 bad = _mm512_setzero_ps();
    for (int i = 0; i < d; i += 16) {
      const __m512 v = _mm512_loadu_ps(xr + i);
      bad = _mm512_add_ps(bad, _mm512_sub_ps(v, v));  // NaN for NaN/Inf
      const __m512 sq = _mm512_mul_ps(v, v);
      acc = _mm256_add_ps(acc, _mm512_castps512_ps256(sq));             // coordinates i .. i + 7
      acc = _mm256_add_ps(acc, _mm512_extractf32x8_ps(sq, 1));          // then i + 8 .. i + 15
      _mm512_store_ps(u + i, _mm512_mul_ps(v, _mm512_loadu_ps(a.signs + i)));
    }
    if (_mm512_cmp_ps_mask(bad, bad, _CMP_UNORD_Q))
      for (int i = 0; i < d; ++i)
        if (!std::isfinite(xr[i])) return static_cast<std::ptrdiff_t>(r * static_cast<std::size_t>(d) + static_cast<std::size_t>(i));
    _mm256_store_ps(part, acc);
    const float norm = std::sqrt(((part[0] + part[4]) + (part[1] + part[5])) + ((part[2] + part[6]) + (part[3] + part[7])));
    std::uint8_t* rec = out + r * a.record_bytes;
    std::memcpy(rec, &norm, 4);
    wht_small_avx512(u, d);
    wht_large_avx512(u, d);
    const __m512 scale = _mm512_set1_ps(norm > 0 ? inv_sqrt_d / norm : 0.0f);
    std::uint8_t* codes = rec + 4;
    float* res = a.residual ? a.residual + r * static_cast<std::size_t>(d) : nullptr;
    auto quantize16 = [&](int i) {
      const __m512 v = _mm512_mul_ps(_mm512_load_ps(u + i), scale);
      const __m512i k = search.index(v);
      if (res) {
        const __m512 c = b <= 4 ? _mm512_permutexvar_ps(k, cent16) : _mm512_i32gather_ps(k, a.centroids, 4);
        _mm512_storeu_ps(res + i, _mm512_sub_ps(v, c));
      }
      return k;
    };
    int i = 0;
    if (b == 2 || b == 4 || b == 8)
      for (; i + 32 <= d; i += 32) {
        const __m512i k0 = quantize16(i), k1 = quantize16(i + 16);
        pack32(_mm512_castsi512_si256(k0), _mm512_extracti64x4_epi64(k0, 1), _mm512_castsi512_si256(k1),
               _mm512_extracti64x4_epi64(k1, 1), b, codes + i / 8 * b);
      }
    for (; i < d; i += 16) {
      const __m512i k = quantize16(i);
      const std::uint64_t g0 = pack8(_mm512_castsi512_si256(k), b), g1 = pack8(_mm512_extracti64x4_epi64(k, 1), b);
      std::memcpy(codes + i / 8 * b, &g0, static_cast<std::size_t>(b));
      std::memcpy(codes + (i + 8) / 8 * b, &g1, static_cast<std::size_t>(b));
    }
  }
  return -1;
}

const TurboKernels kTurboAvx512 = {turbo_encode_avx512, turbo_decode_avx2};

}  // namespace dpq::fast::detail
