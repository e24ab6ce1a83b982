// The turbo codec's AVX-512 encode and decode kernels (d = 2^k >= 16): the scalar contract's arithmetic, 16 lanes at
// a time. The norm keeps the contract's 8 interleaved partial sums (the two 8-lane halves of each
// register are added in coordinate order); the Walsh-Hadamard butterflies are a + b and a + (-1) b ==
// a - b exactly; the Lloyd-Max index is a branchless binary search of the sorted thresholds (the count of
// thresholds <= v, as the contract's linear count gives) from a 16- or 32-entry register table or,
// for b >= 6, a gather, or at b = 3, 4 a 32-cell table (CellSearch). Decoding has its own kernel for
// d = 32..256 at b = 2, 3, 4; d = 8, 16 and other widths use the AVX2 kernels (they count as avx2).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "avx2_pack.h"
#include "avx512_pack.h"
#include "codec_kernels.h"
#include "turbo_common.h"
#include "turbo_kernels.h"

namespace dpq::fast::detail {
namespace {

inline void wht_large_avx512(float* u, int d) {
  for (int h = 16; h < d; h *= 2)
    for (int i = 0; i < d; i += 2 * h)
      for (int j = i; j < i + h; j += 16) {
        const __m512 p = _mm512_load_ps(u + j), q = _mm512_load_ps(u + j + h);
        _mm512_store_ps(u + j, _mm512_add_ps(p, q));
        _mm512_store_ps(u + j + h, _mm512_sub_ps(p, q));
      }
}

// The count of thresholds <= v per lane: b steps of a binary search, step s comparing v with the
// threshold at idx + 2^(b-1-s) - 1.
struct Search {
  int bits;
  __m512 t16, t32hi;   // thresholds 0..15 and 16..31 (b <= 5), padded with the last one
  const float* thresholds;
  // Step s of the search for one register; offset = 2^s - 1 and inc = 2^s broadcast (once per step).
  __m512i step(__m512 v, __m512i idx, __m512i offset, __m512i inc) const {
    const __m512i probe = _mm512_add_epi32(idx, offset);
    __m512 t;
    if (bits <= 4) t = _mm512_permutexvar_ps(probe, t16);
    else if (bits == 5) t = _mm512_permutex2var_ps(t16, probe, t32hi);
    else t = _mm512_i32gather_ps(probe, thresholds, 4);
    return _mm512_mask_add_epi32(idx, _mm512_cmp_ps_mask(v, t, _CMP_GE_OQ), idx, inc);
  }
  __m512i index(__m512 v) const {
    __m512i idx = _mm512_setzero_si512();
    for (int s = bits - 1; s >= 0; --s) idx = step(v, idx, _mm512_set1_epi32((1 << s) - 1), _mm512_set1_epi32(1 << s));
    return idx;
  }
};

// D2: the Lloyd-Max index by a table of 32 cells, for codebooks whose thresholds fit one per cell (b = 3, 4):
// u = min(cvtt(fma(y, a, c)), 31) as unsigned (so t <= -1, t >= 31, +-inf and NaN all land in cell 31);
// in cells 0..30 the index is lo(u) + [y >= thr(u)], with at most one threshold thr(u) in the cell (+inf
// if none). Cell 31 holds both tails: thr = the first threshold, lo = 0, hi = 2^b - 1. The count of
// thresholds <= y, as the binary search gives, for every float y (cells are monotone in y: a correctly
// rounded fma of an increasing affine map, then truncation), with 8 instructions per register against
// 13 for the 4-step search. Built per call by scalar emulation of the same fma and conversion; a
// codebook that does not fit (two thresholds in a cell, or one in cell 31) keeps the binary search.
struct CellSearch {
  bool ok = false;
  __m512 a, c;
  __m512 thr_lo, thr_hi;      // cells 0..15, 16..31
  __m512i code_lo, code_hi;   // lo | hi << 16

  static std::uint32_t cell(float y, float a, float c) {  // the kernel's u for one float, emulated
    const float t = std::fma(y, a, c);
    const bool in_range = t >= -2147483648.0f && t < 2147483648.0f;  // false for NaN
    const auto i = in_range ? static_cast<std::int32_t>(t) : std::numeric_limits<std::int32_t>::min();
    return std::min<std::uint32_t>(static_cast<std::uint32_t>(i), 31u);
  }

  static CellSearch make(const float* thresholds, int bits) {
    CellSearch s;
    const int count = (1 << bits) - 1;
    if (bits < 3 || bits > 4) return s;
    const float first = thresholds[0], last = thresholds[count - 1];
    const float w = (last - first) / 29.0f;  // 29 cells over the thresholds, one margin cell each side
    if (!(w > 0) || !std::isfinite(w)) return s;
    const float a = 1.0f / w, c = -(first - w) * a;
    if (!std::isfinite(a) || !std::isfinite(c)) return s;
    int in_cell[32] = {};
    int which[32] = {};
    for (int j = 0; j < count; ++j) {
      const std::uint32_t u = cell(thresholds[j], a, c);
      if (u == 31 || in_cell[u] == 1) return s;
      in_cell[u] = 1;
      which[u] = j;
    }
    alignas(64) float thr[32];
    alignas(64) std::uint32_t code[32];
    std::uint32_t below = 0;  // thresholds in earlier cells
    for (int u = 0; u < 31; ++u) {
      thr[u] = in_cell[u] ? thresholds[which[u]] : std::numeric_limits<float>::infinity();
      code[u] = below | (below + static_cast<std::uint32_t>(in_cell[u])) << 16;
      below += static_cast<std::uint32_t>(in_cell[u]);
    }
    thr[31] = first;
    code[31] = static_cast<std::uint32_t>(count) << 16;
    s.ok = true;
    s.a = _mm512_set1_ps(a);
    s.c = _mm512_set1_ps(c);
    s.thr_lo = _mm512_load_ps(thr);
    s.thr_hi = _mm512_load_ps(thr + 16);
    s.code_lo = _mm512_load_si512(code);
    s.code_hi = _mm512_load_si512(code + 16);
    return s;
  }

  __m512i index(__m512 y) const {
    const __m512i u = _mm512_min_epu32(_mm512_cvttps_epi32(_mm512_fmadd_ps(y, a, c)), _mm512_set1_epi32(31));
    const __mmask16 up = _mm512_cmp_ps_mask(y, _mm512_permutex2var_ps(thr_lo, u, thr_hi), _CMP_GE_OQ);
    const __m512i e = _mm512_permutex2var_epi32(code_lo, u, code_hi);
    return _mm512_mask_srli_epi32(_mm512_and_si512(e, _mm512_set1_epi32(0xffff)), up, e, 16);
  }
};

// The in-register butterflies of one 16-lane register (strides 1, 2, 4, 8): per stage one shuffle w
// (each lane's partner) and one fma v * s + w with s = +1 in the lower lane of each pair and -1 in the
// upper one. With a the lower lane's value and b the upper's, that is a + b below and a + (-b) above:
// one rounding of an exact sum, the scalar contract's a + b and a - b bit for bit (the same +0 when
// a = b). One instruction per stage fewer than an add and a masked subtract.
inline __m512 wht16(__m512 v) {
  const __m512 one = _mm512_set1_ps(1.0f), minus = _mm512_set1_ps(-1.0f);
  const __m512 s1 = _mm512_mask_blend_ps(0xaaaa, one, minus), s2 = _mm512_mask_blend_ps(0xcccc, one, minus);
  const __m512 s4 = _mm512_mask_blend_ps(0xf0f0, one, minus), s8 = _mm512_mask_blend_ps(0xff00, one, minus);
  v = _mm512_fmadd_ps(v, s1, _mm512_permute_ps(v, _MM_SHUFFLE(2, 3, 0, 1)));          // stride 1: swap neighbours
  v = _mm512_fmadd_ps(v, s2, _mm512_permute_ps(v, _MM_SHUFFLE(1, 0, 3, 2)));          // stride 2
  v = _mm512_fmadd_ps(v, s4, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(2, 3, 0, 1)));    // stride 4: 128-bit lanes in pairs
  return _mm512_fmadd_ps(v, s8, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(1, 0, 3, 2))); // stride 8: 256-bit halves
}

// 16 codes of b bits -> 2b bytes at out (b = 1..8), LSB first: the two 8-code groups of pack8.
inline void store16(__m512i k, int b, std::uint8_t* out) {
  if (b == 4) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out), pack16_nibbles(k));
    return;
  }
  if (b == 8 || b == 2) {
    const __m128i v = _mm512_cvtepi32_epi8(k);  // every code < 256
    if (b == 8) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out), v);
    } else {  // v[4j] + 4 v[4j+1] + 16 v[4j+2] + 64 v[4j+3]
      const __m128i m = _mm_madd_epi16(_mm_maddubs_epi16(v, _mm_set1_epi16(0x0401)), _mm_set1_epi32(0x00100001));
      const int w = _mm_cvtsi128_si32(_mm_packus_epi16(_mm_packus_epi32(m, m), _mm_setzero_si128()));
      std::memcpy(out, &w, 4);
    }
    return;
  }
  if (b == 3) {  // per 8 codes: c0 + 8 c1 (vpmaddubsw), + 64 (c2 + 8 c3) (vpmaddwd), the two 12-bit dwords
    // of each qword joined, then bytes 0-2 and 8-10: the two 3-byte groups, stored as exactly 6 bytes.
    // Not pack8 and a 3-byte memcpy per group: a copy of run-time length is a libc call (b = 3 encoded
    // at 0.7x the rate of b = 4 with them).
    const __m128i v = _mm512_cvtepi32_epi8(k);
    const __m128i d = _mm_madd_epi16(_mm_maddubs_epi16(v, _mm_set1_epi16(0x0801)), _mm_set1_epi32(0x00400001));
    const __m128i q = _mm_or_si128(d, _mm_srli_epi64(d, 20));
    const __m128i g = _mm_shuffle_epi8(q, _mm_setr_epi8(0, 1, 2, 8, 9, 10, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1));
    _mm_mask_storeu_epi8(out, 0x3f, g);
    return;
  }
  const std::uint64_t g0 = pack8(_mm512_castsi512_si256(k), b), g1 = pack8(_mm512_extracti64x4_epi64(k, 1), b);
  std::memcpy(out, &g0, static_cast<std::size_t>(b));
  std::memcpy(out + b, &g1, static_cast<std::size_t>(b));
}

// d = D in {32, 64, 128, 256}: Q rows at a time, each whole row in D/16 registers (no buffer), the
// same operations in the same order as the general kernel below. The Q rows' dependency chains (the
// norm's partial sums, the sqrt and division, the search's steps) are independent, so they overlap.
// Returns the flat index of the first non-finite input (rows in order) or -1.
template <int D, int Q, bool Cells>
std::ptrdiff_t encode_rows(const TurboKernelArgs& a, const float* x, std::size_t r0, std::uint8_t* out, const Search& search,
                           const CellSearch& cells, __m512 cent16) {
  constexpr int R = D / 16;
  const int b = a.bits;
  const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(D));
  alignas(32) float part[Q][8];
  __m512 v[Q][R];
  bool bad[Q];
  for (int q = 0; q < Q; ++q) {
    const float* xr = x + (r0 + q) * static_cast<std::size_t>(D);
    __m256 acc = _mm256_setzero_ps();
    for (int k = 0; k < R; ++k) {
      const __m512 xv = _mm512_loadu_ps(xr + 16 * k);
      const __m512 sq = _mm512_mul_ps(xv, xv);
      acc = _mm256_add_ps(acc, _mm512_castps512_ps256(sq));
      acc = _mm256_add_ps(acc, _mm512_extractf32x8_ps(sq, 1));
      v[q][k] = wht16(_mm512_mul_ps(xv, _mm512_loadu_ps(a.signs + 16 * k)));
    }
    _mm256_store_ps(part[q], acc);
    // A NaN or an infinity among the inputs makes a partial sum NaN or +Inf, so acc - acc has a NaN
    // lane; so does a finite row whose squares overflow, which the scan below then passes.
    bad[q] = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_sub_ps(acc, acc), _mm256_setzero_ps(), _CMP_UNORD_Q)) != 0;
  }
  for (int q = 0; q < Q; ++q)
    if (bad[q]) {
      const float* xr = x + (r0 + q) * static_cast<std::size_t>(D);
      for (int i = 0; i < D; ++i)
        if (!std::isfinite(xr[i])) return static_cast<std::ptrdiff_t>((r0 + q) * static_cast<std::size_t>(D) + static_cast<std::size_t>(i));
    }
  __m512 y[Q][R];
  __m512i code[Q][R];
  for (int q = 0; q < Q; ++q) {
    for (int h = 1; h < R; h *= 2)  // strides 16, 32, ...: butterflies between registers
      for (int i = 0; i < R; i += 2 * h)
        for (int j = i; j < i + h; ++j) {
          const __m512 p = v[q][j], w = v[q][j + h];
          v[q][j] = _mm512_add_ps(p, w);
          v[q][j + h] = _mm512_sub_ps(p, w);
        }
    const float norm = std::sqrt(((part[q][0] + part[q][4]) + (part[q][1] + part[q][5])) +
                                 ((part[q][2] + part[q][6]) + (part[q][3] + part[q][7])));
    std::memcpy(out + (r0 + q) * a.record_bytes, &norm, 4);
    const __m512 scale = _mm512_set1_ps(norm > 0 ? inv_sqrt_d / norm : 0.0f);
    for (int k = 0; k < R; ++k) {
      y[q][k] = _mm512_mul_ps(v[q][k], scale);
      code[q][k] = _mm512_setzero_si512();
    }
  }
  if constexpr (Cells) {
    for (int q = 0; q < Q; ++q)
      for (int k = 0; k < R; ++k) code[q][k] = cells.index(y[q][k]);
  } else {
    // The search's steps interleaved over rows and registers: Q R independent chains per step. The first
    // step's probe is the same threshold for every lane (a broadcast, no permute), the second's one of
    // two (a blend on the first step's mask); the rest look theirs up. The same comparisons as step().
    {
      const int st = b - 1;
      const __m512 t_first = _mm512_set1_ps(search.thresholds[(1 << st) - 1]);
      const __m512i inc = _mm512_set1_epi32(1 << st);
      __mmask16 upper[Q][R];
      for (int q = 0; q < Q; ++q)
        for (int k = 0; k < R; ++k) {
          upper[q][k] = _mm512_cmp_ps_mask(y[q][k], t_first, _CMP_GE_OQ);
          code[q][k] = _mm512_maskz_mov_epi32(upper[q][k], inc);
        }
      if (st >= 1) {
        const __m512 lo = _mm512_set1_ps(search.thresholds[(1 << (st - 1)) - 1]);
        const __m512 hi = _mm512_set1_ps(search.thresholds[(1 << st) + (1 << (st - 1)) - 1]);
        const __m512i inc2 = _mm512_set1_epi32(1 << (st - 1));
        for (int q = 0; q < Q; ++q)
          for (int k = 0; k < R; ++k) {
            const __m512 t = _mm512_mask_blend_ps(upper[q][k], lo, hi);
            code[q][k] = _mm512_mask_add_epi32(code[q][k], _mm512_cmp_ps_mask(y[q][k], t, _CMP_GE_OQ), code[q][k], inc2);
          }
      }
    }
    for (int st = b - 3; st >= 0; --st) {
      const __m512i offset = _mm512_set1_epi32((1 << st) - 1), inc = _mm512_set1_epi32(1 << st);
      for (int q = 0; q < Q; ++q)
        for (int k = 0; k < R; ++k) code[q][k] = search.step(y[q][k], code[q][k], offset, inc);
    }
  }
  for (int q = 0; q < Q; ++q) {
    std::uint8_t* rec = out + (r0 + q) * a.record_bytes;
    float* res = a.residual ? a.residual + (r0 + q) * static_cast<std::size_t>(D) : nullptr;
    for (int k = 0; k < R; ++k) {
      if (res) {
        const __m512 c = b <= 4 ? _mm512_permutexvar_ps(code[q][k], cent16) : _mm512_i32gather_ps(code[q][k], a.centroids, 4);
        _mm512_storeu_ps(res + 16 * k, _mm512_sub_ps(y[q][k], c));
      }
      if (b != 2 || R % 4 != 0) store16(code[q][k], b, rec + 4 + 2 * b * k);
    }
    if (b == 2 && R % 4 == 0)  // 64 codes per 16-byte store, not 16 per 4-byte one
      for (int k = 0; k < R; k += 4)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(rec + 4 + 4 * k), pack64_2bit(code[q][k], code[q][k + 1], code[q][k + 2], code[q][k + 3]));
  }
  return -1;
}

template <int D, bool Cells>
std::ptrdiff_t encode_fixed_with(const TurboKernelArgs& a, const float* x, std::size_t n, std::uint8_t* out, const Search& search,
                                 const CellSearch& cells, __m512 cent16) {
  constexpr int Q = D <= 128 ? 2 : 1;
  std::size_t r = 0;
  for (; r + Q <= n; r += Q)
    if (const std::ptrdiff_t bad = encode_rows<D, Q, Cells>(a, x, r, out, search, cells, cent16); bad >= 0) return bad;
  for (; r < n; ++r)
    if (const std::ptrdiff_t bad = encode_rows<D, 1, Cells>(a, x, r, out, search, cells, cent16); bad >= 0) return bad;
  return -1;
}

template <int D>
std::ptrdiff_t encode_fixed(const TurboKernelArgs& a, const float* x, std::size_t n, std::uint8_t* out, const Search& search,
                            __m512 cent16) {
  const CellSearch cells = CellSearch::make(a.thresholds, a.bits);
  return cells.ok ? encode_fixed_with<D, true>(a, x, n, out, search, cells, cent16)
                  : encode_fixed_with<D, false>(a, x, n, out, search, cells, cent16);
}

}  // namespace

std::ptrdiff_t turbo_encode_avx512(const TurboKernelArgs& a, const float* x, std::size_t n, std::uint8_t* out) {
  const int d = a.dim, b = a.bits;
  if (d < 16) return turbo_encode_avx2(a, x, n, out);
  count_kernel(SimdLevel::avx512);
  const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(d));
  alignas(64) float u[16384];
  alignas(32) float part[8];
  const int L1 = (1 << b) - 1;
  alignas(64) float t32[32];
  for (int k = 0; k < 32; ++k) t32[k] = a.thresholds[k < L1 ? k : L1 - 1];
  Search search{b, _mm512_load_ps(t32), _mm512_load_ps(t32 + 16), a.thresholds};
  alignas(64) float c16[16];
  for (int k = 0; k < 16; ++k) c16[k] = a.centroids[k <= L1 ? k : L1];
  const __m512 cent16 = _mm512_load_ps(c16);
  switch (d) {
    case 32: return encode_fixed<32>(a, x, n, out, search, cent16);
    case 64: return encode_fixed<64>(a, x, n, out, search, cent16);
    case 128: return encode_fixed<128>(a, x, n, out, search, cent16);
    case 256: return encode_fixed<256>(a, x, n, out, search, cent16);
    default: break;
  }
  for (std::size_t r = 0; r < n; ++r) {
    const float* xr = x + r * static_cast<std::size_t>(d);
    __m256 acc = _mm256_setzero_ps();
    __m512 bad = _mm512_setzero_ps();
    for (int i = 0; i < d; i += 16) {
      const __m512 v = _mm512_loadu_ps(xr + i);
      bad = _mm512_add_ps(bad, _mm512_sub_ps(v, v));  // NaN for NaN/Inf
      const __m512 sq = _mm512_mul_ps(v, v);
      acc = _mm256_add_ps(acc, _mm512_castps512_ps256(sq));             // coordinates i .. i + 7
      acc = _mm256_add_ps(acc, _mm512_extractf32x8_ps(sq, 1));          // then i + 8 .. i + 15
      _mm512_store_ps(u + i, _mm512_mul_ps(v, _mm512_loadu_ps(a.signs + i)));
    }
    if (_mm512_cmp_ps_mask(bad, bad, _CMP_UNORD_Q))
      for (int i = 0; i < d; ++i)
        if (!std::isfinite(xr[i])) return static_cast<std::ptrdiff_t>(r * static_cast<std::size_t>(d) + static_cast<std::size_t>(i));
    _mm256_store_ps(part, acc);
    const float norm = std::sqrt(((part[0] + part[4]) + (part[1] + part[5])) + ((part[2] + part[6]) + (part[3] + part[7])));
    std::uint8_t* rec = out + r * a.record_bytes;
    std::memcpy(rec, &norm, 4);
    for (int i = 0; i < d; i += 16) _mm512_store_ps(u + i, wht16(_mm512_load_ps(u + i)));
    wht_large_avx512(u, d);
    const __m512 scale = _mm512_set1_ps(norm > 0 ? inv_sqrt_d / norm : 0.0f);
    std::uint8_t* codes = rec + 4;
    float* res = a.residual ? a.residual + r * static_cast<std::size_t>(d) : nullptr;
    auto quantize16 = [&](int i) {
      const __m512 v = _mm512_mul_ps(_mm512_load_ps(u + i), scale);
      const __m512i k = search.index(v);
      if (res) {
        const __m512 c = b <= 4 ? _mm512_permutexvar_ps(k, cent16) : _mm512_i32gather_ps(k, a.centroids, 4);
        _mm512_storeu_ps(res + i, _mm512_sub_ps(v, c));
      }
      return k;
    };
    int i = 0;
    if (b == 2 || b == 4 || b == 8)
      for (; i + 32 <= d; i += 32) {
        const __m512i k0 = quantize16(i), k1 = quantize16(i + 16);
        pack32(_mm512_castsi512_si256(k0), _mm512_extracti64x4_epi64(k0, 1), _mm512_castsi512_si256(k1),
               _mm512_extracti64x4_epi64(k1, 1), b, codes + i / 8 * b);
      }
    for (; i < d; i += 16) {
      const __m512i k = quantize16(i);
      const std::uint64_t g0 = pack8(_mm512_castsi512_si256(k), b), g1 = pack8(_mm512_extracti64x4_epi64(k, 1), b);
      std::memcpy(codes + i / 8 * b, &g0, static_cast<std::size_t>(b));
      std::memcpy(codes + (i + 8) / 8 * b, &g1, static_cast<std::size_t>(b));
    }
  }
  return -1;
}

namespace {

// D2: decode at d = D in {32, .., 256}, b = B in {2, 3, 4}: the scalar contract's operations in its order
// (centroid, + the QJL addend, the Walsh-Hadamard strides 1, 2, 4, ... as the encoder's butterflies,
// then (u * (norm / sqrt d)) * sign), each whole row in D / 16 registers. A contiguous output of
// kStreamingOutputBytes and up goes out through the LineStreamer (non-temporal whole lines).
inline constexpr std::size_t kStreamingOutputBytes = std::size_t{8} << 20;

template <int D, int B>
void decode_fixed(const TurboKernelArgs& a, const std::uint8_t* in, std::size_t n, float* x, __m512 cent16) {
  constexpr int R = D / 16;
  const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(D));
  __m512 sign[R];
  for (int k = 0; k < R; ++k) sign[k] = _mm512_loadu_ps(a.signs + 16 * k);
  const bool stream = n * D * sizeof(float) >= kStreamingOutputBytes && LineStreamer::usable(reinterpret_cast<std::uint8_t*>(x));
  LineStreamer out(reinterpret_cast<std::uint8_t*>(x));
  for (std::size_t r = 0; r < n; ++r) {
    const std::uint8_t* rec = in + r * a.record_bytes;
    float norm;
    std::memcpy(&norm, rec, 4);
    __m512 v[R];
    for (int k = 0; k < R; ++k) {
      v[k] = _mm512_permutexvar_ps(unpack16<B>(rec + 4 + 2 * B * k), cent16);
      if (a.addend) v[k] = _mm512_add_ps(v[k], _mm512_loadu_ps(a.addend + r * D + 16 * static_cast<std::size_t>(k)));
      v[k] = wht16(v[k]);
    }
    for (int h = 1; h < R; h *= 2)  // strides 16, 32, ...: butterflies between registers
      for (int i = 0; i < R; i += 2 * h)
        for (int j = i; j < i + h; ++j) {
          const __m512 p = v[j], w = v[j + h];
          v[j] = _mm512_add_ps(p, w);
          v[j + h] = _mm512_sub_ps(p, w);
        }
    const __m512 scale = _mm512_set1_ps(norm * inv_sqrt_d);
    for (int k = 0; k < R; ++k) {
      const __m512 y = _mm512_mul_ps(_mm512_mul_ps(v[k], scale), sign[k]);
      if (stream)
        out.push(_mm512_castps_si512(y));
      else
        _mm512_storeu_ps(x + r * D + 16 * static_cast<std::size_t>(k), y);
    }
  }
  if (stream) out.finish();
}

template <int B>
void decode_bits(const TurboKernelArgs& a, const std::uint8_t* in, std::size_t n, float* x, __m512 cent16) {
  switch (a.dim) {
    case 32: return decode_fixed<32, B>(a, in, n, x, cent16);
    case 64: return decode_fixed<64, B>(a, in, n, x, cent16);
    case 128: return decode_fixed<128, B>(a, in, n, x, cent16);
    default: return decode_fixed<256, B>(a, in, n, x, cent16);  // the caller checked d
  }
}

}  // namespace

void turbo_decode_avx512(const TurboKernelArgs& a, const std::uint8_t* in, std::size_t n, float* x) {
  const int b = a.bits, d = a.dim;
  if (b < 2 || b > 4 || (d != 32 && d != 64 && d != 128 && d != 256)) return turbo_decode_avx2(a, in, n, x);
  alignas(64) float c16[16];
  const int top = (1 << b) - 1;
  for (int k = 0; k < 16; ++k) c16[k] = a.centroids[k <= top ? k : top];
  const __m512 cent16 = _mm512_load_ps(c16);
  count_kernel(SimdLevel::avx512);
  if (b == 2) return decode_bits<2>(a, in, n, x, cent16);
  if (b == 3) return decode_bits<3>(a, in, n, x, cent16);
  decode_bits<4>(a, in, n, x, cent16);
}

bool turbo_index_avx512(const float* thresholds, int bits, const float* y, std::size_t n, std::uint32_t* codes) {
  const int count = (1 << bits) - 1;
  alignas(64) float t32[32];
  for (int k = 0; k < 32; ++k) t32[k] = thresholds[k < count ? k : count - 1];
  const Search search{bits, _mm512_load_ps(t32), _mm512_load_ps(t32 + 16), thresholds};
  const CellSearch cells = CellSearch::make(thresholds, bits);
  for (std::size_t i = 0; i < n; i += 16) {
    const __mmask16 m = static_cast<__mmask16>(n - i >= 16 ? 0xffffu : (1u << (n - i)) - 1u);
    const __m512 v = _mm512_maskz_loadu_ps(m, y + i);
    _mm512_mask_storeu_epi32(codes + i, m, cells.ok ? cells.index(v) : search.index(v));
  }
  return cells.ok;
}

const TurboKernels kTurboAvx512 = {turbo_encode_avx512, turbo_decode_avx512};

}  // namespace dpq::fast::detail
