// AVX-512 kernels of the Part A codec family: the matrix kernel (the eigenbasis rotation and the QJL
// projections), 16 columns per register. Compiled with -mavx512f/dq/bw/vl -mfma -ffp-contract=off;
// called only after the dispatcher has checked CPUID + XGETBV. Each output is the scalar contract's fma
// chain over j in order from 0, so the bits equal those of the scalar and AVX2 kernels. Quantize+pack
// and unpack+dequantize are the AVX2 kernels (they count as avx2): a 16-lane quantize+pack (vpmovdb to
// bytes, then nibble multiply-adds) measured 0.79x the AVX2 kernel's rate (BM_Quantize*/128/4 in
// fast_bench), so it was removed.
#include <immintrin.h>

#include <cmath>

#include "codec_kernels.h"

namespace dpq::fast::detail {
namespace {

// R rows x C vectors of 16 columns starting at column i0.
template <int R, int C>
inline void rotate_block(const float* x, std::size_t k, const float* m, std::size_t cols, float* out, std::size_t i0) {
  __m512 acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
  for (std::size_t j = 0; j < k; ++j) {
    __m512 w[C];
    for (int c = 0; c < C; ++c) w[c] = _mm512_loadu_ps(m + j * cols + i0 + 16 * static_cast<std::size_t>(c));
    for (int r = 0; r < R; ++r) {
      const __m512 b = _mm512_set1_ps(x[static_cast<std::size_t>(r) * k + j]);
      for (int c = 0; c < C; ++c) acc[r][c] = _mm512_fmadd_ps(b, w[c], acc[r][c]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) _mm512_storeu_ps(out + static_cast<std::size_t>(r) * cols + i0 + 16 * static_cast<std::size_t>(c), acc[r][c]);
}

// The last cols % 16 columns of R rows: a masked 16-lane block (the masked-off lanes neither load nor
// store), the same fma chains.
template <int R>
inline void rotate_tail(const float* x, std::size_t k, const float* m, std::size_t cols, float* out, std::size_t i0) {
  if (i0 >= cols) return;
  const __mmask16 mask = static_cast<__mmask16>((1u << (cols - i0)) - 1u);
  __m512 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  for (std::size_t j = 0; j < k; ++j) {
    const __m512 w = _mm512_maskz_loadu_ps(mask, m + j * cols + i0);
    for (int r = 0; r < R; ++r) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(x[static_cast<std::size_t>(r) * k + j]), w, acc[r]);
  }
  for (int r = 0; r < R; ++r) _mm512_mask_storeu_ps(out + static_cast<std::size_t>(r) * cols + i0, mask, acc[r]);
}

}  // namespace

void rotate_avx512(const float* x, std::size_t n, std::size_t k, const float* m, std::size_t cols, float* out) {
  count_kernel(SimdLevel::avx512);
  std::size_t r = 0;
  for (; r + 4 <= n; r += 4) {  // 4 rows share each load of m
    const float* xr = x + r * k;
    float* o = out + r * cols;
    std::size_t i = 0;
    for (; i + 32 <= cols; i += 32) rotate_block<4, 2>(xr, k, m, cols, o, i);
    for (; i + 16 <= cols; i += 16) rotate_block<4, 1>(xr, k, m, cols, o, i);
    rotate_tail<4>(xr, k, m, cols, o, i);
  }
  for (; r < n; ++r) {  // one row: 8 independent fma chains of 16 lanes hide the latency
    const float* xr = x + r * k;
    float* o = out + r * cols;
    std::size_t i = 0;
    for (; i + 128 <= cols; i += 128) rotate_block<1, 8>(xr, k, m, cols, o, i);
    for (; i + 64 <= cols; i += 64) rotate_block<1, 4>(xr, k, m, cols, o, i);
    for (; i + 16 <= cols; i += 16) rotate_block<1, 1>(xr, k, m, cols, o, i);
    rotate_tail<1>(xr, k, m, cols, o, i);
  }
}

const CodecKernels kCodecAvx512 = {quantize_pack_avx2, unpack_dequantize_avx2, rotate_avx512};

}  // namespace dpq::fast::detail
