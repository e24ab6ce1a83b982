// The product quantizer's AVX2 kernels: the scalar contract's fma chains, 8 centroids per register
// and 4 rows per pass (each centroid group is loaded once for the 4 rows).
#include <immintrin.h>

#include <cmath>
#include <limits>

#include "codec_kernels.h"
#include "pq_kernels.h"

namespace dpq::fast::detail {
namespace {

// Two passes per row: the minimal score (min over every lane and group; min is exact), then the
// first group and lane holding that value: the lowest index attaining the minimum, as the scalar
// contract's strict-less scan finds it.
inline float horizontal_min(__m256 v) {
  __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_min_ps(m, _mm_movehl_ps(m, m));
  m = _mm_min_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

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
  alignas(32) float t[R][256];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < b.dsub; ++j) t[r][j] = -2.0f * x[r * stride + j];
  __m256 bv[R];
  for (int r = 0; r < R; ++r) bv[r] = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  // Two groups of 8 centroids per pass where possible: 2 centroid loads and R broadcasts feed 2R fmas.
  int g = 0;
  for (; g + 16 <= b.kpad; g += 16) {
    const __m256 n0 = _mm256_loadu_ps(b.norms + g), n1 = _mm256_loadu_ps(b.norms + g + 8);
    __m256 a0[R], a1[R];
    for (int r = 0; r < R; ++r) {
      a0[r] = n0;
      a1[r] = n1;
    }
    const float* col = b.ct + g;
    for (int j = 0; j < b.dsub; ++j, col += b.kpad) {
      const __m256 c0 = _mm256_loadu_ps(col), c1 = _mm256_loadu_ps(col + 8);
      for (int r = 0; r < R; ++r) {
        const __m256 tj = _mm256_broadcast_ss(&t[r][j]);
        a0[r] = _mm256_fmadd_ps(tj, c0, a0[r]);
        a1[r] = _mm256_fmadd_ps(tj, c1, a1[r]);
      }
    }
    for (int r = 0; r < R; ++r) {
      bv[r] = _mm256_min_ps(bv[r], _mm256_min_ps(a0[r], a1[r]));
      _mm256_store_ps(scores + r * b.kpad + g, a0[r]);
      _mm256_store_ps(scores + r * b.kpad + g + 8, a1[r]);
    }
  }
  for (; g < b.kpad; g += 8) {
    const __m256 nrm = _mm256_loadu_ps(b.norms + g);
    __m256 acc[R];
    for (int r = 0; r < R; ++r) acc[r] = nrm;
    const float* col = b.ct + g;
    for (int j = 0; j < b.dsub; ++j, col += b.kpad) {
      const __m256 c = _mm256_loadu_ps(col);
      for (int r = 0; r < R; ++r) acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(&t[r][j]), c, acc[r]);
    }
    for (int r = 0; r < R; ++r) {
      bv[r] = _mm256_min_ps(bv[r], acc[r]);
      _mm256_store_ps(scores + r * b.kpad + g, acc[r]);
    }
  }
  std::ptrdiff_t bad = -1;
  for (int r = 0; r < R; ++r) {
    const float value = horizontal_min(bv[r]);
    codes[r * code_stride] = static_cast<std::uint8_t>(first_index_of(scores + r * b.kpad, b.kpad, value));
    if (best) best[r] = value;
    if (!std::isfinite(value) && bad < 0) bad = r;
  }
  return bad;
}

}  // namespace

std::ptrdiff_t pq_assign_avx2(const PqBlock& b, const float* x, std::size_t n, std::size_t stride,
                              std::uint8_t* codes, std::size_t code_stride, float* best) {
  count_kernel(SimdLevel::avx2);
  alignas(32) float scores[4 * 256];  // kpad <= 256
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

const PqKernels kPqAvx2 = {pq_assign_avx2, pq_table_avx2};

}  // namespace dpq::fast::detail
