// Internal: the product quantizer's kernels of each level (same arithmetic, same order).
#pragma once

#include <cstddef>
#include <cstdint>

#include "dispatch.h"

namespace dpq::fast::detail {

// One block of the codebook in the kernel layout: ct[j * kpad + k] = c_kj, norms[k] = ||c_k||^2
// (padding lanes: ct = 0, norms = +inf).
struct PqBlock {
  int dsub, k, kpad;
  const float* ct;
  const float* norms;
};

// For each row i of x (row pointer x + i * stride, d_m = dsub floats), the lowest index k of the
// minimal score s_k = fma chain (norms[k]; -2 x_j, ct[j][k]) for j = 0 .. dsub - 1, written to
// codes[i * code_stride]. best (optional, n floats) receives the minimal score. Returns the first
// row whose minimal score is not finite (overflow), or -1.
std::ptrdiff_t pq_assign_scalar(const PqBlock& b, const float* x, std::size_t n, std::size_t stride,
                                std::uint8_t* codes, std::size_t code_stride, float* best);
std::ptrdiff_t pq_assign_avx2(const PqBlock& b, const float* x, std::size_t n, std::size_t stride,
                              std::uint8_t* codes, std::size_t code_stride, float* best);
std::ptrdiff_t pq_assign_avx512(const PqBlock& b, const float* x, std::size_t n, std::size_t stride,
                                std::uint8_t* codes, std::size_t code_stride, float* best);

// table[k] (k < b.k): L2 = fma chain over j of (c_kj - q_j)^2 from 0; IP = fma chain of q_j c_kj from 0.
void pq_table_scalar(const PqBlock& b, const float* q, bool inner_product, float* table);
void pq_table_avx2(const PqBlock& b, const float* q, bool inner_product, float* table);
void pq_table_avx512(const PqBlock& b, const float* q, bool inner_product, float* table);

}  // namespace dpq::fast::detail
