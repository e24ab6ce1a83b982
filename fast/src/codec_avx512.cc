// AVX-512 kernels of the Part A codec family: the matrix kernel (the eigenbasis rotation and the QJL
// projections), 16 columns per register. Compiled with -mavx512f/dq/bw/vl -mfma -ffp-contract=off;
// called only after the dispatcher has checked CPUID + XGETBV. Each output is the scalar contract's fma
// chain over j in order from 0, so the bits equal those of the scalar and AVX2 kernels. Quantize+pack
// for uniform widths b = 2, 4, 8 (16 coordinates per register, the contract's floor / clamp / truncate);
// other widths and unpack+dequantize are the AVX2 kernels (they count as avx2).
#include <immintrin.h>

#include <cmath>
#include <cstring>

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

// Indices of 16 consecutive coordinates starting at i (the contract's quantize_one); `bad` turns NaN
// for a non-finite input.
inline __m512i quantize16(const KernelConstants& kd, const float* row, std::size_t i, __m512& bad) {
  const __m512 y = _mm512_loadu_ps(row + i);
  bad = _mm512_add_ps(bad, _mm512_sub_ps(y, y));
  __m512 t = _mm512_mul_ps(_mm512_add_ps(y, _mm512_loadu_ps(kd.shift.data() + i)), _mm512_loadu_ps(kd.inv_step.data() + i));
  t = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  t = _mm512_max_ps(t, _mm512_setzero_ps());
  t = _mm512_min_ps(t, _mm512_loadu_ps(kd.max_index.data() + i));
  return _mm512_cvttps_epi32(t);
}

// 16 codes of b = 2, 4 or 8 bits -> 4, 8 or 16 bytes, LSB first (codec.h's layout).
inline void pack16(__m512i k, int b, std::uint8_t* out) {
  const __m128i v = _mm512_cvtepi32_epi8(k);  // every code < 256
  if (b == 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), v);
  } else if (b == 4) {
    const __m128i m = _mm_maddubs_epi16(v, _mm_set1_epi16(0x1001));  // v[2j] + 16 v[2j+1]
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out), _mm_packus_epi16(m, m));
  } else {  // b == 2: v[4j] + 4 v[4j+1] + 16 v[4j+2] + 64 v[4j+3]
    const __m128i m = _mm_madd_epi16(_mm_maddubs_epi16(v, _mm_set1_epi16(0x0401)), _mm_set1_epi32(0x00100001));
    const __m128i p = _mm_packus_epi16(_mm_packus_epi32(m, m), _mm_setzero_si128());
    const int w = _mm_cvtsi128_si32(p);
    std::memcpy(out, &w, 4);
  }
}

}  // namespace

std::size_t quantize_pack_avx512(const KernelConstants& kd, const float* y, std::size_t n, std::size_t stride,
                                 std::uint8_t* codes) {
  const int b = kd.uniform_bits;
  if (!(b == 2 || b == 4 || b == 8)) return quantize_pack_avx2(kd, y, n, stride, codes);
  count_kernel(SimdLevel::avx512);
  const std::size_t d = kd.dim, full = d / 16 * 16, bb = static_cast<std::size_t>(b);
  for (std::size_t r = 0; r < n; ++r) {
    const float* row = y + r * stride;
    std::uint8_t* out = codes + r * kd.bytes_per_row;
    __m512 bad = _mm512_setzero_ps();
    for (std::size_t i = 0; i < full; i += 16) pack16(quantize16(kd, row, i, bad), b, out + i * bb / 8);
    if (_mm512_cmp_ps_mask(bad, bad, _CMP_UNORD_Q))  // the row's first non-finite value, as the contract finds it
      for (std::size_t i = 0; i < full; ++i)
        if (!std::isfinite(row[i])) return r * d + i;
    const std::size_t tail_byte = full * bb / 8;
    if (tail_byte < kd.bytes_per_row) std::memset(out + tail_byte, 0, kd.bytes_per_row - tail_byte);
    for (std::size_t i = full; i < d; ++i) {
      if (!std::isfinite(row[i])) return r * d + i;
      put_bits(out, static_cast<std::size_t>(kd.bit_offset[i]),
               quantize_one(row[i], kd.shift[i], kd.inv_step[i], kd.max_index[i]), kd.bits[i]);
    }
  }
  return kNoBadValue;
}

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

const CodecKernels kCodecAvx512 = {quantize_pack_avx512, unpack_dequantize_avx2, rotate_avx512};

}  // namespace dpq::fast::detail
