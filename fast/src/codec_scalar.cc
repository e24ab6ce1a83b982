// The scalar kernels: the contract every SIMD level must match bit for bit.
#include <cmath>

#include "codec_kernels.h"

namespace dpq::fast::detail {

std::size_t quantize_pack_scalar(const KernelConstants& kd, const float* y, std::size_t n, std::size_t stride,
                                 std::uint8_t* codes) {
  count_kernel(SimdLevel::scalar);
  const std::size_t d = kd.dim;
  for (std::size_t r = 0; r < n; ++r) {
    const float* row = y + r * stride;
    std::uint8_t* out = codes + r * kd.bytes_per_row;
    std::memset(out, 0, kd.bytes_per_row);
    for (std::size_t i = 0; i < d; ++i) {
      if (!std::isfinite(row[i])) return r * d + i;
      put_bits(out, static_cast<std::size_t>(kd.bit_offset[i]),
               quantize_one(row[i], kd.shift[i], kd.inv_step[i], kd.max_index[i]), kd.bits[i]);
    }
  }
  return kNoBadValue;
}

void unpack_dequantize_scalar(const KernelConstants& kd, const std::uint8_t* codes, std::size_t n, float* y,
                              std::size_t stride) {
  count_kernel(SimdLevel::scalar);
  const std::size_t d = kd.dim;
  for (std::size_t r = 0; r < n; ++r) {
    const std::uint8_t* in = codes + r * kd.bytes_per_row;
    float* row = y + r * stride;
    for (std::size_t i = 0; i < d; ++i)
      row[i] = dequantize_one(get_bits(in, static_cast<std::size_t>(kd.bit_offset[i]), kd.bits[i]), kd.step[i],
                              kd.offset[i]);
  }
}

// The contract of the rotation: per output element an fma chain over j = 0..d-1 (std::fma: one
// rounding per step, as the AVX2 level's vfmadd).
void rotate_scalar(const float* x, std::size_t n, std::size_t k, const float* m, std::size_t cols, float* out) {
  count_kernel(SimdLevel::scalar);
  for (std::size_t r = 0; r < n; ++r) {
    float* o = out + r * cols;
    const float* xr = x + r * k;
    for (std::size_t i = 0; i < cols; ++i) o[i] = 0.0f;
    for (std::size_t j = 0; j < k; ++j) {
      const float xj = xr[j];
      const float* mj = m + j * cols;
      for (std::size_t i = 0; i < cols; ++i) o[i] = std::fma(xj, mj[i], o[i]);
    }
  }
}

const CodecKernels kCodecScalar = {quantize_pack_scalar, unpack_dequantize_scalar, rotate_scalar};

}  // namespace dpq::fast::detail
