#include "deltapq/turbo/turbo.h"

#include <boost/random/mersenne_twister.hpp>
#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_int_distribution.hpp>
#include <algorithm>
#include <cmath>
#include <map>

#include "deltapq/core/error.h"
#include "deltapq/reference/sphere.h"

namespace dpq::turbo {
namespace {

double dot(const float* a, const float* b, int d) {
  double s = 0;
  for (int i = 0; i < d; ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

double angle(const float* a, const float* b, int d) {
  const double na = std::sqrt(dot(a, a, d)), nb = std::sqrt(dot(b, b, d));
  if (na == 0 || nb == 0) return na == nb ? 0.0 : M_PI / 2;
  return std::acos(std::clamp(dot(a, b, d) / (na * nb), -1.0, 1.0));
}

}  // namespace

LloydMax::LloydMax(int dim, int bits) : bits_(bits) {
  static std::map<std::pair<int, int>, std::pair<std::vector<float>, double>> cache;
  auto& slot = cache[{dim, bits}];
  if (slot.first.empty()) {
    const ref::Codebook cb = ref::lloyd_max(ref::Marginal::sphere(std::max(dim, 2)), bits);
    for (const auto& c : cb.centroids) slot.first.push_back(static_cast<float>(ref::to_double(c)));
    slot.second = ref::to_double(cb.mse);
  }
  centroids_ = slot.first;
  mse_ = slot.second;
  for (std::size_t i = 0; i + 1 < centroids_.size(); ++i)
    thresholds_.push_back(0.5f * (centroids_[i] + centroids_[i + 1]));
}

int LloydMax::encode(float t) const {
  // Number of thresholds <= t: a value on a threshold goes to the upper cell.
  return static_cast<int>(std::upper_bound(thresholds_.begin(), thresholds_.end(), t) - thresholds_.begin());
}

const char* to_string(Scheme s) { return s == Scheme::kv ? "KV" : s == Scheme::kqv ? "KQV" : "QKQV"; }

BitAccount SideCoder::account() const {
  BitAccount a;
  a.coordinate_bits = dim * (with_qjl ? bits - 1 : bits);
  a.sketch_bits = with_qjl ? dim : 0;  // m = d
  a.norms = with_qjl ? 2 : 1;
  return a;
}

std::vector<float> SideCoder::code(const std::vector<float>& x) const {
  if (bits < (with_qjl ? 2 : 1)) throw Error("scheme budget n = " + std::to_string(bits) + " too small");
  const LloydMax q(dim, with_qjl ? bits - 1 : bits);
  const Rotation rot(dim, seed);
  const fast::QjlSketch qjl(dim, dim, seed ^ 0x5151515151ULL);
  std::vector<std::uint8_t> sketch(qjl.bytes_per_vector());
  std::vector<float> out(x.size()), u(dim), uq(dim), r(dim), rq(dim);
  for (std::size_t row = 0; row * dim < x.size(); ++row) {
    const float* xr = x.data() + row * dim;
    float* o = out.data() + row * dim;
    const double norm = std::sqrt(dot(xr, xr, dim));
    if (norm == 0) {
      std::fill(o, o + dim, 0.0f);
      continue;
    }
    for (int i = 0; i < dim; ++i) u[i] = static_cast<float>(xr[i] / norm);
    if (rotate) rot.apply(u.data());
    for (int i = 0; i < dim; ++i) uq[i] = q.decode(q.encode(u[i]));
    if (with_qjl) {
      for (int i = 0; i < dim; ++i) r[i] = u[i] - uq[i];
      qjl.encode(r.data(), 1, sketch.data());
      qjl.reconstruct(sketch.data(), rq.data());
      for (int i = 0; i < dim; ++i) uq[i] += rq[i];
    }
    if (rotate) rot.inverse(uq.data());
    for (int i = 0; i < dim; ++i) o[i] = static_cast<float>(uq[i] * norm);
  }
  return out;
}

SideCoder key_coder(Scheme s, int dim, int n, std::uint64_t seed) {
  return SideCoder{dim, n, s != Scheme::kv, s == Scheme::qkqv, seed};
}
SideCoder value_coder(Scheme s, int dim, int n, std::uint64_t seed) {
  return SideCoder{dim, n, s != Scheme::kv, s != Scheme::kv, seed + 1};
}

SetMetrics set_metrics(const std::vector<float>& x, const std::vector<float>& xq, int dim) {
  SetMetrics m;
  double err = 0, tot = 0;
  for (std::size_t row = 0; row * dim < x.size(); ++row) {
    const float* a = x.data() + row * dim;
    const float* b = xq.data() + row * dim;
    const double na = std::sqrt(dot(a, a, dim)), nb = std::sqrt(dot(b, b, dim));
    m.dir.push_back(angle(a, b, dim));
    m.norm.push_back(na > 0 ? std::fabs(nb - na) / na : 0.0);
    for (int i = 0; i < dim; ++i) err += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    tot += na * na;
  }
  m.rel_mse = tot > 0 ? err / tot : 0.0;
  return m;
}

QueryMetrics query_metrics(const float* q, const std::vector<float>& k, const std::vector<float>& kq,
                           const std::vector<float>& v, const std::vector<float>& vq, int dim, const SetMetrics& ks,
                           const SetMetrics& vs) {
  const std::size_t n = k.size() / dim;
  std::vector<double> s(n), sq(n);
  const double scale = 1.0 / std::sqrt(static_cast<double>(dim));
  for (std::size_t i = 0; i < n; ++i) {
    s[i] = dot(k.data() + i * dim, q, dim) * scale;
    sq[i] = dot(kq.data() + i * dim, q, dim) * scale;
  }
  auto log_softmax = [](std::vector<double>& x) {
    const double mx = *std::max_element(x.begin(), x.end());
    double sum = 0;
    for (double v : x) sum += std::exp(v - mx);
    const double l = mx + std::log(sum);
    for (double& v : x) v -= l;
  };
  log_softmax(s);
  log_softmax(sq);
  QueryMetrics m{};
  std::vector<float> o(dim, 0.0f), oq(dim, 0.0f);
  for (std::size_t i = 0; i < n; ++i) {
    const double p = std::exp(s[i]), pq = std::exp(sq[i]);
    m.kl += p * (s[i] - sq[i]);
    for (int j = 0; j < dim; ++j) {
      o[j] += static_cast<float>(p * v[i * dim + j]);
      oq[j] += static_cast<float>(pq * vq[i * dim + j]);
    }
  }
  m.kl = std::max(m.kl, 0.0);
  const double no = std::sqrt(dot(o.data(), o.data(), dim)), noq = std::sqrt(dot(oq.data(), oq.data(), dim));
  m.out_dir = angle(o.data(), oq.data(), dim);
  m.out_norm = no > 0 ? std::fabs(noq - no) / no : 0.0;
  auto mean = [](const std::vector<double>& x) {
    double t = 0;
    for (double v : x) t += v;
    return x.empty() ? 0.0 : t / static_cast<double>(x.size());
  };
  const double parts[6] = {mean(ks.dir), mean(ks.norm), mean(vs.dir), mean(vs.norm), m.out_dir, m.out_norm};
  double sq6 = 0;
  for (double p : parts) sq6 += p * p;
  m.six_d = std::sqrt(sq6);
  return m;
}

}  // namespace dpq::turbo
