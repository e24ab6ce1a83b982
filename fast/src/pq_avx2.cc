// The product quantizer's AVX2 kernels: the scalar contract's fma chains, 8 centroids per register
// and 4 rows per pass (each centroid group is loaded once for the 4 rows).
#include <immintrin.h>

#include <cmath>
#include <limits>

#include "kernels.h"
#include "pq_kernels.h"

namespace dpq::fast::detail {
namespace {

// Lowest index among the lanes holding the minimal value (lane l holds the earliest minimum of the
// centroids k = 8g + l, so this is the global lowest-index argmin).
inline int reduce_argmin(__m256 v, __m256i idx, float* value) {
  alignas(32) float vals[8];
  alignas(32) int ids[8];
  _mm256_store_ps(vals, v);
  _mm256_store_si256(reinterpret_cast<__m256i*>(ids), idx);
  float best = vals[0];
  int best_k = ids[0];
  for (int l = 1; l < 8; ++l)
    if (vals[l] < best || (vals[l] == best && ids[l] < best_k)) {
      best = vals[l];
      best_k = ids[l];
    }
  *value = best;
  return best_k;
}

template <int R>
std::ptrdiff_t assign_rows(const PqBlock& b, const float* x, std::size_t stride, std::uint8_t* codes,
                           std::size_t code_stride, float* best) {
  alignas(32) float t[R][256];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < b.dsub; ++j) t[r][j] = -2.0f * x[r * stride + j];
  __m256 bv[R];
  __m256i bi[R];
  for (int r = 0; r < R; ++r) {
    bv[r] = _mm256_set1_ps(std::numeric_limits<float>::infinity());
    bi[r] = _mm256_setzero_si256();
  }
  __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i eight = _mm256_set1_epi32(8);
  for (int g = 0; g < b.kpad; g += 8) {
    const __m256 nrm = _mm256_loadu_ps(b.norms + g);
    __m256 acc[R];
    for (int r = 0; r < R; ++r) acc[r] = nrm;
    const float* col = b.ct + g;
    for (int j = 0; j < b.dsub; ++j, col += b.kpad) {
      const __m256 c = _mm256_loadu_ps(col);
      for (int r = 0; r < R; ++r) acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(&t[r][j]), c, acc[r]);
    }
    for (int r = 0; r < R; ++r) {
      const __m256 lt = _mm256_cmp_ps(acc[r], bv[r], _CMP_LT_OQ);
      bv[r] = _mm256_blendv_ps(bv[r], acc[r], lt);
      bi[r] = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(bi[r]), _mm256_castsi256_ps(idx), lt));
    }
    idx = _mm256_add_epi32(idx, eight);
  }
  std::ptrdiff_t bad = -1;
  for (int r = 0; r < R; ++r) {
    float value;
    const int k = reduce_argmin(bv[r], bi[r], &value);
    codes[r * code_stride] = static_cast<std::uint8_t>(k);
    if (best) best[r] = value;
    if (!std::isfinite(value) && bad < 0) bad = r;
  }
  return bad;
}

}  // namespace

std::ptrdiff_t pq_assign_avx2(const PqBlock& b, const float* x, std::size_t n, std::size_t stride,
                              std::uint8_t* codes, std::size_t code_stride, float* best) {
  count_kernel(SimdLevel::avx2);
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

void pq_table_avx2(const PqBlock& b, const float* q, bool inner_product, float* table) {
  count_kernel(SimdLevel::avx2);
  alignas(32) float out[8];
  for (int g = 0; g < b.kpad; g += 8) {
    __m256 s = _mm256_setzero_ps();
    const float* col = b.ct + g;
    for (int j = 0; j < b.dsub; ++j, col += b.kpad) {
      const __m256 c = _mm256_loadu_ps(col);
      const __m256 qj = _mm256_set1_ps(q[j]);
      if (inner_product) {
        s = _mm256_fmadd_ps(qj, c, s);
      } else {
        const __m256 diff = _mm256_sub_ps(c, qj);
        s = _mm256_fmadd_ps(diff, diff, s);
      }
    }
    _mm256_store_ps(out, s);
    for (int l = 0; l < 8 && g + l < b.k; ++l) table[g + l] = out[l];
  }
}

}  // namespace dpq::fast::detail
