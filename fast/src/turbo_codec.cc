#include "deltapq/fast/turbo_codec.h"

#include <cblas.h>

#include <boost/random/mersenne_twister.hpp>
#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_int_distribution.hpp>
#include <cmath>
#include <cstring>

#include "deltapq/core/error.h"
#include "batch_check.h"
#include "codec_kernels.h"
#include "turbo_common.h"
#include "turbo_kernels.h"

namespace dpq::fast {
namespace {

bool power_of_two(int d) { return d > 0 && (d & (d - 1)) == 0; }
constexpr int kMaxTurboDim = 16384;
constexpr std::size_t kQjlBlockRows = 64;  // rows per fused QJL block (residuals and projections stay in cache)
constexpr std::uint64_t kSketchSeed = 0x5151515151ULL;  // the QJL sketch's seed is the rotation's xor this

RotationKind resolve(RotationKind kind, int dim) {
  if (kind == RotationKind::automatic) return power_of_two(dim) ? RotationKind::hadamard : RotationKind::dense;
  if (kind == RotationKind::hadamard && !power_of_two(dim))
    throw Error("rotation: a Walsh-Hadamard rotation needs d = 2^k, got d = " + std::to_string(dim));
  return kind;
}

}  // namespace

void walsh_hadamard(float* x, int n) { detail::wht_strides(x, n, 1); }

Rotation::Rotation(int dim, std::uint64_t seed, RotationKind kind) : dim_(dim) {
  if (dim < 1 || dim > kMaxTurboDim) throw Error("rotation: d = " + std::to_string(dim) + " is outside 1..16384");
  kind_ = resolve(kind, dim);
  boost::random::mt19937_64 rng(seed);
  if (kind_ == RotationKind::identity) return;
  if (kind_ == RotationKind::hadamard) {
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
  if (kind_ == RotationKind::identity) return;
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
  if (kind_ == RotationKind::identity) return;
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

ScalarCodebook ScalarCodebook::from_centroids(std::vector<float> centroids) {
  ScalarCodebook cb;
  cb.centroids = std::move(centroids);
  for (std::size_t i = 0; i + 1 < cb.centroids.size(); ++i)
    cb.thresholds.push_back(0.5f * (cb.centroids[i] + cb.centroids[i + 1]));
  return cb;
}

TurboCodec::TurboCodec(int dim, int bits, ScalarCodebook codebook, const TurboOptions& options)
    : dim_(dim), bits_(bits), codebook_(std::move(codebook)), rot_(dim, options.seed, options.rotation) {
  if (bits < 1 || bits > 8) throw Error("turbo codec: bits = " + std::to_string(bits) + " is outside 1..8");
  const auto& c = codebook_.centroids;
  const auto& t = codebook_.thresholds;
  if (c.size() != (std::size_t{1} << bits))
    throw Error("turbo codec: " + std::to_string(c.size()) + " centroids for " + std::to_string(bits) + " bits");
  if (t.size() + 1 != c.size())
    throw Error("turbo codec: " + std::to_string(t.size()) + " thresholds for " + std::to_string(c.size()) + " centroids");
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (!std::isfinite(c[i])) throw Error("turbo codec: centroid " + std::to_string(i) + " is not finite");
    if (i && !(c[i - 1] < c[i])) throw Error("turbo codec: centroids are not increasing at " + std::to_string(i));
  }
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (!std::isfinite(t[i])) throw Error("turbo codec: threshold " + std::to_string(i) + " is not finite");
    if (i && !(t[i - 1] < t[i])) throw Error("turbo codec: thresholds are not increasing at " + std::to_string(i));
  }
  if (options.qjl_rows < 0) throw Error("turbo codec: QJL rows m = " + std::to_string(options.qjl_rows) + " must be >= 0");
  code_bytes_ = (static_cast<std::size_t>(dim) * static_cast<std::size_t>(bits) + 7) / 8;
  record_bytes_ = 4 + code_bytes_;
  if (options.qjl_rows > 0) {
    qjl_ = std::make_shared<QjlSketch>(dim, options.qjl_rows, options.qjl_seed.value_or(options.seed ^ kSketchSeed));
    record_bytes_ += qjl_->bytes_per_vector();
  }
}

void TurboCodec::encode_generic(const float* x, std::size_t n, std::uint8_t* out, std::ptrdiff_t& bad) const {
  // Dense rotation, identity, or tiny d: norms, then one sgemm per block, then the scalar quantizer.
  const std::size_t d = static_cast<std::size_t>(dim_), block = 256;
  std::vector<float> u(block * d), y(block * d), r(d);
  std::vector<float> norms(block);
  for (std::size_t r0 = 0; r0 < n && bad < 0; r0 += block) {
    const std::size_t rows = std::min(block, n - r0);
    for (std::size_t k = 0; k < rows; ++k) {
      const float* xr = x + (r0 + k) * d;
      for (std::size_t i = 0; i < d; ++i)
        if (!std::isfinite(xr[i])) {
          bad = static_cast<std::ptrdiff_t>((r0 + k) * d + i);
          return;
        }
      norms[k] = std::sqrt(detail::sum_squares8(xr, dim_));
      const float inv = norms[k] > 0 ? 1.0f / norms[k] : 0.0f;
      for (std::size_t i = 0; i < d; ++i) u[k * d + i] = xr[i] * inv;
    }
    if (rot_.kind() == RotationKind::dense) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), dim_, dim_, 1.0f, u.data(), dim_,
                  rot_.dense().data(), dim_, 0.0f, y.data(), dim_);
    } else {
      std::copy(u.begin(), u.begin() + static_cast<std::ptrdiff_t>(rows * d), y.begin());
      for (std::size_t k = 0; k < rows; ++k) rot_.apply(y.data() + k * d);
    }
    for (std::size_t k = 0; k < rows; ++k) {
      std::uint8_t* rec = out + (r0 + k) * record_bytes_;
      std::memcpy(rec, &norms[k], 4);
      std::memset(rec + 4, 0, code_bytes_);
      const float* yr = y.data() + k * d;
      for (std::size_t i = 0; i < d; ++i) {
        std::uint32_t code = 0;
        for (float t : codebook_.thresholds) code += yr[i] >= t;
        detail::put_bits(rec + 4, i * static_cast<std::size_t>(bits_), code, bits_);
        r[i] = yr[i] - codebook_.centroids[code];
      }
      if (qjl_) qjl_->encode(r.data(), 1, rec + 4 + code_bytes_);
    }
  }
}

void TurboCodec::encode(const float* x, std::size_t n, std::uint8_t* out, std::optional<SimdLevel> level) const {
  if (n == 0) return;
  if (!x || !out) throw Error("turbo encode: null buffer");
  std::ptrdiff_t bad = -1;
  if (rot_.hadamard() && dim_ >= 8) {
    detail::TurboKernelArgs args{dim_, bits_, rot_.signs().data(), codebook_.thresholds.data(),
                                 codebook_.centroids.data(), code_bytes_, record_bytes_};
    const detail::TurboKernels& k = detail::turbo_kernels(select_simd(level));
    if (!qjl_) {
      bad = k.encode(args, x, n, out);
    } else {
      // Fused inner-product stage: the kernel hands back the residual of the MSE stage in the rotated
      // domain for a block of rows, whose sketches then take one projection call.
      const std::size_t d = static_cast<std::size_t>(dim_);
      std::vector<float> res(std::min(n, kQjlBlockRows) * d);
      args.residual = res.data();
      for (std::size_t r0 = 0; r0 < n && bad < 0; r0 += kQjlBlockRows) {
        const std::size_t rows = std::min(kQjlBlockRows, n - r0);
        bad = k.encode(args, x + r0 * d, rows, out + r0 * record_bytes_);
        if (bad >= 0) {
          bad += static_cast<std::ptrdiff_t>(r0 * d);
          break;
        }
        qjl_->encode_strided(res.data(), rows, out + r0 * record_bytes_ + 4 + code_bytes_, record_bytes_, level);
      }
    }
  } else {
    encode_generic(x, n, out, bad);
  }
  if (bad >= 0) detail::throw_non_finite("", x, static_cast<std::size_t>(bad), static_cast<std::size_t>(dim_));
  // A finite row whose squared norm overflows float32 would store ||x|| = Inf and code the zero
  // vector: refused, naming the row (E2: never a silent wrong record).
  for (std::size_t k = 0; k < n; ++k) {
    float norm;
    std::memcpy(&norm, out + k * record_bytes_, 4);
    if (!std::isfinite(norm))
      throw Error("turbo encode: row " + std::to_string(k) + ": ||x||^2 overflows float32 (the values are too large to code in float)");
  }
}

void TurboCodec::decode(const std::uint8_t* in, std::size_t n, float* x, std::optional<SimdLevel> level) const {
  if (n == 0) return;
  if (!x || !in) throw Error("turbo decode: null buffer");
  const std::size_t d = static_cast<std::size_t>(dim_);
  std::vector<float> u(d), rq(qjl_ ? d : 0);
  if (rot_.hadamard() && dim_ >= 8) {
    detail::TurboKernelArgs args{dim_, bits_, rot_.signs().data(), codebook_.thresholds.data(),
                                 codebook_.centroids.data(), code_bytes_, record_bytes_};
    const detail::TurboKernels& k = detail::turbo_kernels(select_simd(level));
    if (!qjl_) {
      k.decode(args, in, n, x);
      return;
    }
    // x = ||x|| R^T (c + r^): the QJL reconstruction joins the centroids before the one inverse rotation.
    std::vector<float> add(std::min(n, kQjlBlockRows) * d);
    args.addend = add.data();
    for (std::size_t r0 = 0; r0 < n; r0 += kQjlBlockRows) {
      const std::size_t rows = std::min(kQjlBlockRows, n - r0);
      qjl_->reconstruct_strided(in + r0 * record_bytes_ + 4 + code_bytes_, rows, record_bytes_, add.data(), level);
      k.decode(args, in + r0 * record_bytes_, rows, x + r0 * d);
    }
    return;
  }
  for (std::size_t k = 0; k < n; ++k) {
    const std::uint8_t* rec = in + k * record_bytes_;
    float norm;
    std::memcpy(&norm, rec, 4);
    for (std::size_t i = 0; i < d; ++i)
      u[i] = codebook_.centroids[detail::get_bits(rec + 4, i * static_cast<std::size_t>(bits_), bits_)];
    if (qjl_) {
      qjl_->reconstruct(rec + 4 + code_bytes_, rq.data());
      for (std::size_t i = 0; i < d; ++i) u[i] += rq[i];
    }
    rot_.inverse(u.data());
    for (std::size_t i = 0; i < d; ++i) x[k * d + i] = u[i] * norm;
  }
}

}  // namespace dpq::fast
