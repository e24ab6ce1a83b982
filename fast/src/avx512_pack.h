// Internal: AVX-512 packing of codes (the layout of deltapq/fast/codec.h), shared by the AVX-512 kernel
// files. Only included by files compiled with the AVX-512 flags; `static` so each keeps its copy.
#pragma once

#include <immintrin.h>

namespace dpq::fast::detail {
namespace {

// 16 4-bit codes (int32 lanes, each < 16) -> their 8 bytes, low nibble first, in the low half of an
// xmm: in each 64-bit lane (codes 2j, 2j+1) the odd code moves down to bits 4..7 of the even one's
// byte, and vpmovqb keeps that byte of each lane.
inline __m128i pack16_nibbles(__m512i k) { return _mm512_cvtepi64_epi8(_mm512_or_si512(k, _mm512_srli_epi64(k, 28))); }

}  // namespace
}  // namespace dpq::fast::detail
