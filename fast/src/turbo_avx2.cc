// The turbo codec's AVX2 kernels (d = 2^k >= 8): the scalar contract's arithmetic, 8 lanes at a time.
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "avx2_pack.h"
#include "codec_kernels.h"
#include "turbo_common.h"
#include "turbo_kernels.h"

namespace dpq::fast::detail {
namespace {

// Strides 1, 2, 4 inside each 8-lane register: x_j + s x_{j+h} with s = +-1 (a + (-1) b == a - b
// exactly), the same values as the scalar butterflies.
inline void wht_small_avx2(float* u, int d) {
  const __m256 s1 = _mm256_setr_ps(1, -1, 1, -1, 1, -1, 1, -1);
  const __m256 s2 = _mm256_setr_ps(1, 1, -1, -1, 1, 1, -1, -1);
  const __m256 s4 = _mm256_setr_ps(1, 1, 1, 1, -1, -1, -1, -1);
  for (int i = 0; i < d; i += 8) {
    __m256 v = _mm256_load_ps(u + i);
    v = _mm256_add_ps(_mm256_permute_ps(v, _MM_SHUFFLE(2, 2, 0, 0)), _mm256_mul_ps(_mm256_permute_ps(v, _MM_SHUFFLE(3, 3, 1, 1)), s1));
    v = _mm256_add_ps(_mm256_permute_ps(v, _MM_SHUFFLE(1, 0, 1, 0)), _mm256_mul_ps(_mm256_permute_ps(v, _MM_SHUFFLE(3, 2, 3, 2)), s2));
    v = _mm256_add_ps(_mm256_permute2f128_ps(v, v, 0x00), _mm256_mul_ps(_mm256_permute2f128_ps(v, v, 0x11), s4));
    _mm256_store_ps(u + i, v);
  }
}

inline void wht_large(float* u, int d) {
  for (int h = 8; h < d; h *= 2)
    for (int i = 0; i < d; i += 2 * h)
      for (int j = i; j < i + h; j += 8) {
        const __m256 p = _mm256_loadu_ps(u + j), q = _mm256_loadu_ps(u + j + h);
        _mm256_storeu_ps(u + j, _mm256_add_ps(p, q));
        _mm256_storeu_ps(u + j + h, _mm256_sub_ps(p, q));
      }
}

// Branchless search of the sorted thresholds for b = 3, 4 (the count of thresholds <= v, as the
// linear count gives, in b compare steps instead of 2^b - 1). Step s compares v with the threshold at
// idx + 2^(b-1-s) - 1; the candidates of the last two steps come from 8-entry tables by permutevar.
struct SearchTables {
  __m256 odd;   // b = 4: thresholds 1, 5, 9, 13 (index idx/4); b = 3: unused
  __m256 even;  // b = 4: thresholds 0, 2, ..., 14 (index idx/2); b = 3: thresholds 0, 2, 4, 6
};
inline SearchTables search_tables(const float* t, int b) {
  SearchTables s;
  if (b == 4) {
    s.odd = _mm256_setr_ps(t[1], t[5], t[9], t[13], t[13], t[13], t[13], t[13]);
    s.even = _mm256_setr_ps(t[0], t[2], t[4], t[6], t[8], t[10], t[12], t[14]);
  } else {
    s.odd = _mm256_setzero_ps();
    s.even = _mm256_setr_ps(t[0], t[2], t[4], t[6], t[6], t[6], t[6], t[6]);
  }
  return s;
}
inline __m256i step_mask(__m256 v, __m256 t, int add) {
  return _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(v, t, _CMP_GE_OQ)), _mm256_set1_epi32(add));
}
inline __m256i search8(__m256 v, int b, const __m256* th, const SearchTables& tab) {
  __m256i idx;
  if (b == 4) {
    idx = step_mask(v, th[7], 8);                                                             // threshold 7
    const __m256 t2 = _mm256_blendv_ps(th[3], th[11], _mm256_castsi256_ps(_mm256_cmpgt_epi32(idx, _mm256_setzero_si256())));
    idx = _mm256_add_epi32(idx, step_mask(v, t2, 4));                                         // 3 or 11
    const __m256 t3 = _mm256_permutevar8x32_ps(tab.odd, _mm256_srli_epi32(idx, 2));
    idx = _mm256_add_epi32(idx, step_mask(v, t3, 2));                                         // idx + 1
  } else {
    idx = step_mask(v, th[3], 4);                                                             // threshold 3
    const __m256 t2 = _mm256_blendv_ps(th[1], th[5], _mm256_castsi256_ps(_mm256_cmpgt_epi32(idx, _mm256_setzero_si256())));
    idx = _mm256_add_epi32(idx, step_mask(v, t2, 2));                                         // 1 or 5
  }
  const __m256 t4 = _mm256_permutevar8x32_ps(tab.even, _mm256_srli_epi32(idx, 1));
  return _mm256_add_epi32(idx, step_mask(v, t4, 1));                                          // idx (even)
}

}  // namespace

std::ptrdiff_t turbo_encode_avx2(const TurboKernelArgs& a, const float* x, std::size_t n, std::uint8_t* out) {
  count_kernel(SimdLevel::avx2);
  const int d = a.dim, L1 = (1 << a.bits) - 1, b = a.bits;
  const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(d));
  alignas(32) float u[16384];
  alignas(32) float part[8];
  __m256 th[255];  // the thresholds broadcast once per call
  for (int t = 0; t < L1; ++t) th[t] = _mm256_set1_ps(a.thresholds[t]);
  SearchTables tables{};
  if (b == 4 || b == 3) tables = search_tables(a.thresholds, b);
  for (std::size_t r = 0; r < n; ++r) {
    const float* xr = x + r * static_cast<std::size_t>(d);
    __m256 acc = _mm256_setzero_ps(), bad = _mm256_setzero_ps();
    for (int i = 0; i < d; i += 8) {
      const __m256 v = _mm256_loadu_ps(xr + i);
      bad = _mm256_add_ps(bad, _mm256_sub_ps(v, v));  // NaN for NaN/Inf
      acc = _mm256_add_ps(acc, _mm256_mul_ps(v, v));
      _mm256_store_ps(u + i, _mm256_mul_ps(v, _mm256_loadu_ps(a.signs + i)));
    }
    if (_mm256_movemask_ps(_mm256_cmp_ps(bad, bad, _CMP_UNORD_Q)))
      for (int i = 0; i < d; ++i)
        if (!std::isfinite(xr[i])) return static_cast<std::ptrdiff_t>(r * static_cast<std::size_t>(d) + static_cast<std::size_t>(i));
    _mm256_store_ps(part, acc);
    const float norm = std::sqrt(((part[0] + part[4]) + (part[1] + part[5])) + ((part[2] + part[6]) + (part[3] + part[7])));
    std::uint8_t* rec = out + r * a.record_bytes;
    std::memcpy(rec, &norm, 4);
    wht_small_avx2(u, d);
    wht_large(u, d);
    const __m256 scale = _mm256_set1_ps(norm > 0 ? inv_sqrt_d / norm : 0.0f);
    std::uint8_t* codes = rec + 4;
    float* res = a.residual ? a.residual + r * static_cast<std::size_t>(d) : nullptr;
    auto quantize8 = [&](int i) {
      const __m256 v = _mm256_mul_ps(_mm256_load_ps(u + i), scale);
      __m256i k;
      if (b == 4 || b == 3) {
        k = search8(v, b, th, tables);
      } else {
        k = _mm256_setzero_si256();
        for (int t = 0; t < L1; ++t)  // count of thresholds <= v: upper cell on a tie
          k = _mm256_sub_epi32(k, _mm256_castps_si256(_mm256_cmp_ps(v, th[t], _CMP_GE_OQ)));
      }
      if (res) _mm256_storeu_ps(res + i, _mm256_sub_ps(v, _mm256_i32gather_ps(a.centroids, k, 4)));
      return k;
    };
    int i = 0;
    if (b == 2 || b == 4 || b == 8)
      for (; i + 32 <= d; i += 32) pack32(quantize8(i), quantize8(i + 8), quantize8(i + 16), quantize8(i + 24), b, codes + i / 8 * b);
    for (; i < d; i += 8) {
      const std::uint64_t g = pack8(quantize8(i), b);
      std::memcpy(codes + i / 8 * b, &g, static_cast<std::size_t>(b));
    }
  }
  return -1;
}

void turbo_decode_avx2(const TurboKernelArgs& a, const std::uint8_t* in, std::size_t n, float* x) {
  count_kernel(SimdLevel::avx2);
  const int d = a.dim, b = a.bits;
  const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(d));
  alignas(32) float u[16384];
  for (std::size_t r = 0; r < n; ++r) {
    const std::uint8_t* rec = in + r * a.record_bytes;
    float norm;
    std::memcpy(&norm, rec, 4);
    for (int i = 0; i < d; i += 8)
      _mm256_store_ps(u + i, _mm256_i32gather_ps(a.centroids, unpack8(rec + 4 + i / 8 * b, b), 4));
    if (a.addend) {
      const float* add = a.addend + r * static_cast<std::size_t>(d);
      for (int i = 0; i < d; i += 8) _mm256_store_ps(u + i, _mm256_add_ps(_mm256_load_ps(u + i), _mm256_loadu_ps(add + i)));
    }
    wht_small_avx2(u, d);
    wht_large(u, d);
    const __m256 scale = _mm256_set1_ps(norm * inv_sqrt_d);
    float* xr = x + r * static_cast<std::size_t>(d);
    for (int i = 0; i < d; i += 8)
      _mm256_storeu_ps(xr + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_load_ps(u + i), scale), _mm256_loadu_ps(a.signs + i)));
  }
}

const TurboKernels kTurboAvx2 = {turbo_encode_avx2, turbo_decode_avx2};

}  // namespace dpq::fast::detail
