// The QJL score kernel's scalar contract (dispatch.h: 16 interleaved float partial sums, a fixed tree).
#include <cstring>

#include "dispatch.h"

namespace dpq::fast::detail {

void qjl_scores_scalar(const std::uint8_t* records, std::size_t n, std::size_t stride, std::size_t m, const float* q,
                       float scale, float* out) {
  count_kernel(SimdLevel::scalar);
  for (std::size_t r = 0; r < n; ++r) {
    const std::uint8_t* rec = records + r * stride;
    float norm;
    std::memcpy(&norm, rec, 4);
    float acc[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    for (std::size_t j = 0; j < m; ++j) acc[j % 16] += ((rec[4 + j / 8] >> (j % 8)) & 1u) ? q[j] : -q[j];
    for (int half = 8; half >= 1; half /= 2)
      for (int l = 0; l < half; ++l) acc[l] = acc[l] + acc[l + half];
    out[r] = (scale * norm) * acc[0];
  }
}

const QjlKernels kQjlScalar = {qjl_scores_scalar};

}  // namespace dpq::fast::detail
