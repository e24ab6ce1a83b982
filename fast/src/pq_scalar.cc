// The product quantizer's scalar contract: the operations the AVX2 kernels reproduce lane by lane.
#include <cmath>
#include <limits>

#include "codec_kernels.h"
#include "pq_kernels.h"

namespace dpq::fast::detail {

std::ptrdiff_t pq_assign_scalar(const PqBlock& b, const float* x, std::size_t n, std::size_t stride,
                                std::uint8_t* codes, std::size_t code_stride, float* best) {
  count_kernel(SimdLevel::scalar);
  std::ptrdiff_t bad = -1;
  float t[256];  // -2 x_j (exact: a power-of-two scaling); dsub <= 256 is checked by the caller
  for (std::size_t i = 0; i < n; ++i) {
    const float* xi = x + i * stride;
    for (int j = 0; j < b.dsub; ++j) t[j] = -2.0f * xi[j];
    float best_score = std::numeric_limits<float>::infinity();
    int best_k = 0;
    for (int k = 0; k < b.k; ++k) {
      float s = b.norms[k];
      for (int j = 0; j < b.dsub; ++j) s = std::fma(t[j], b.ct[static_cast<std::size_t>(j) * b.kpad + k], s);
      if (s < best_score) {
        best_score = s;
        best_k = k;
      }
    }
    codes[i * code_stride] = static_cast<std::uint8_t>(best_k);
    if (best) best[i] = best_score;
    if (!std::isfinite(best_score) && bad < 0) bad = static_cast<std::ptrdiff_t>(i);
  }
  return bad;
}

void pq_table_scalar(const PqBlock& b, const float* q, bool inner_product, float* table) {
  count_kernel(SimdLevel::scalar);
  for (int k = 0; k < b.k; ++k) {
    float s = 0.0f;
    for (int j = 0; j < b.dsub; ++j) {
      const float c = b.ct[static_cast<std::size_t>(j) * b.kpad + k];
      if (inner_product) {
        s = std::fma(q[j], c, s);
      } else {
        const float diff = c - q[j];
        s = std::fma(diff, diff, s);
      }
    }
    table[k] = s;
  }
}

const PqKernels kPqScalar = {pq_assign_scalar, pq_table_scalar};

}  // namespace dpq::fast::detail
