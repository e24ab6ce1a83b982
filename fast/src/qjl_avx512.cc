// The QJL score kernel, AVX-512: the contract's 16 partial sums in one register; 16 sign bits are a
// lane mask as they are (bit j of the record is lane j % 16), the sign applied by a masked blend.
#include <immintrin.h>

#include <cstring>

#include "dispatch.h"

namespace dpq::fast::detail {

void qjl_scores_avx512(const std::uint8_t* records, std::size_t n, std::size_t stride, std::size_t m, const float* q,
                       float scale, float* out) {
  count_kernel(SimdLevel::avx512);
  const std::size_t full = m / 16 * 16;
  const __mmask16 tail_mask = static_cast<__mmask16>((1u << (m - full)) - 1u);
  for (std::size_t r = 0; r < n; ++r) {
    const std::uint8_t* rec = records + r * stride;
    float norm;
    std::memcpy(&norm, rec, 4);
    __m512 acc = _mm512_setzero_ps();
    std::size_t j = 0;
    for (; j < full; j += 16) {
      std::uint16_t bits;
      std::memcpy(&bits, rec + 4 + j / 8, 2);
      const __m512 v = _mm512_loadu_ps(q + j);
      acc = _mm512_add_ps(acc, _mm512_mask_blend_ps(bits, _mm512_xor_ps(v, _mm512_set1_ps(-0.0f)), v));  // -q as the scalar negates
    }
    if (j < m) {  // lanes without a term keep their sum (a masked add); only the record's own bytes are read
      std::uint16_t bits = rec[4 + j / 8];
      if (m - j > 8) bits = static_cast<std::uint16_t>(bits | rec[4 + j / 8 + 1] << 8);
      const __m512 v = _mm512_maskz_loadu_ps(tail_mask, q + j);
      acc = _mm512_mask_add_ps(acc, tail_mask, acc, _mm512_mask_blend_ps(bits, _mm512_xor_ps(v, _mm512_set1_ps(-0.0f)), v));
    }
    // The contract's tree: lane l + 8, + 4, + 2, + 1.
    __m256 a = _mm256_add_ps(_mm512_castps512_ps256(acc), _mm512_extractf32x8_ps(acc, 1));
    __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    b = _mm_add_ps(b, _mm_movehl_ps(b, b));
    b = _mm_add_ss(b, _mm_shuffle_ps(b, b, 1));
    out[r] = (scale * norm) * _mm_cvtss_f32(b);
  }
}

// Sixteen signs per compare: the compare's lane mask is the record's two bytes as they are.
void qjl_pack_signs_avx512(const float* p, std::size_t rows, std::size_t m, std::uint8_t* out, std::size_t out_stride) {
  count_kernel(SimdLevel::avx512);
  const std::size_t full = m / 16 * 16;
  const __mmask16 tail_mask = static_cast<__mmask16>((1u << (m - full)) - 1u);
  const __m512 zero = _mm512_setzero_ps();
  for (std::size_t r = 0; r < rows; ++r) {
    const float* pr = p + r * m;
    std::uint8_t* o = out + r * out_stride;
    for (std::size_t j = 0; j < full; j += 16) {
      const std::uint16_t bits = _mm512_cmp_ps_mask(_mm512_loadu_ps(pr + j), zero, _CMP_GE_OQ);
      std::memcpy(o + j / 8, &bits, 2);
    }
    if (full < m) {  // lanes past m are 0 bits; only the record's own bytes are written
      const std::uint16_t bits = _mm512_mask_cmp_ps_mask(tail_mask, _mm512_maskz_loadu_ps(tail_mask, pr + full), zero, _CMP_GE_OQ);
      o[full / 8] = static_cast<std::uint8_t>(bits);
      if (m - full > 8) o[full / 8 + 1] = static_cast<std::uint8_t>(bits >> 8);
    }
  }
}

void qjl_unpack_signs_avx512(const std::uint8_t* in, std::size_t rows, std::size_t in_stride, std::size_t m, float* signs) {
  count_kernel(SimdLevel::avx512);
  const std::size_t full = m / 16 * 16;
  const __mmask16 tail_mask = static_cast<__mmask16>((1u << (m - full)) - 1u);
  const __m512 one = _mm512_set1_ps(1.0f), minus_one = _mm512_set1_ps(-1.0f);
  for (std::size_t r = 0; r < rows; ++r) {
    const std::uint8_t* b = in + r * in_stride;
    float* s = signs + r * m;
    for (std::size_t j = 0; j < full; j += 16) {
      std::uint16_t bits;
      std::memcpy(&bits, b + j / 8, 2);
      _mm512_storeu_ps(s + j, _mm512_mask_blend_ps(bits, minus_one, one));
    }
    if (full < m) {
      std::uint16_t bits = b[full / 8];
      if (m - full > 8) bits = static_cast<std::uint16_t>(bits | b[full / 8 + 1] << 8);
      _mm512_mask_storeu_ps(s + full, tail_mask, _mm512_mask_blend_ps(bits, minus_one, one));
    }
  }
}

const QjlKernels kQjlAvx512 = {qjl_scores_avx512, qjl_pack_signs_avx512, qjl_unpack_signs_avx512};

}  // namespace dpq::fast::detail
