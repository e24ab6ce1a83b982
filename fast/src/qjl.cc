#include "deltapq/fast/qjl.h"

#include <boost/random/mersenne_twister.hpp>
#include <boost/random/normal_distribution.hpp>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "batch_check.h"
#include "deltapq/core/error.h"
#include "dispatch.h"

namespace dpq::fast {
namespace {

constexpr std::size_t kBlockRows = 64;  // rows per projection call: S^T stays in cache across them

}  // namespace

QjlSketch::QjlSketch(int dim, int m, std::uint64_t seed) : dim_(dim), m_(m) {
  if (dim < 1 || m < 1) throw Error("QJL: d = " + std::to_string(dim) + ", m = " + std::to_string(m) + " (both must be >= 1)");
  boost::random::mt19937_64 rng(seed);
  boost::random::normal_distribution<float> normal;
  const std::size_t d = static_cast<std::size_t>(dim), rows = static_cast<std::size_t>(m);
  s_.resize(d * rows);
  for (auto& v : s_) v = normal(rng);
  st_.resize(d * rows);
  for (std::size_t j = 0; j < rows; ++j)
    for (std::size_t i = 0; i < d; ++i) st_[i * rows + j] = s_[j * d + i];
}

void QjlSketch::encode(const float* r, std::size_t n, std::uint8_t* out, std::optional<SimdLevel> level) const {
  encode_strided(r, n, out, bytes_per_vector(), level);
}

void QjlSketch::encode_strided(const float* r, std::size_t n, std::uint8_t* out, std::size_t out_stride,
                               std::optional<SimdLevel> level) const {
  if (n == 0) return;
  if (!r || !out) throw Error("QJL encode: null buffer");
  const std::size_t d = static_cast<std::size_t>(dim_), m = static_cast<std::size_t>(m_);
  const SimdLevel lv = select_simd(level);
  const detail::CodecKernels& k = detail::codec_kernels(lv);
  const detail::QjlKernels& q = detail::qjl_kernels(lv);
  std::vector<float> proj(std::min(n, kBlockRows) * m);
  for (std::size_t r0 = 0; r0 < n; r0 += kBlockRows) {
    const std::size_t rows = std::min(kBlockRows, n - r0);
    for (std::size_t row = r0; row < r0 + rows; ++row) {
      const float* x = r + row * d;
      double n2 = 0;
      for (std::size_t i = 0; i < d; ++i) {
        if (!std::isfinite(x[i])) detail::throw_non_finite("", r, row * d + i, d);
        n2 += static_cast<double>(x[i]) * x[i];
      }
      const float norm = static_cast<float>(std::sqrt(n2));
      std::memcpy(out + row * out_stride, &norm, 4);
    }
    k.rotate(r + r0 * d, rows, d, st_.data(), m, proj.data());  // S r: an fma chain in i order per j
    q.pack_signs(proj.data(), rows, m, out + r0 * out_stride + 4, out_stride);
  }
}

std::vector<float> QjlSketch::project(const float* q, std::optional<SimdLevel> level) const {
  std::vector<float> p(static_cast<std::size_t>(m_));
  detail::codec_kernels(select_simd(level)).rotate(q, 1, static_cast<std::size_t>(dim_), st_.data(), p.size(), p.data());
  return p;
}

double QjlSketch::estimate(const std::uint8_t* record, const std::vector<float>& pq) const {
  float norm;
  std::memcpy(&norm, record, 4);
  double s = 0;
  for (int j = 0; j < m_; ++j) s += ((record[4 + j / 8] >> (j % 8)) & 1u) ? pq[static_cast<std::size_t>(j)] : -pq[static_cast<std::size_t>(j)];
  return std::sqrt(M_PI / 2) / m_ * norm * s;
}

void QjlSketch::scores(const std::uint8_t* records, std::size_t n, std::size_t stride, const std::vector<float>& pq, float* out,
                       std::optional<SimdLevel> level) const {
  if (n == 0) return;
  if (!records || !out) throw Error("QJL scores: null buffer");
  if (pq.size() != static_cast<std::size_t>(m_))
    throw Error("QJL scores: the projected query has " + std::to_string(pq.size()) + " entries, the sketch m = " + std::to_string(m_));
  if (stride < bytes_per_vector()) throw Error("QJL scores: record stride " + std::to_string(stride) + " < " + std::to_string(bytes_per_vector()));
  detail::qjl_kernels(select_simd(level)).scores(records, n, stride, static_cast<std::size_t>(m_), pq.data(),
                                                 static_cast<float>(std::sqrt(M_PI / 2) / m_), out);
}

void QjlSketch::reconstruct(const std::uint8_t* record, float* out, std::optional<SimdLevel> level) const {
  reconstruct_strided(record, 1, bytes_per_vector(), out, level);
}

void QjlSketch::reconstruct_strided(const std::uint8_t* records, std::size_t n, std::size_t in_stride, float* out,
                                    std::optional<SimdLevel> level) const {
  if (n == 0) return;
  if (!records || !out) throw Error("QJL reconstruct: null buffer");
  const std::size_t d = static_cast<std::size_t>(dim_), m = static_cast<std::size_t>(m_);
  const SimdLevel lv = select_simd(level);
  const detail::CodecKernels& k = detail::codec_kernels(lv);
  const detail::QjlKernels& q = detail::qjl_kernels(lv);
  std::vector<float> signs(std::min(n, kBlockRows) * m);
  const float unit = static_cast<float>(std::sqrt(M_PI / 2) / m_);
  for (std::size_t r0 = 0; r0 < n; r0 += kBlockRows) {
    const std::size_t rows = std::min(kBlockRows, n - r0);
    q.unpack_signs(records + r0 * in_stride + 4, rows, in_stride, m, signs.data());
    float* o = out + r0 * d;
    k.rotate(signs.data(), rows, m, s_.data(), d, o);  // S^T s: sum_j s_j S[j][i], an fma chain in j order
    for (std::size_t row = 0; row < rows; ++row) {
      float norm;
      std::memcpy(&norm, records + (r0 + row) * in_stride, 4);
      const float scale = unit * norm;
      for (std::size_t i = 0; i < d; ++i) o[row * d + i] *= scale;
    }
  }
}

}  // namespace dpq::fast
