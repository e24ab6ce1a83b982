// AVX2 kernels. Compiled with -mavx2 -mfma -ffp-contract=off; called only after the dispatcher has
// checked CPUID + XGETBV. Arithmetic per coordinate is the scalar contract's, in the same order.
#include <immintrin.h>

#include "avx2_pack.h"
#include "codec_kernels.h"

namespace dpq::fast::detail {
namespace {

// Indices of 8 consecutive coordinates starting at i, as int32 lanes. Turns `bad` lanes into NaN
// for non-finite inputs: 0 * y is +-0 for finite y and NaN for NaN and +-Inf, and OR keeps a NaN a
// NaN. The accumulation is the row's only dependency chain: OR's one-cycle latency, not an add's.
// The contract is floor, then clamp to [0, max_index], then convert; here the clamp comes first and the
// convert truncates, which is the same integer: max_index is an integer, floor is monotone, and on
// [0, max_index] truncation is floor (t < 0, -0 and NaN all become +0: max_ps returns its second
// operand for NaN and for equal zeros). One instruction fewer per 8 codes.
inline __m256i quantize8(const float* shift, const float* inv_step, const float* max_index, const float* row, std::size_t i,
                         __m256& bad) {
  const __m256 y = _mm256_loadu_ps(row + i);
  bad = _mm256_or_ps(bad, _mm256_mul_ps(y, _mm256_setzero_ps()));
  __m256 t = _mm256_mul_ps(_mm256_add_ps(y, _mm256_loadu_ps(shift + i)), _mm256_loadu_ps(inv_step + i));
  t = _mm256_max_ps(t, _mm256_setzero_ps());
  t = _mm256_min_ps(t, _mm256_loadu_ps(max_index + i));
  return _mm256_cvttps_epi32(t);
}

}  // namespace

std::size_t quantize_pack_avx2(const KernelConstants& kd, const float* y, std::size_t n, std::size_t stride,
                               std::uint8_t* codes) {
  count_kernel(SimdLevel::avx2);
  // The constants in locals: stores through uint8_t* may alias anything, so fields read through kd
  // would be reloaded after every store.
  const std::size_t d = kd.dim, bytes_per_row = kd.bytes_per_row;
  const std::size_t full = d / 8 * 8;
  const int b = kd.uniform_bits;
  const float* const shift = kd.shift.data();
  const float* const inv_step = kd.inv_step.data();
  const float* const max_index = kd.max_index.data();
  const std::size_t tail_byte = full / 8 * static_cast<std::size_t>(b);
  // A stream (codes of kStreamingCodeBytes and up): every line of the row kPrefetchRows ahead is
  // prefetched, as in the AVX-512 kernel; the hardware prefetcher alone keeps too few lines in flight
  // behind this much arithmetic per line.
  constexpr std::size_t kPrefetchRows = 16;
  const bool stream = n * bytes_per_row >= kStreamingCodeBytes;
  for (std::size_t r = 0; r < n; ++r) {
    const float* row = y + r * stride;
    std::uint8_t* out = codes + r * bytes_per_row;
    if (stream && r + kPrefetchRows < n) {
      const char* ahead = reinterpret_cast<const char*>(y + (r + kPrefetchRows) * stride);
      for (std::size_t l = 0; l < d * sizeof(float); l += 64) _mm_prefetch(ahead + l, _MM_HINT_T0);
    }
    __m256 bad = _mm256_setzero_ps();
    if (b) {
      // Uniform width: every group of 8 codes is b whole bytes; b = 2, 4, 8 go 32 at a time.
      std::size_t i = 0;
      if (b == 2 || b == 4 || b == 8)
        for (; i + 32 <= d; i += 32) {
          const __m256i q0 = quantize8(shift, inv_step, max_index, row, i, bad);
          const __m256i q1 = quantize8(shift, inv_step, max_index, row, i + 8, bad);
          const __m256i q2 = quantize8(shift, inv_step, max_index, row, i + 16, bad);
          const __m256i q3 = quantize8(shift, inv_step, max_index, row, i + 24, bad);
          pack32(q0, q1, q2, q3, b, out + i / 8 * static_cast<std::size_t>(b));
        }
      for (; i < full; i += 8) {
        const std::uint64_t g = pack8(quantize8(shift, inv_step, max_index, row, i, bad), b);
        std::memcpy(out + i / 8 * static_cast<std::size_t>(b), &g, static_cast<std::size_t>(b));
      }
      for (std::size_t k = tail_byte; k < bytes_per_row; ++k) out[k] = 0;  // d % 8 codes follow (no libc call per row)
    } else {
      std::memset(out, 0, bytes_per_row);
      alignas(32) std::uint32_t k[8];
      for (std::size_t i = 0; i < full; i += 8) {
        _mm256_store_si256(reinterpret_cast<__m256i*>(k), quantize8(shift, inv_step, max_index, row, i, bad));
        for (int j = 0; j < 8; ++j)
          put_bits(out, static_cast<std::size_t>(kd.bit_offset[i + j]), k[j], kd.bits[i + j]);
      }
    }
    for (std::size_t i = full; i < d; ++i) {
      if (!std::isfinite(row[i])) return first_non_finite(row, d, r);  // the row's first, which may precede this one
      put_bits(out, static_cast<std::size_t>(kd.bit_offset[i]),
               quantize_one(row[i], shift[i], inv_step[i], max_index[i]), kd.bits[i]);
    }
    if (_mm256_movemask_ps(_mm256_cmp_ps(bad, bad, _CMP_UNORD_Q))) return first_non_finite(row, d, r);
  }
  return kNoBadValue;
}

void unpack_dequantize_avx2(const KernelConstants& kd, const std::uint8_t* codes, std::size_t n, float* y,
                            std::size_t stride) {
  count_kernel(SimdLevel::avx2);
  const std::size_t d = kd.dim;
  const std::size_t full = d / 8 * 8;
  const int b = kd.uniform_bits;
  alignas(32) std::uint32_t k[8];
  for (std::size_t r = 0; r < n; ++r) {
    const std::uint8_t* in = codes + r * kd.bytes_per_row;
    float* row = y + r * stride;
    for (std::size_t i = 0; i < full; i += 8) {
      __m256i idx;
      if (b) {
        idx = unpack8(in + i / 8 * static_cast<std::size_t>(b), b);
      } else {
        for (int j = 0; j < 8; ++j) k[j] = get_bits(in, static_cast<std::size_t>(kd.bit_offset[i + j]), kd.bits[i + j]);
        idx = _mm256_load_si256(reinterpret_cast<const __m256i*>(k));
      }
      const __m256 scaled = _mm256_mul_ps(_mm256_cvtepi32_ps(idx), _mm256_loadu_ps(kd.step.data() + i));
      _mm256_storeu_ps(row + i, _mm256_add_ps(scaled, _mm256_loadu_ps(kd.offset.data() + i)));
    }
    for (std::size_t i = full; i < d; ++i)
      row[i] = dequantize_one(get_bits(in, static_cast<std::size_t>(kd.bit_offset[i]), kd.bits[i]), kd.step[i],
                              kd.offset[i]);
  }
}

// R rows x C vectors of 8 columns starting at column i0: each element an fma chain over j in order,
// so every blocking gives the same bits (and the scalar contract's).
template <int R, int C>
static inline void rotate_block(const float* x, std::size_t k, const float* m, std::size_t cols, float* out, std::size_t i0) {
  __m256 acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
  for (std::size_t j = 0; j < k; ++j) {
    __m256 w[C];
    for (int c = 0; c < C; ++c) w[c] = _mm256_loadu_ps(m + j * cols + i0 + 8 * static_cast<std::size_t>(c));
    for (int r = 0; r < R; ++r) {
      const __m256 b = _mm256_broadcast_ss(x + static_cast<std::size_t>(r) * k + j);
      for (int c = 0; c < C; ++c) acc[r][c] = _mm256_fmadd_ps(b, w[c], acc[r][c]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) _mm256_storeu_ps(out + static_cast<std::size_t>(r) * cols + i0 + 8 * static_cast<std::size_t>(c), acc[r][c]);
}

template <int R>
static inline void rotate_tail(const float* x, std::size_t k, const float* m, std::size_t cols, float* out, std::size_t i0) {
  for (int r = 0; r < R; ++r)
    for (std::size_t i = i0; i < cols; ++i) {
      float acc = 0.0f;
      for (std::size_t j = 0; j < k; ++j) acc = std::fma(x[static_cast<std::size_t>(r) * k + j], m[j * cols + i], acc);
      out[static_cast<std::size_t>(r) * cols + i] = acc;
    }
}

void rotate_avx2(const float* x, std::size_t n, std::size_t k, const float* m, std::size_t cols, float* out) {
  count_kernel(SimdLevel::avx2);
  std::size_t r = 0;
  for (; r + 4 <= n; r += 4) {  // 4 rows share each load of m
    const float* xr = x + r * k;
    float* o = out + r * cols;
    std::size_t i = 0;
    for (; i + 16 <= cols; i += 16) rotate_block<4, 2>(xr, k, m, cols, o, i);
    for (; i + 8 <= cols; i += 8) rotate_block<4, 1>(xr, k, m, cols, o, i);
    rotate_tail<4>(xr, k, m, cols, o, i);
  }
  for (; r < n; ++r) {  // one row (the closed loop's append): 8 independent fma chains hide the latency
    const float* xr = x + r * k;
    float* o = out + r * cols;
    std::size_t i = 0;
    for (; i + 64 <= cols; i += 64) rotate_block<1, 8>(xr, k, m, cols, o, i);
    for (; i + 32 <= cols; i += 32) rotate_block<1, 4>(xr, k, m, cols, o, i);
    for (; i + 8 <= cols; i += 8) rotate_block<1, 1>(xr, k, m, cols, o, i);
    rotate_tail<1>(xr, k, m, cols, o, i);
  }
}

const CodecKernels kCodecAvx2 = {quantize_pack_avx2, unpack_dequantize_avx2, rotate_avx2};

}  // namespace dpq::fast::detail
