// The product quantizer's AVX-512 kernels: the scalar contract's fma chains, 16 centroids per register
// and 4 rows per pass (each centroid group is loaded once for the 4 rows); an 8-centroid remainder group
// is a masked 16-lane one. Same scores, same lowest-index tie rule, so the same codes as the scalar and
// AVX2 kernels; the running minimum and its index stay in registers (no score buffer, no second scan).
#include <immintrin.h>

#include <cmath>
#include <limits>

#include "codec_kernels.h"
#include "pq_kernels.h"

namespace dpq::fast::detail {
namespace {

// R rows against every centroid, the minimum tracked in registers: per lane the best score and its
// centroid index, replaced only on a strictly smaller score (groups run in increasing index, so each lane
// keeps its lowest index attaining its minimum); then the minimum over the lanes and, among the lanes
// holding it, the lowest index -- the lowest index attaining the minimum, as the scalar contract's
// strict-less scan finds it. Padding centroids score +inf (norm +inf) and are never taken.
template <int R>
std::ptrdiff_t assign_rows(const PqBlock& b, const float* x, std::size_t stride, std::uint8_t* codes,
                           std::size_t code_stride, float* best_out) {
  alignas(64) float t[R][256];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < b.dsub; ++j) t[r][j] = -2.0f * x[r * stride + j];
  const __m512 inf = _mm512_set1_ps(std::numeric_limits<float>::infinity());
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  __m512 best[R];
  __m512i bidx[R];
  for (int r = 0; r < R; ++r) {
    best[r] = inf;
    bidx[r] = _mm512_setzero_si512();
  }
  auto take = [&](int r, __m512 score, int g) {
    const __mmask16 m = _mm512_cmp_ps_mask(score, best[r], _CMP_LT_OQ);
    best[r] = _mm512_mask_mov_ps(best[r], m, score);
    bidx[r] = _mm512_mask_mov_epi32(bidx[r], m, _mm512_add_epi32(lane, _mm512_set1_epi32(g)));
  };
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
      take(r, a0[r], g);
      take(r, a1[r], g + 16);
    }
  }
  for (; g < b.kpad; g += 16) {  // 16 or (kpad a multiple of 8) 8 centroids left
    const __mmask16 valid = b.kpad - g >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>(0x00ff);
    const __m512 nrm = _mm512_mask_loadu_ps(inf, valid, b.norms + g);
    __m512 acc[R];
    for (int r = 0; r < R; ++r) acc[r] = nrm;
    const float* col = b.ct + g;
    for (int j = 0; j < b.dsub; ++j, col += b.kpad) {
      const __m512 c = _mm512_maskz_loadu_ps(valid, col);
      for (int r = 0; r < R; ++r) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(t[r][j]), c, acc[r]);
    }
    for (int r = 0; r < R; ++r) take(r, acc[r], g);
  }
  std::ptrdiff_t bad = -1;
  for (int r = 0; r < R; ++r) {
    const float value = _mm512_reduce_min_ps(best[r]);
    const __mmask16 at = _mm512_cmp_ps_mask(best[r], _mm512_set1_ps(value), _CMP_EQ_OQ);
    codes[r * code_stride] = static_cast<std::uint8_t>(at ? _mm512_mask_reduce_min_epi32(at, bidx[r]) : 0);
    if (best_out) best_out[r] = value;
    if (!std::isfinite(value) && bad < 0) bad = r;
  }
  return bad;
}

}  // namespace

std::ptrdiff_t pq_assign_avx512(const PqBlock& b, const float* x, std::size_t n, std::size_t stride,
                                std::uint8_t* codes, std::size_t code_stride, float* best) {
  count_kernel(SimdLevel::avx512);
  std::ptrdiff_t bad = -1;
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const std::ptrdiff_t r = assign_rows<4>(b, x + i * stride, stride, codes + i * code_stride, code_stride,
                                            best ? best + i : nullptr);
    if (r >= 0 && bad < 0) bad = static_cast<std::ptrdiff_t>(i) + r;
  }
  for (; i < n; ++i) {
    const std::ptrdiff_t r = assign_rows<1>(b, x + i * stride, stride, codes + i * code_stride, code_stride,
                                            best ? best + i : nullptr);
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
