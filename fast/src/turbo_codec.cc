#include "deltapq/fast/turbo_codec.h"

#include <cblas.h>

#include <boost/random/mersenne_twister.hpp>
#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_int_distribution.hpp>
#include <cmath>
#include <cstring>

#include "deltapq/core/error.h"
#include "batch_check.h"
#include "kernels.h"
#include "turbo_common.h"
#include "turbo_kernels.h"

namespace dpq::fast {
namespace {

bool power_of_two(int d) { return d > 0 && (d & (d - 1)) == 0; }
constexpr int kMaxTurboDim = 16384;

}  // namespace

void walsh_hadamard(float* x, int n) { detail::wht_strides(x, n, 1); }

Rotation::Rotation(int dim, std::uint64_t seed, bool force_dense) : dim_(dim) {
  if (dim < 1 || dim > kMaxTurboDim) throw Error("rotation: d = " + std::to_string(dim) + " is outside 1..16384");
  boost::random::mt19937_64 rng(seed);
  if (power_of_two(dim) && !force_dense) {
    boost::random::uniform_int_distribution<int> coin(0, 1);
    for (int i = 0; i < dim; ++i) signs_.push_back(coin(rng) ? 1.0f : -1.0f);
    return;
  }
  // Dense: modified Gram-Schmidt on Gaussian rows, in double, rounded once.
  boost::random::normal_distribution<double> normal;
  std::vector<double> q(static_cast<std::size_t>(dim) * dim);
  for (auto& v : q) v = normal(rng);
  for (int r = 0; r < dim; ++r) {
    for (int p = 0; p < r; ++p) {
      double s = 0;
      for (int i = 0; i < dim; ++i) s += q[static_cast<std::size_t>(r) * dim + i] * q[static_cast<std::size_t>(p) * dim + i];
      for (int i = 0; i < dim; ++i) q[static_cast<std::size_t>(r) * dim + i] -= s * q[static_cast<std::size_t>(p) * dim + i];
    }
    double n = 0;
    for (int i = 0; i < dim; ++i) n += q[static_cast<std::size_t>(r) * dim + i] * q[static_cast<std::size_t>(r) * dim + i];
    for (int i = 0; i < dim; ++i) q[static_cast<std::size_t>(r) * dim + i] /= std::sqrt(n);
  }
  dense_.assign(q.begin(), q.end());
}

void Rotation::apply(float* x) const {
  const int d = dim_;
  if (hadamard()) {
    for (int i = 0; i < d; ++i) x[i] *= signs_[i];
    walsh_hadamard(x, d);
    const float s = 1.0f / std::sqrt(static_cast<float>(d));
    for (int i = 0; i < d; ++i) x[i] *= s;
    return;
  }
  std::vector<float> y(static_cast<std::size_t>(d));
  for (int r = 0; r < d; ++r) {
    double s = 0;
    for (int i = 0; i < d; ++i) s += static_cast<double>(dense_[static_cast<std::size_t>(r) * d + i]) * x[i];
    y[static_cast<std::size_t>(r)] = static_cast<float>(s);
  }
  std::copy(y.begin(), y.end(), x);
}

void Rotation::inverse(float* x) const {
  const int d = dim_;
  if (hadamard()) {
    walsh_hadamard(x, d);  // H^{-1} = H / d and D^{-1} = D
    const float s = 1.0f / std::sqrt(static_cast<float>(d));
    for (int i = 0; i < d; ++i) x[i] *= s * signs_[i];
    return;
  }
  std::vector<double> y(static_cast<std::size_t>(d), 0.0);
  for (int r = 0; r < d; ++r)
    for (int i = 0; i < d; ++i) y[static_cast<std::size_t>(i)] += static_cast<double>(dense_[static_cast<std::size_t>(r) * d + i]) * x[r];
  for (int i = 0; i < d; ++i) x[i] = static_cast<float>(y[static_cast<std::size_t>(i)]);
}

TurboCodec::TurboCodec(int dim, int bits, std::vector<float> centroids, std::uint64_t seed, bool force_dense)
    : dim_(dim), bits_(bits), centroids_(std::move(centroids)), rot_(dim, seed, force_dense) {
  if (bits < 1 || bits > 8) throw Error("turbo codec: bits = " + std::to_string(bits) + " is outside 1..8");
  if (centroids_.size() != (std::size_t{1} << bits))
    throw Error("turbo codec: " + std::to_string(centroids_.size()) + " centroids for " + std::to_string(bits) + " bits");
  for (std::size_t i = 0; i < centroids_.size(); ++i) {
    if (!std::isfinite(centroids_[i])) throw Error("turbo codec: centroid " + std::to_string(i) + " is not finite");
    if (i && !(centroids_[i - 1] < centroids_[i])) throw Error("turbo codec: centroids are not increasing at " + std::to_string(i));
    if (i) thresholds_.push_back(0.5f * (centroids_[i - 1] + centroids_[i]));
  }
  code_bytes_ = (static_cast<std::size_t>(dim) * static_cast<std::size_t>(bits) + 7) / 8;
}

void TurboCodec::encode(const float* x, std::size_t n, std::uint8_t* out, std::optional<SimdLevel> level) const {
  if (n == 0) return;
  if (!x || !out) throw Error("turbo encode: null buffer");
  const detail::TurboKernelArgs args{dim_, bits_, rot_.signs().data(), thresholds_.data(), centroids_.data(), code_bytes_};
  std::ptrdiff_t bad = -1;
  if (rot_.hadamard() && dim_ >= 8) {
    bad = select_simd(level) == SimdLevel::avx2 ? detail::turbo_encode_avx2(args, x, n, out)
                                                : detail::turbo_encode_scalar(args, x, n, out);
  } else {
    // Dense rotation (or tiny d): norms, then one sgemm per block, then the scalar quantizer.
    const std::size_t d = static_cast<std::size_t>(dim_), block = 256;
    std::vector<float> u(block * d), y(block * d);
    for (std::size_t r0 = 0; r0 < n && bad < 0; r0 += block) {
      const std::size_t rows = std::min(block, n - r0);
      std::vector<float> norms(rows);
      for (std::size_t r = 0; r < rows; ++r) {
        const float* xr = x + (r0 + r) * d;
        for (std::size_t i = 0; i < d; ++i)
          if (!std::isfinite(xr[i])) {
            bad = static_cast<std::ptrdiff_t>((r0 + r) * d + i);
            break;
          }
        if (bad >= 0) break;
        norms[r] = std::sqrt(detail::sum_squares8(xr, dim_));
        const float inv = norms[r] > 0 ? 1.0f / norms[r] : 0.0f;
        for (std::size_t i = 0; i < d; ++i) u[r * d + i] = xr[i] * inv;
      }
      if (bad >= 0) break;
      if (rot_.hadamard()) {
        for (std::size_t r = 0; r < rows; ++r) {
          std::copy(u.begin() + static_cast<std::ptrdiff_t>(r * d), u.begin() + static_cast<std::ptrdiff_t>((r + 1) * d), y.begin() + static_cast<std::ptrdiff_t>(r * d));
          rot_.apply(y.data() + r * d);
        }
      } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), dim_, dim_, 1.0f, u.data(), dim_,
                    rot_.dense().data(), dim_, 0.0f, y.data(), dim_);
      }
      for (std::size_t r = 0; r < rows; ++r) {
        std::uint8_t* rec = out + (r0 + r) * bytes_per_vector();
        std::memcpy(rec, &norms[r], 4);
        std::memset(rec + 4, 0, code_bytes_);
        for (std::size_t i = 0; i < d; ++i) {
          std::uint32_t k = 0;
          for (float t : thresholds_) k += y[r * d + i] >= t;
          detail::put_bits(rec + 4, i * static_cast<std::size_t>(bits_), k, bits_);
        }
      }
    }
  }
  if (bad >= 0) {
    detail::throw_non_finite("", x, static_cast<std::size_t>(bad), static_cast<std::size_t>(dim_));
  }
}

void TurboCodec::decode(const std::uint8_t* in, std::size_t n, float* x, std::optional<SimdLevel> level) const {
  if (n == 0) return;
  if (!x || !in) throw Error("turbo decode: null buffer");
  const detail::TurboKernelArgs args{dim_, bits_, rot_.signs().data(), thresholds_.data(), centroids_.data(), code_bytes_};
  if (rot_.hadamard() && dim_ >= 8) {
    if (select_simd(level) == SimdLevel::avx2) detail::turbo_decode_avx2(args, in, n, x);
    else detail::turbo_decode_scalar(args, in, n, x);
    return;
  }
  const std::size_t d = static_cast<std::size_t>(dim_);
  std::vector<float> u(d);
  for (std::size_t r = 0; r < n; ++r) {
    const std::uint8_t* rec = in + r * bytes_per_vector();
    float norm;
    std::memcpy(&norm, rec, 4);
    for (std::size_t i = 0; i < d; ++i) u[i] = centroids_[detail::get_bits(rec + 4, i * static_cast<std::size_t>(bits_), bits_)];
    rot_.inverse(u.data());
    for (std::size_t i = 0; i < d; ++i) x[r * d + i] = u[i] * norm;
  }
}

}  // namespace dpq::fast
