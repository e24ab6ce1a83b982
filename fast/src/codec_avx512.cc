// AVX-512 kernels of the Part A codec family: the matrix kernel (the eigenbasis rotation and the QJL
// projections), 16 columns per register. Compiled with -mavx512f/dq/bw/vl -mfma -ffp-contract=off;
// called only after the dispatcher has checked CPUID + XGETBV. Each output is the scalar contract's fma
// chain over j in order from 0, so the bits equal those of the scalar and AVX2 kernels. Quantize+pack
// has its own kernel for uniform 4- and 8-bit designs (16 codes per register; at d = 64 and 128 the
// three per-coordinate constants stay in registers for the whole batch; other widths and mixed designs
// go to the AVX2 kernel and count as avx2). Unpack+dequantize is the AVX2 kernel.
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "avx512_pack.h"
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

namespace {

// E1: 16 codes of one row, the AVX2 kernel's operations (clamp, then truncate: the contract's
// floor-clamp integer, A1's tie rule), 16 lanes wide. `bad` turns NaN in a lane that saw a NaN or an infinity.
inline __m512i quantize16(__m512 y, __m512 shift, __m512 inv_step, __m512 max_index, __m512& bad) {
  bad = _mm512_or_ps(bad, _mm512_mul_ps(y, _mm512_setzero_ps()));
  __m512 t = _mm512_mul_ps(_mm512_add_ps(y, shift), inv_step);
  t = _mm512_max_ps(t, _mm512_setzero_ps());
  t = _mm512_min_ps(t, max_index);
  return _mm512_cvttps_epi32(t);
}

// 16 codes (int32 lanes, each < 2^B) -> their 2B bytes in the low 2B bytes of an xmm.
template <int B>
inline __m128i bytes16(__m512i q) {
  if constexpr (B == 8) return _mm512_cvtepi32_epi8(q);
  return pack16_nibbles(q);
}

// One row at compile-time d = D (a multiple of 32), the constants in registers.
template <int B, int D>
inline bool quantize_row_fixed(const float* row, const __m512* shift, const __m512* inv_step, const __m512* max_index,
                               std::uint8_t* out) {
  __m512 bad = _mm512_setzero_ps();
  if constexpr (B == 8) {
    for (int v = 0; v < D / 16; ++v)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16 * v), bytes16<8>(quantize16(_mm512_loadu_ps(row + 16 * v), shift[v], inv_step[v], max_index[v], bad)));
  } else {
    for (int v = 0; v < D / 16; v += 2) {
      const __m128i lo = bytes16<4>(quantize16(_mm512_loadu_ps(row + 16 * v), shift[v], inv_step[v], max_index[v], bad));
      const __m128i hi = bytes16<4>(quantize16(_mm512_loadu_ps(row + 16 * v + 16), shift[v + 1], inv_step[v + 1], max_index[v + 1], bad));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 8 * v), _mm_unpacklo_epi64(lo, hi));
    }
  }
  return _mm512_cmp_ps_mask(bad, bad, _CMP_UNORD_Q) != 0;
}

template <int B, int D>
std::size_t quantize_rows_fixed(const KernelConstants& kd, const float* y, std::size_t n, std::size_t stride, std::uint8_t* codes) {
  // Constants in registers (and fields in locals: stores through uint8_t* may alias kd's members).
  constexpr int V = D / 16;
  const std::size_t bytes_per_row = kd.bytes_per_row;
  __m512 shift[V], inv_step[V], max_index[V];
  for (int v = 0; v < V; ++v) {
    shift[v] = _mm512_loadu_ps(kd.shift.data() + 16 * v);
    inv_step[v] = _mm512_loadu_ps(kd.inv_step.data() + 16 * v);
    max_index[v] = _mm512_loadu_ps(kd.max_index.data() + 16 * v);
  }
  for (std::size_t r = 0; r < n; ++r) {
    const float* row = y + r * stride;
    if (quantize_row_fixed<B, D>(row, shift, inv_step, max_index, codes + r * bytes_per_row)) return first_non_finite(row, D, r);
  }
  return kNoBadValue;
}

}  // namespace

std::size_t quantize_pack_avx512(const KernelConstants& kd, const float* y, std::size_t n, std::size_t stride,
                                 std::uint8_t* codes) {
  // Its own kernel where the constants fit in registers. A 16-lane kernel loading them (any d) measured
  // 0.65x the AVX2 kernel at d = 256 (fast_bench BM_Quantize*/256/4), so other d stay with AVX2.
  const int b = kd.uniform_bits;
  const std::size_t d = kd.dim;
  if ((b != 4 && b != 8) || (d != 64 && d != 128)) return quantize_pack_avx2(kd, y, n, stride, codes);
  count_kernel(SimdLevel::avx512);
  if (b == 4) return d == 128 ? quantize_rows_fixed<4, 128>(kd, y, n, stride, codes) : quantize_rows_fixed<4, 64>(kd, y, n, stride, codes);
  return d == 128 ? quantize_rows_fixed<8, 128>(kd, y, n, stride, codes) : quantize_rows_fixed<8, 64>(kd, y, n, stride, codes);
}

const CodecKernels kCodecAvx512 = {quantize_pack_avx512, unpack_dequantize_avx2, rotate_avx512};

}  // namespace dpq::fast::detail
