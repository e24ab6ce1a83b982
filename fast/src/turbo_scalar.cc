// The turbo codec's scalar kernels: the contract the AVX2 kernels match bit for bit.
#include <cmath>
#include <cstring>

#include "turbo_common.h"
#include "turbo_kernels.h"
#include "codec_kernels.h"

namespace dpq::fast::detail {

std::ptrdiff_t turbo_encode_scalar(const TurboKernelArgs& a, const float* x, std::size_t n, std::uint8_t* out) {
  count_kernel(SimdLevel::scalar);
  const int d = a.dim, L1 = (1 << a.bits) - 1;
  const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(d));
  float u[16384];
  for (std::size_t r = 0; r < n; ++r) {
    const float* xr = x + r * static_cast<std::size_t>(d);
    for (int i = 0; i < d; ++i)
      if (!std::isfinite(xr[i])) return static_cast<std::ptrdiff_t>(r * static_cast<std::size_t>(d) + static_cast<std::size_t>(i));
    const float norm = std::sqrt(sum_squares8(xr, d));
    std::uint8_t* rec = out + r * a.record_bytes;
    std::memcpy(rec, &norm, 4);
    for (int i = 0; i < d; ++i) u[i] = xr[i] * a.signs[i];
    wht_strides(u, d, 1);
    const float scale = norm > 0 ? inv_sqrt_d / norm : 0.0f;
    std::uint8_t* codes = rec + 4;
    std::memset(codes, 0, a.code_bytes);
    for (int i = 0; i < d; ++i) {
      const float v = u[i] * scale;
      std::uint32_t k = 0;
      for (int t = 0; t < L1; ++t) k += v >= a.thresholds[t];
      if (a.residual) a.residual[r * static_cast<std::size_t>(d) + static_cast<std::size_t>(i)] = v - a.centroids[k];
      put_bits(codes, static_cast<std::size_t>(i) * static_cast<std::size_t>(a.bits), k, a.bits);
    }
  }
  return -1;
}

void turbo_decode_scalar(const TurboKernelArgs& a, const std::uint8_t* in, std::size_t n, float* x) {
  count_kernel(SimdLevel::scalar);
  const int d = a.dim;
  const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(d));
  float u[16384];
  for (std::size_t r = 0; r < n; ++r) {
    const std::uint8_t* rec = in + r * a.record_bytes;
    float norm;
    std::memcpy(&norm, rec, 4);
    for (int i = 0; i < d; ++i)
      u[i] = a.centroids[get_bits(rec + 4, static_cast<std::size_t>(i) * static_cast<std::size_t>(a.bits), a.bits)];
    if (a.addend)
      for (int i = 0; i < d; ++i) u[i] = u[i] + a.addend[r * static_cast<std::size_t>(d) + static_cast<std::size_t>(i)];
    wht_strides(u, d, 1);
    const float scale = norm * inv_sqrt_d;
    float* xr = x + r * static_cast<std::size_t>(d);
    for (int i = 0; i < d; ++i) xr[i] = (u[i] * scale) * a.signs[i];
  }
}

const TurboKernels kTurboScalar = {turbo_encode_scalar, turbo_decode_scalar};

}  // namespace dpq::fast::detail
