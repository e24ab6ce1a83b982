// AVX-512 kernels of the Part A codec family: the matrix kernel (the eigenbasis rotation and the QJL
// projections), 16 columns per register. Compiled with -mavx512f/dq/bw/vl -mfma -ffp-contract=off;
// called only after the dispatcher has checked CPUID + XGETBV. Each output is the scalar contract's fma
// chain over j in order from 0, so the bits equal those of the scalar and AVX2 kernels. Quantize+pack
// has its own kernel for uniform 2-, 4- and 8-bit designs (16 codes per register; at d = 64 and 128 the
// three per-coordinate constants stay in registers for the whole batch; other widths and mixed designs
// go to the AVX2 kernel and count as avx2). Unpack+dequantize has its own kernel for the same designs.
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

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

// A row's D / 16 vectors by unaligned loads.
template <int D>
struct UnalignedRows {
  void load(const float* row, __m512* v) const {
    for (int l = 0; l < D / 16; ++l) v[l] = _mm512_loadu_ps(row + 16 * l);
  }
};

// A row's D / 16 vectors from D / 16 + 1 aligned loads, each vector spliced from two neighbouring lines
// (one vpermt2ps): a row that starts k floats past a line boundary otherwise splits every load across
// two lines, which in a stream cost up to half the rate (a standalone driver, this project's machine).
// Reads up to 16 - k floats before the row and after it: only for rows with a row of the same batch
// on both sides (stride a multiple of 16 floats, so every row has the same k).
template <int D>
struct SplicedRows {
  unsigned k;
  __m512i idx;
  explicit SplicedRows(const float* y)
      : k(static_cast<unsigned>((reinterpret_cast<std::uintptr_t>(y) & 63) / 4)),
        idx(_mm512_add_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), _mm512_set1_epi32(static_cast<int>(k)))) {}
  void load(const float* row, __m512* v) const {
    const float* line = row - k;
    __m512 a = _mm512_load_ps(line);
    for (int l = 0; l < D / 16; ++l) {
      const __m512 b = _mm512_load_ps(line + 16 * (l + 1));
      v[l] = _mm512_permutex2var_ps(a, idx, b);
      a = b;
    }
  }
};

// One row at compile-time d = D (a multiple of 32), the constants in registers: its D * B / 128
// 16-byte pieces of codes, in order. True if the row holds a NaN or an infinity.
template <int B, int D>
inline bool quantize_row_fixed(const __m512* y, const __m512* shift, const __m512* inv_step, const __m512* max_index,
                               __m128i* piece) {
  __m512 bad = _mm512_setzero_ps();
  if constexpr (B == 8) {
    for (int v = 0; v < D / 16; ++v) piece[v] = bytes16<8>(quantize16(y[v], shift[v], inv_step[v], max_index[v], bad));
  } else if constexpr (B == 2) {  // 64 codes -> 16 bytes
    for (int v = 0; v < D / 16; v += 4)
      piece[v / 4] = pack64_2bit(quantize16(y[v], shift[v], inv_step[v], max_index[v], bad),
                                 quantize16(y[v + 1], shift[v + 1], inv_step[v + 1], max_index[v + 1], bad),
                                 quantize16(y[v + 2], shift[v + 2], inv_step[v + 2], max_index[v + 2], bad),
                                 quantize16(y[v + 3], shift[v + 3], inv_step[v + 3], max_index[v + 3], bad));
  } else {
    for (int v = 0; v < D / 16; v += 2) {
      const __m128i lo = bytes16<4>(quantize16(y[v], shift[v], inv_step[v], max_index[v], bad));
      const __m128i hi = bytes16<4>(quantize16(y[v + 1], shift[v + 1], inv_step[v + 1], max_index[v + 1], bad));
      piece[v / 2] = _mm_unpacklo_epi64(lo, hi);
    }
  }
  return _mm512_cmp_ps_mask(bad, bad, _CMP_UNORD_Q) != 0;
}

inline __m512i chunk_of(const __m128i* p) {
  __m512i z = _mm512_castsi128_si512(p[0]);
  z = _mm512_inserti32x4(z, p[1], 1);
  z = _mm512_inserti32x4(z, p[2], 2);
  return _mm512_inserti32x4(z, p[3], 3);
}

// Codes from kStreamingCodeBytes (codec.h) up are a stream (the input is 8x that at b = 4): its rows are
// prefetched kPrefetchRows ahead and its codes go out by non-temporal stores (LineStreamer). Below it
// the caller may well read the codes next, and the hardware prefetcher suffices.
inline constexpr std::size_t kPrefetchRows = 16;

template <int B, int D>
struct FixedQuantizer {
  static constexpr int V = D / 16, P = D * B / 128;  // P pieces of 16 bytes per row: 1, 2, 4 or 8
  __m512 shift[V], inv_step[V], max_index[V];
  explicit FixedQuantizer(const KernelConstants& kd) {
    for (int v = 0; v < V; ++v) {
      shift[v] = _mm512_loadu_ps(kd.shift.data() + 16 * v);
      inv_step[v] = _mm512_loadu_ps(kd.inv_step.data() + 16 * v);
      max_index[v] = _mm512_loadu_ps(kd.max_index.data() + 16 * v);
    }
  }
  template <class Rows>
  bool row(const Rows& rows, const float* y, __m128i* piece) const {
    __m512 v[V];
    rows.load(y, v);
    return quantize_row_fixed<B, D>(v, shift, inv_step, max_index, piece);
  }
};

// Rows first..last-1 of a stream: prefetched, spliced or unaligned loads, whole 64-byte chunks to the
// streamer (4 / P rows per chunk at P < 4, so last - first is a multiple of that). The first bad row, or kNoBadValue.
template <int B, int D, class Rows>
std::size_t stream_rows(const FixedQuantizer<B, D>& q, const Rows& rows, const float* y, std::size_t n, std::size_t stride,
                        std::size_t first, std::size_t last, LineStreamer& out) {
  constexpr int P = FixedQuantizer<B, D>::P;
  constexpr std::size_t rows_per_step = P >= 4 ? 1 : 4 / P;
  __m128i piece[P * rows_per_step];
  for (std::size_t r = first; r < last; r += rows_per_step) {
    std::size_t bad_row = kNoBadValue;
    for (std::size_t j = 0; j < rows_per_step; ++j) {
      if (r + j + kPrefetchRows < n) {
        const char* ahead = reinterpret_cast<const char*>(y + (r + j + kPrefetchRows) * stride);
        for (int l = 0; l < D / 16; ++l) _mm_prefetch(ahead + 64 * l, _MM_HINT_T0);
      }
      if (q.row(rows, y + (r + j) * stride, piece + P * j) && bad_row == kNoBadValue) bad_row = r + j;
    }
    for (int c = 0; c < (P * static_cast<int>(rows_per_step)) / 4; ++c) out.push(chunk_of(piece + 4 * c));
    if (bad_row != kNoBadValue) return bad_row;
  }
  return kNoBadValue;
}

template <int B, int D>
std::size_t quantize_rows_fixed(const KernelConstants& kd, const float* y, std::size_t n, std::size_t stride, std::uint8_t* codes) {
  // Constants in registers (copied out of kd: stores through uint8_t* may alias kd's members).
  const FixedQuantizer<B, D> q(kd);
  constexpr int P = FixedQuantizer<B, D>::P;
  const std::size_t bytes_per_row = kd.bytes_per_row;
  const UnalignedRows<D> unaligned;
  __m128i piece[P];
  const auto plain_row = [&](std::size_t r) {  // ordinary stores, unaligned loads
    const bool bad = q.row(unaligned, y + r * stride, piece);
    for (int p = 0; p < P; ++p) _mm_storeu_si128(reinterpret_cast<__m128i*>(codes + r * bytes_per_row + 16 * p), piece[p]);
    return bad;
  };
  if (n * bytes_per_row < kStreamingCodeBytes || !LineStreamer::usable(codes)) {
    for (std::size_t r = 0; r < n; ++r)
      if (plain_row(r)) return first_non_finite(y + r * stride, D, r);
    return kNoBadValue;
  }
  // A stream. Spliced loads need a row of the batch on both sides: all rows but the first and the last
  // (and at P < 4 a multiple of 4 / P of them); those go through plain_row, in order, around the streamed ones.
  const bool splice = stride % 16 == 0 && (reinterpret_cast<std::uintptr_t>(y) & 63) != 0;
  const std::size_t first = splice ? 1 : 0;
  std::size_t last = splice ? n - 1 : n;
  last -= (last - first) % (P >= 4 ? 1 : 4 / P);
  if (first == 1 && plain_row(0)) return first_non_finite(y, D, 0);
  LineStreamer out(codes + first * bytes_per_row);
  const std::size_t bad_row = splice ? stream_rows(q, SplicedRows<D>(y), y, n, stride, first, last, out)
                                     : stream_rows(q, unaligned, y, n, stride, first, last, out);
  out.finish();
  if (bad_row != kNoBadValue) return first_non_finite(y + bad_row * stride, D, bad_row);
  for (std::size_t r = last; r < n; ++r)
    if (plain_row(r)) return first_non_finite(y + r * stride, D, r);
  return kNoBadValue;
}

// Part A's own AVX-512 designs: d = 64, 128 at uniform 2, 4 or 8 bits, where the per-coordinate constants
// fit in registers. A 16-lane kernel loading them (any d) measured 0.65x the AVX2 kernel at d = 256
// (fast_bench BM_Quantize*/256/4), so other designs stay with AVX2.
bool own_design(const KernelConstants& kd) {
  const int b = kd.uniform_bits;
  return (b == 2 || b == 4 || b == 8) && (kd.dim == 64 || kd.dim == 128);
}

// f(bits, dim) with both as compile-time constants (std::integral_constant) for an own design.
template <class F>
decltype(auto) with_own_design(const KernelConstants& kd, F&& f) {
  const auto at = [&](auto bits) -> decltype(auto) {
    return kd.dim == 128 ? f(bits, std::integral_constant<int, 128>{}) : f(bits, std::integral_constant<int, 64>{});
  };
  if (kd.uniform_bits == 2) return at(std::integral_constant<int, 2>{});
  if (kd.uniform_bits == 4) return at(std::integral_constant<int, 4>{});
  return at(std::integral_constant<int, 8>{});
}

}  // namespace

std::size_t quantize_pack_avx512(const KernelConstants& kd, const float* y, std::size_t n, std::size_t stride,
                                 std::uint8_t* codes) {
  if (!own_design(kd)) return quantize_pack_avx2(kd, y, n, stride, codes);
  count_kernel(SimdLevel::avx512);
  return with_own_design(kd, [&](auto b, auto d) { return quantize_rows_fixed<b(), d()>(kd, y, n, stride, codes); });
}

namespace {

// E1: unpack+dequantize at compile-time d = D, uniform B bits: the contract's fl(fl(k step) + offset) per
// coordinate, step and offset in registers. Rows of a contiguous output of kStreamingCodeBytes' worth of
// codes and up go out through the LineStreamer (non-temporal whole lines: a decode writes 8x the bytes
// it reads, and ordinary stores read every line for ownership first).
template <int B, int D>
void unpack_rows_fixed(const KernelConstants& kd, const std::uint8_t* codes, std::size_t n, float* y, std::size_t stride) {
  constexpr int V = D / 16;
  __m512 step[V], offset[V];
  for (int v = 0; v < V; ++v) {
    step[v] = _mm512_loadu_ps(kd.step.data() + 16 * v);
    offset[v] = _mm512_loadu_ps(kd.offset.data() + 16 * v);
  }
  const std::size_t bytes_per_row = kd.bytes_per_row;
  const auto row_values = [&](std::size_t r, int v) {
    const __m512 k = _mm512_cvtepi32_ps(unpack16<B>(codes + r * bytes_per_row + 2 * B * v));
    return _mm512_add_ps(_mm512_mul_ps(k, step[v]), offset[v]);
  };
  if (stride == D && n * bytes_per_row >= kStreamingCodeBytes && LineStreamer::usable(reinterpret_cast<std::uint8_t*>(y))) {
    LineStreamer out(reinterpret_cast<std::uint8_t*>(y));
    for (std::size_t r = 0; r < n; ++r)
      for (int v = 0; v < V; ++v) out.push(_mm512_castps_si512(row_values(r, v)));
    out.finish();
    return;
  }
  for (std::size_t r = 0; r < n; ++r)
    for (int v = 0; v < V; ++v) _mm512_storeu_ps(y + r * stride + 16 * v, row_values(r, v));
}

}  // namespace

void unpack_dequantize_avx512(const KernelConstants& kd, const std::uint8_t* codes, std::size_t n, float* y, std::size_t stride) {
  if (!own_design(kd)) return unpack_dequantize_avx2(kd, codes, n, y, stride);
  count_kernel(SimdLevel::avx512);
  with_own_design(kd, [&](auto b, auto d) { unpack_rows_fixed<b(), d()>(kd, codes, n, y, stride); });
}

const CodecKernels kCodecAvx512 = {quantize_pack_avx512, unpack_dequantize_avx512, rotate_avx512};

}  // namespace dpq::fast::detail
