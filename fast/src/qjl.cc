#include "deltapq/fast/qjl.h"

#include <cblas.h>

#include <boost/random/mersenne_twister.hpp>
#include <boost/random/normal_distribution.hpp>
#include <cmath>
#include <cstring>
#include <string>

#include "batch_check.h"
#include "deltapq/core/error.h"

namespace dpq::fast {

QjlSketch::QjlSketch(int dim, int m, std::uint64_t seed) : dim_(dim), m_(m) {
  if (dim < 1 || m < 1) throw Error("QJL: d = " + std::to_string(dim) + ", m = " + std::to_string(m) + " (both must be >= 1)");
  boost::random::mt19937_64 rng(seed);
  boost::random::normal_distribution<float> normal;
  s_.resize(static_cast<std::size_t>(dim) * m);
  for (auto& v : s_) v = normal(rng);
}

void QjlSketch::encode(const float* r, std::size_t n, std::uint8_t* out) const {
  if (n == 0) return;
  if (!r || !out) throw Error("QJL encode: null buffer");
  const std::size_t d = static_cast<std::size_t>(dim_);
  std::vector<float> proj(static_cast<std::size_t>(m_));
  for (std::size_t row = 0; row < n; ++row) {
    const float* x = r + row * d;
    double n2 = 0;
    for (std::size_t i = 0; i < d; ++i) {
      if (!std::isfinite(x[i])) detail::throw_non_finite("", r, row * d + i, d);
      n2 += static_cast<double>(x[i]) * x[i];
    }
    const float norm = static_cast<float>(std::sqrt(n2));
    std::uint8_t* rec = out + row * bytes_per_vector();
    std::memcpy(rec, &norm, 4);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, m_, dim_, 1.0f, s_.data(), dim_, x, 1, 0.0f, proj.data(), 1);
    std::memset(rec + 4, 0, bytes_per_vector() - 4);
    for (int j = 0; j < m_; ++j)
      if (proj[static_cast<std::size_t>(j)] >= 0) rec[4 + j / 8] = static_cast<std::uint8_t>(rec[4 + j / 8] | (1u << (j % 8)));
  }
}

std::vector<float> QjlSketch::project(const float* q) const {
  std::vector<float> p(static_cast<std::size_t>(m_));
  cblas_sgemv(CblasRowMajor, CblasNoTrans, m_, dim_, 1.0f, s_.data(), dim_, q, 1, 0.0f, p.data(), 1);
  return p;
}

double QjlSketch::estimate(const std::uint8_t* record, const std::vector<float>& pq) const {
  float norm;
  std::memcpy(&norm, record, 4);
  double s = 0;
  for (int j = 0; j < m_; ++j) s += ((record[4 + j / 8] >> (j % 8)) & 1u) ? pq[static_cast<std::size_t>(j)] : -pq[static_cast<std::size_t>(j)];
  return std::sqrt(M_PI / 2) / m_ * norm * s;
}

void QjlSketch::reconstruct(const std::uint8_t* record, float* out) const {
  float norm;
  std::memcpy(&norm, record, 4);
  std::vector<float> signs(static_cast<std::size_t>(m_));
  for (int j = 0; j < m_; ++j) signs[static_cast<std::size_t>(j)] = ((record[4 + j / 8] >> (j % 8)) & 1u) ? 1.0f : -1.0f;
  const float scale = static_cast<float>(std::sqrt(M_PI / 2) / m_) * norm;
  cblas_sgemv(CblasRowMajor, CblasTrans, m_, dim_, scale, s_.data(), dim_, signs.data(), 1, 0.0f, out, 1);
}

}  // namespace dpq::fast
