#include <cblas.h>

#include <cfloat>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "deltapq/core/error.h"
#include "deltapq/fast/codec.h"
#include "batch_check.h"
#include "codec_kernels.h"

namespace dpq::fast {
namespace {

std::string at(const char* what, std::size_t i) { return std::string(what) + "[" + std::to_string(i) + "]"; }

// A literal message is only turned into a std::string when it is thrown: the checks run on every call,
// and the closed loop calls with one row per token (a std::string per check was a heap allocation each).
void require(bool ok, const char* message) {
  if (!ok) throw Error(message);
}
void require(bool ok, const std::string& message) {
  if (!ok) throw Error(message);
}

// Rows per block of the encode/decode pipelines: the rotated block stays in L2.
constexpr std::size_t kBlockRows = 256;

void report_bad_value(std::size_t flat, std::size_t d, const float* x) {
  if (flat != detail::kNoBadValue) detail::throw_non_finite("", x, flat, d);
}

}  // namespace

KernelConstants make_kernel_constants(const FastDesign& ds) {
  validate_design(ds, 1, kMaxFastBits, "fast design");
  const std::size_t d = ds.dim();
  KernelConstants kd;
  kd.dim = d;
  kd.bits = ds.bits;
  std::vector<double> m(d, 0.0);  // m = U^T mu, in double, rounded once below
  if (!ds.mean.empty())
    for (std::size_t i = 0; i < d; ++i)
      for (std::size_t j = 0; j < d; ++j)
        m[i] += static_cast<double>(ds.mean[j]) * (ds.basis.empty() ? (i == j ? 1.0 : 0.0) : ds.basis[j * d + i]);
  int total = 0;
  kd.uniform_bits = ds.bits[0];
  for (std::size_t i = 0; i < d; ++i) {
    const int b = ds.bits[i];
    const float c = ds.clip[i];
    const float step = std::ldexp(c, 1 - b);  // 2c / 2^b: exact unless it underflows
    require(step > 0 && std::isnormal(step), "fast design: " + at("clip", i) + " = " + std::to_string(c) + " is too small for float steps");
    kd.step.push_back(step);
    kd.inv_step.push_back(1.0f / step);
    kd.shift.push_back(static_cast<float>(static_cast<double>(c) - m[i]));
    kd.offset.push_back(static_cast<float>(static_cast<double>(step) / 2 - static_cast<double>(c)));
    kd.max_index.push_back(static_cast<float>((1 << b) - 1));
    kd.bit_offset.push_back(total);
    total += b;
    if (b != kd.uniform_bits) kd.uniform_bits = 0;
  }
  kd.bytes_per_row = static_cast<std::size_t>(total + 7) / 8;
  return kd;
}

void quantize_pack(const KernelConstants& kd, const float* y, std::size_t n, std::size_t y_stride, std::uint8_t* codes,
                   std::optional<SimdLevel> level) {
  if (n == 0) return;
  require(y && codes, "quantize_pack: null buffer");
  if (y_stride < kd.dim) throw Error("quantize_pack: row stride " + std::to_string(y_stride) + " < d = " + std::to_string(kd.dim));
  const std::size_t bad = detail::codec_kernels(select_simd(level)).quantize_pack(kd, y, n, y_stride, codes);
  if (bad != detail::kNoBadValue) {
    const std::size_t r = bad / kd.dim, c = bad % kd.dim;
    const float v = y[r * y_stride + c];
    throw Error(std::string(std::isnan(v) ? "NaN" : "Inf") + " at row " + std::to_string(r) + ", column " + std::to_string(c));
  }
}

void unpack_dequantize(const KernelConstants& kd, const std::uint8_t* codes, std::size_t n, float* y, std::size_t y_stride,
                       std::optional<SimdLevel> level) {
  if (n == 0) return;
  require(y && codes, "unpack_dequantize: null buffer");
  if (y_stride < kd.dim) throw Error("unpack_dequantize: row stride " + std::to_string(y_stride) + " < d = " + std::to_string(kd.dim));
  detail::codec_kernels(select_simd(level)).unpack_dequantize(kd, codes, n, y, y_stride);
}

void rotate(const float* x, std::size_t n, std::size_t d, const float* basis, float* out) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(n), static_cast<int>(d), static_cast<int>(d),
              1.0f, x, static_cast<int>(d), basis, static_cast<int>(d), 0.0f, out, static_cast<int>(d));
}

void rotate_back(const float* y, std::size_t n, std::size_t d, const float* basis, float* out) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), static_cast<int>(d), static_cast<int>(d),
              1.0f, y, static_cast<int>(d), basis, static_cast<int>(d), 0.0f, out, static_cast<int>(d));
}

Codec::Codec(FastDesign design) : design_(std::move(design)), kernel_(make_kernel_constants(design_)) {
  // Decoding multiplies by U = (U^T)^T: keep U^T row-major so both directions stream rows.
  const std::size_t d = kernel_.dim;
  if (!design_.basis.empty()) {
    basis_t_.resize(d * d);
    for (std::size_t j = 0; j < d; ++j)
      for (std::size_t i = 0; i < d; ++i) basis_t_[i * d + j] = design_.basis[j * d + i];
  }
}

namespace {
// Per-thread scratch, grown once: no allocation (and no zeroing) in the hot loop.
float* scratch(std::size_t floats) {
  thread_local std::vector<float> buf;
  if (buf.size() < floats) buf.resize(floats);
  return buf.data();
}
}  // namespace

void Codec::encode(const float* x, std::size_t n, std::uint8_t* codes, std::optional<SimdLevel> level) const {
  if (n == 0) return;
  require(x && codes, "encode: null buffer");
  const std::size_t d = kernel_.dim;
  const SimdLevel simd = select_simd(level);
  if (design_.basis.empty()) {
    // Identity basis: the mean is folded into the shift, so the kernel reads x directly.
    try {
      quantize_pack(kernel_, x, n, d, codes, simd);
    } catch (const Error& e) {
      throw Error(std::string("encode: ") + e.what());
    }
    return;
  }
  const detail::CodecKernels& k = detail::codec_kernels(simd);
  float* block = scratch(std::min(kBlockRows, n) * d);
  for (std::size_t r0 = 0; r0 < n; r0 += kBlockRows) {
    const std::size_t rows = std::min(kBlockRows, n - r0);
    // NaN/Inf must be reported in x's coordinates, before the GEMM mixes them. A row whose values are
    // so large that y = U^T x may overflow float32 (|x| > FLT_MAX / (2 d); the GEMM's partial sums
    // are bounded by d max|x| max|U|) is refused too: its codes would be those of Inf or NaN.
    const float limit = FLT_MAX / (2.0f * static_cast<float>(d));
    // One branch-free pass (it vectorizes) says whether the block is clean: NaN, Inf and |x| > limit all
    // fail |x| <= limit. Only a dirty block is scanned again to name the first offending value.
    unsigned dirty = 0;
    for (std::size_t i = 0; i < rows * d; ++i) dirty |= !(std::fabs(x[r0 * d + i]) <= limit);
    for (std::size_t i = 0; dirty && i < rows * d; ++i) {
      const float v = x[r0 * d + i];
      if (!std::isfinite(v)) report_bad_value(r0 * d + i, d, x);
      if (std::fabs(v) > limit) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.6g", static_cast<double>(v));
        throw Error("row " + std::to_string(r0 + i / d) + ", column " + std::to_string(i % d) + ": |x| = " + buf +
                    " exceeds FLT_MAX / (2 d): the rotation y = U^T x may overflow float32");
      }
    }
    k.rotate(x + r0 * d, rows, d, design_.basis.data(), d, block);
    quantize_pack(kernel_, block, rows, d, codes + r0 * kernel_.bytes_per_row, simd);
  }
}

void Codec::decode(const std::uint8_t* codes, std::size_t n, float* out, std::optional<SimdLevel> level) const {
  if (n == 0) return;
  require(out && codes, "decode: null buffer");
  const std::size_t d = kernel_.dim;
  const SimdLevel simd = select_simd(level);
  if (design_.basis.empty()) {
    unpack_dequantize(kernel_, codes, n, out, d, simd);
    if (!design_.mean.empty())
      for (std::size_t r = 0; r < n; ++r)
        for (std::size_t i = 0; i < d; ++i) out[r * d + i] += design_.mean[i];
    return;
  }
  const detail::CodecKernels& k = detail::codec_kernels(simd);
  float* block = scratch(std::min(kBlockRows, n) * d);
  for (std::size_t r0 = 0; r0 < n; r0 += kBlockRows) {
    const std::size_t rows = std::min(kBlockRows, n - r0);
    unpack_dequantize(kernel_, codes + r0 * kernel_.bytes_per_row, rows, block, d, simd);
    k.rotate(block, rows, d, basis_t_.data(), d, out + r0 * d);
    if (!design_.mean.empty())
      for (std::size_t r = r0; r < r0 + rows; ++r)
        for (std::size_t i = 0; i < d; ++i) out[r * d + i] += design_.mean[i];
  }
}

}  // namespace dpq::fast
