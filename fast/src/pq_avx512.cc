// The product quantizer's AVX-512 kernels: the scalar contract's fma chains, 16 centroids per register
// and 4 rows per pass (each centroid group is loaded once for the 4 rows); an 8-centroid remainder
// group uses the 256-bit form. Same scores, same lowest-index tie rule, so the same codes as the
// scalar and AVX2 kernels.
#include <immintrin.h>

#include <cmath>
#include <limits>

#include "codec_kernels.h"
#include "pq_kernels.h"

namespace dpq::fast::detail {
namespace {

// The first index holding `value` (the minimal score): the lowest index attaining the minimum, as the
// scalar contract's strict-less scan finds it.
inline int first_index_of(const float* scores, int kpad, float value) {
  const __m256 v = _mm256_set1_ps(value);
  for (int g = 0; g < kpad; g += 8) {
    const int mask = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_load_ps(scores + g), v, _CMP_EQ_OQ));
    if (mask != 0) return g + __builtin_ctz(static_cast<unsigned>(mask));
  }
  return 0;  // value not attained: only when it is NaN, which the caller reports as non-finite
}

template <int R>
std::ptrdiff_t assign_rows(const PqBlock& b, const float* x, std::size_t stride, std::uint8_t* codes,
                           std::size_t code_stride, float* best, float* scores) {
  alignas(64) float t[R][256];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < b.dsub; ++j) t[r][j] = -2.0f * x[r * stride + j];
  __m512 bv[R];
  for (int r = 0; r < R; ++r) bv[r] = _mm512_set1_ps(std::numeric_limits<float>::infinity());
  int g = 0;
  // Two groups of 16 centroids per pass: 2 centroid loads and R broadcasts feed 2R fmas.
  for (; g + 32 <= b.kpad; g += 32) {
    const __m512 n0 = _mm512_loadu_ps(b.norms + g), n1 = _mm512_loadu_ps(b.norms + g + 16);
    __m512 a0[R], a1[R];
    for (int r = 0; r < R; ++r) {
      a0[r] = n0;
      a1[r] = n1;
    }
    const float* col = b.ct + g;
    for (int j = 0; j < b.dsub; ++j, col += b.kpad) {
      const __m512 c0 = _mm512_loadu_ps(col), c1 = _mm512_loadu_ps(col + 16);
      for (int r = 0; r < R; ++r) {
        const __m512 tj = _mm512_set1_ps(t[r][j]);
        a0[r] = _mm512_fmadd_ps(tj, c0, a0[r]);
        a1[r] = _mm512_fmadd_ps(tj, c1, a1[r]);
      }
    }
    for (int r = 0; r < R; ++r) {
      bv[r] = _mm512_min_ps(bv[r], _mm512_min_ps(a0[r], a1[r]));
      _mm512_storeu_ps(scores + r * b.kpad + g, a0[r]);
      _mm512_storeu_ps(scores + r * b.kpad + g + 16, a1[r]);
    }
  }
  for (; g + 16 <= b.kpad; g += 16) {
    const __m512 nrm = _mm512_loadu_ps(b.norms + g);
    __m512 acc[R];
    for (int r = 0; r < R; ++r) acc[r] = nrm;
    const float* col = b.ct + g;
    for (int j = 0; j < b.dsub; ++j, col += b.kpad) {
      const __m512 c = _mm512_loadu_ps(col);
      for (int r = 0; r < R; ++r) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(t[r][j]), c, acc[r]);
    }
    for (int r = 0; r < R; ++r) {
      bv[r] = _mm512_min_ps(bv[r], acc[r]);
      _mm512_storeu_ps(scores + r * b.kpad + g, acc[r]);
    }
  }
  if (g < b.kpad) {  // kpad is a multiple of 8: one 8-centroid group left
    const __m256 nrm = _mm256_loadu_ps(b.norms + g);
    __m256 acc[R];
    for (int r = 0; r < R; ++r) acc[r] = nrm;
    const float* col = b.ct + g;
    for (int j = 0; j < b.dsub; ++j, col += b.kpad) {
      const __m256 c = _mm256_loadu_ps(col);
      for (int r = 0; r < R; ++r) acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(t[r][j]), c, acc[r]);
    }
    const __m512 inf = _mm512_set1_ps(std::numeric_limits<float>::infinity());
    for (int r = 0; r < R; ++r) {
      bv[r] = _mm512_min_ps(bv[r], _mm512_insertf32x8(inf, acc[r], 0));
      _mm256_storeu_ps(scores + r * b.kpad + g, acc[r]);
    }
  }
  std::ptrdiff_t bad = -1;
  for (int r = 0; r < R; ++r) {
    const float value = _mm512_reduce_min_ps(bv[r]);  // min is exact: any order
    codes[r * code_stride] = static_cast<std::uint8_t>(first_index_of(scores + r * b.kpad, b.kpad, value));
    if (best) best[r] = value;
    if (!std::isfinite(value) && bad < 0) bad = r;
  }
  return bad;
}

}  // namespace

std::ptrdiff_t pq_assign_avx512(const PqBlock& b, const float* x, std::size_t n, std::size_t stride,
                                std::uint8_t* codes, std::size_t code_stride, float* best) {
  count_kernel(SimdLevel::avx512);
  alignas(64) float scores[4 * 256];  // kpad <= 256
  std::ptrdiff_t bad = -1;
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const std::ptrdiff_t r = assign_rows<4>(b, x + i * stride, stride, codes + i * code_stride, code_stride,
                                            best ? best + i : nullptr, scores);
    if (r >= 0 && bad < 0) bad = static_cast<std::ptrdiff_t>(i) + r;
  }
  for (; i < n; ++i) {
    const std::ptrdiff_t r = assign_rows<1>(b, x + i * stride, stride, codes + i * code_stride, code_stride,
                                            best ? best + i : nullptr, scores);
    if (r >= 0 && bad < 0) bad = static_cast<std::ptrdiff_t>(i);
  }
  return bad;
}

void pq_table_avx512(const PqBlock& b, const float* q, bool inner_product, float* table) {
  count_kernel(SimdLevel::avx512);
  alignas(64) float out[16];
  for (int g = 0; g < b.kpad; g += 16) {
    const int lanes = b.kpad - g >= 16 ? 16 : 8;  // kpad is a multiple of 8
    const __mmask16 mask = static_cast<__mmask16>(lanes == 16 ? 0xffffu : 0x00ffu);
    __m512 s = _mm512_setzero_ps();
    const float* col = b.ct + g;
    for (int j = 0; j < b.dsub; ++j, col += b.kpad) {
      const __m512 c = _mm512_maskz_loadu_ps(mask, col);
      const __m512 qj = _mm512_set1_ps(q[j]);
      if (inner_product) {
        s = _mm512_fmadd_ps(qj, c, s);
      } else {
        const __m512 diff = _mm512_sub_ps(c, qj);
        s = _mm512_fmadd_ps(diff, diff, s);
      }
    }
    _mm512_store_ps(out, s);
    for (int l = 0; l < lanes && g + l < b.k; ++l) table[g + l] = out[l];
  }
}

const PqKernels kPqAvx512 = {pq_assign_avx512, pq_table_avx512};

}  // namespace dpq::fast::detail
