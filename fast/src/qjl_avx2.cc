// The QJL score kernel, AVX2: lanes 0..7 and 8..15 of the contract's 16 partial sums in two registers;
// each sign byte expanded to a lane mask by a compare, the sign applied by a blend of q and -q.
#include <immintrin.h>

#include <cstring>

#include "dispatch.h"

namespace dpq::fast::detail {
namespace {

inline __m256 signed8(std::uint8_t byte, __m256 q) {
  const __m256i bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  const __m256i on = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(byte), bits), bits);
  return _mm256_blendv_ps(_mm256_xor_ps(q, _mm256_set1_ps(-0.0f)), q, _mm256_castsi256_ps(on));  // -q as the scalar negates
}

// The contract's tree over the 16 lanes lo (0..7) and hi (8..15).
inline float reduce16(__m256 lo, __m256 hi) {
  __m256 a = _mm256_add_ps(lo, hi);                                                  // l + 8
  __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));     // l + 4
  b = _mm_add_ps(b, _mm_movehl_ps(b, b));                                            // l + 2
  b = _mm_add_ss(b, _mm_shuffle_ps(b, b, 1));                                        // l + 1
  return _mm_cvtss_f32(b);
}

}  // namespace

void qjl_scores_avx2(const std::uint8_t* records, std::size_t n, std::size_t stride, std::size_t m, const float* q, float scale,
                     float* out) {
  count_kernel(SimdLevel::avx2);
  const std::size_t full = m / 16 * 16;
  alignas(32) float tail[16];
  for (std::size_t r = 0; r < n; ++r) {
    const std::uint8_t* rec = records + r * stride;
    float norm;
    std::memcpy(&norm, rec, 4);
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
    std::size_t j = 0;
    for (; j < full; j += 16) {
      lo = _mm256_add_ps(lo, signed8(rec[4 + j / 8], _mm256_loadu_ps(q + j)));
      hi = _mm256_add_ps(hi, signed8(rec[4 + j / 8 + 1], _mm256_loadu_ps(q + j + 8)));
    }
    if (j < m) {  // the last m % 16 terms; lanes without a term keep their sum as it is (a blend)
      alignas(32) std::int32_t present[16];
      for (std::size_t l = 0; l < 16; ++l) {
        present[l] = j + l < m ? -1 : 0;
        tail[l] = j + l < m ? (((rec[4 + (j + l) / 8] >> ((j + l) % 8)) & 1u) ? q[j + l] : -q[j + l]) : 0.0f;
      }
      lo = _mm256_blendv_ps(lo, _mm256_add_ps(lo, _mm256_load_ps(tail)), _mm256_load_ps(reinterpret_cast<const float*>(present)));
      hi = _mm256_blendv_ps(hi, _mm256_add_ps(hi, _mm256_load_ps(tail + 8)), _mm256_load_ps(reinterpret_cast<const float*>(present + 8)));
    }
    out[r] = (scale * norm) * reduce16(lo, hi);
  }
}

// Eight signs per compare + movemask; the last m % 8 by the scalar rule.
void qjl_pack_signs_avx2(const float* p, std::size_t rows, std::size_t m, std::uint8_t* out, std::size_t out_stride) {
  count_kernel(SimdLevel::avx2);
  const std::size_t full = m / 8 * 8;
  const __m256 zero = _mm256_setzero_ps();
  for (std::size_t r = 0; r < rows; ++r) {
    const float* pr = p + r * m;
    std::uint8_t* o = out + r * out_stride;
    for (std::size_t j = 0; j < full; j += 8)
      o[j / 8] = static_cast<std::uint8_t>(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(pr + j), zero, _CMP_GE_OQ)));
    if (full < m) {
      unsigned byte = 0;
      for (std::size_t j = full; j < m; ++j) byte |= static_cast<unsigned>(pr[j] >= 0) << (j - full);
      o[full / 8] = static_cast<std::uint8_t>(byte);
    }
  }
}

void qjl_unpack_signs_avx2(const std::uint8_t* in, std::size_t rows, std::size_t in_stride, std::size_t m, float* signs) {
  count_kernel(SimdLevel::avx2);
  const std::size_t full = m / 8 * 8;
  const __m256 one = _mm256_set1_ps(1.0f);
  for (std::size_t r = 0; r < rows; ++r) {
    const std::uint8_t* b = in + r * in_stride;
    float* s = signs + r * m;
    for (std::size_t j = 0; j < full; j += 8) _mm256_storeu_ps(s + j, signed8(b[j / 8], one));  // -1.0f where the bit is 0
    for (std::size_t j = full; j < m; ++j) s[j] = ((b[j / 8] >> (j % 8)) & 1u) ? 1.0f : -1.0f;
  }
}

const QjlKernels kQjlAvx2 = {qjl_scores_avx2, qjl_pack_signs_avx2, qjl_unpack_signs_avx2};

}  // namespace dpq::fast::detail
