// The QJL score kernel's scalar contract (dispatch.h: 16 interleaved float partial sums, a fixed tree).
#include <algorithm>
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

void qjl_pack_signs_scalar(const float* p, std::size_t rows, std::size_t m, std::uint8_t* out, std::size_t out_stride) {
  count_kernel(SimdLevel::scalar);
  for (std::size_t r = 0; r < rows; ++r) {
    const float* pr = p + r * m;
    for (std::size_t j0 = 0; j0 < m; j0 += 8) {
      unsigned byte = 0;
      for (std::size_t j = j0; j < std::min(j0 + 8, m); ++j) byte |= static_cast<unsigned>(pr[j] >= 0) << (j - j0);
      out[r * out_stride + j0 / 8] = static_cast<std::uint8_t>(byte);
    }
  }
}

void qjl_unpack_signs_scalar(const std::uint8_t* in, std::size_t rows, std::size_t in_stride, std::size_t m, float* signs) {
  count_kernel(SimdLevel::scalar);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t j = 0; j < m; ++j) signs[r * m + j] = ((in[r * in_stride + j / 8] >> (j % 8)) & 1u) ? 1.0f : -1.0f;
}

const QjlKernels kQjlScalar = {qjl_scores_scalar, qjl_pack_signs_scalar, qjl_unpack_signs_scalar};

}  // namespace dpq::fast::detail
