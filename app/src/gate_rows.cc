// The gate's edge-case rows, per family (the corpus and the plugin runner build rows here).
#include <algorithm>
#include <boost/random/mersenne_twister.hpp>
#include <boost/random/normal_distribution.hpp>
#include <cfloat>
#include <cmath>
#include <limits>

#include "deltapq/app/gate.h"

namespace dpq::app {
namespace {

using Rng = boost::random::mt19937_64;

std::vector<double> normals(Rng& rng, std::size_t n) {
  boost::random::normal_distribution<double> normal;
  std::vector<double> v(n);
  for (auto& x : v) x = normal(rng);
  return v;
}

// x = mu + U y for a scalar design (identity basis: x = mu + y), rounded once to float.
std::vector<float> scalar_from_y(const Design<float>& ds, const std::vector<double>& y) {
  const std::size_t d = ds.dim();
  std::vector<float> x(d);
  for (std::size_t j = 0; j < d; ++j) {
    double v = ds.mean.empty() ? 0.0 : ds.mean[j];
    if (ds.basis.empty()) {
      v += y[j];
    } else {
      for (std::size_t i = 0; i < d; ++i) v += static_cast<double>(ds.basis[j * d + i]) * y[i];
    }
    x[j] = static_cast<float>(v);
  }
  return x;
}

// x = R^T y (exactly the transpose of the design's rotation, in double, rounded once).
std::vector<float> turbo_from_y(const ref::gate::TurboDesignSpec& t, const std::vector<double>& y, double scale) {
  const std::size_t d = static_cast<std::size_t>(t.dim);
  std::vector<float> x(d);
  for (std::size_t j = 0; j < d; ++j) {
    double v = 0;
    if (t.rotation == ref::gate::TurboDesignSpec::Rotation::hadamard) {
      for (std::size_t k = 0; k < d; ++k) v += ((__builtin_popcountll(k & j) & 1) ? -1.0 : 1.0) * y[k];
      v *= t.signs[j] / std::sqrt(static_cast<double>(d));
    } else if (t.rotation == ref::gate::TurboDesignSpec::Rotation::dense) {
      for (std::size_t k = 0; k < d; ++k) v += static_cast<double>(t.matrix[k * d + j]) * y[k];
    } else {
      v = y[j];
    }
    x[j] = static_cast<float>(v * scale);
  }
  return x;
}

double pq_scale(const ref::gate::PqDesignSpec& p) {
  double s = 0;
  for (float c : p.centroids) s += static_cast<double>(c) * c;
  return std::sqrt(s / static_cast<double>(std::max<std::size_t>(1, p.centroids.size())));
}

}  // namespace

const char* to_string(GateRowKind k) {
  switch (k) {
    case GateRowKind::random: return "random";
    case GateRowKind::boundary: return "on a boundary";
    case GateRowKind::boundary_up: return "boundary + 1 ulp";
    case GateRowKind::boundary_down: return "boundary - 1 ulp";
    case GateRowKind::clip_high: return "clip limit +c / a centroid";
    case GateRowKind::clip_low: return "clip limit -c";
    case GateRowKind::clip_beyond: return "beyond the clip limit";
    case GateRowKind::zero: return "zero";
    case GateRowKind::signed_zeros: return "signed zeros";
    case GateRowKind::subnormal: return "subnormal";
    case GateRowKind::near_flt_max: return "near FLT_MAX";
    case GateRowKind::huge_norm: return "norm overflows float32";
    case GateRowKind::nan: return "NaN (must be refused)";
    case GateRowKind::inf: return "Inf (must be refused)";
  }
  return "?";
}

std::vector<float> gate_row(const GateDesign& g, GateRowKind kind, std::uint64_t seed, int index) {
  const std::size_t d = static_cast<std::size_t>(g.dim());
  Rng rng(seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(index) + 1);
  const double wobble = std::exp(static_cast<double>(index % 5) - 2);
  // The random row at the design's scale (the base of NaN, Inf and huge rows).
  auto random_row = [&](double factor) {
    const std::vector<double> z = normals(rng, d);
    if (g.family == GateFamily::scalar) {
      const auto& ds = g.scalar.design;
      std::vector<double> y(d);
      for (std::size_t i = 0; i < d; ++i) y[i] = z[i] * ds.clip[i] * 0.5 * factor;
      return scalar_from_y(ds, y);
    }
    const double s = g.family == GateFamily::pq ? pq_scale(g.pq) : 1.0;
    std::vector<float> x(d);
    for (std::size_t j = 0; j < d; ++j) x[j] = static_cast<float>(z[j] * s * factor);
    return x;
  };
  switch (kind) {
    case GateRowKind::random:
      return random_row(wobble);
    case GateRowKind::zero:
      return std::vector<float>(d, 0.0f);
    case GateRowKind::signed_zeros: {
      std::vector<float> x(d);
      for (std::size_t i = 0; i < d; ++i) x[i] = (i + static_cast<std::size_t>(index)) % 2 ? -0.0f : 0.0f;
      return x;
    }
    case GateRowKind::subnormal: {
      std::vector<float> x(d);
      for (std::size_t i = 0; i < d; ++i)
        x[i] = ((i + static_cast<std::size_t>(index)) % 2 ? -1.0f : 1.0f) * std::ldexp(1.0f, -130 - static_cast<int>((i + static_cast<std::size_t>(index)) % 19));
      return x;
    }
    case GateRowKind::near_flt_max: {
      std::vector<float> x(d);
      for (std::size_t i = 0; i < d; ++i) x[i] = ((i + static_cast<std::size_t>(index)) % 3 ? -1.0f : 1.0f) * FLT_MAX / static_cast<float>(1 + (i + static_cast<std::size_t>(index)) % 5);
      return x;
    }
    case GateRowKind::huge_norm:
      return random_row(1e19);
    case GateRowKind::nan: {
      std::vector<float> x = random_row(1.0);
      x[static_cast<std::size_t>(index) % d] = std::numeric_limits<float>::quiet_NaN();
      return x;
    }
    case GateRowKind::inf: {
      std::vector<float> x = random_row(1.0);
      x[static_cast<std::size_t>(index) % d] = (index % 2 ? -1.0f : 1.0f) * std::numeric_limits<float>::infinity();
      return x;
    }
    default:
      break;
  }
  if (g.family == GateFamily::scalar) {
    const auto& ds = g.scalar.design;
    std::vector<double> y(d);
    for (std::size_t i = 0; i < d; ++i) {
      const int b = ds.bits[i];
      const long long cells = 1LL << b;
      const double c = ds.clip[i], step = std::ldexp(c, 1 - b);
      const long long k = 1 + (static_cast<long long>(i) * 7 + static_cast<long long>(index) * 3) % std::max(1LL, cells - 1);
      switch (kind) {
        case GateRowKind::clip_high: y[i] = c; break;
        case GateRowKind::clip_low: y[i] = -c; break;
        case GateRowKind::clip_beyond: y[i] = ds.basis.empty() ? std::nextafter(static_cast<float>(c), INFINITY) : 2 * c; break;
        default: y[i] = -c + static_cast<double>(k) * step; break;  // boundary (and its ulp neighbours below)
      }
    }
    std::vector<float> x = scalar_from_y(ds, y);
    if (ds.basis.empty()) {  // mu + y exactly as the design's float boundary, then the ulp step
      for (std::size_t i = 0; i < d; ++i) {
        const double mu = ds.mean.empty() ? 0.0 : ds.mean[i];
        if (kind == GateRowKind::clip_beyond) x[i] = std::nextafter(static_cast<float>(mu + ds.clip[i]), INFINITY);
        if (kind == GateRowKind::boundary_up) x[i] = std::nextafter(x[i], INFINITY);
        if (kind == GateRowKind::boundary_down) x[i] = std::nextafter(x[i], -INFINITY);
      }
    } else if (kind == GateRowKind::boundary_up || kind == GateRowKind::boundary_down) {
      for (auto& v : x) v = std::nextafter(v, kind == GateRowKind::boundary_up ? INFINITY : -INFINITY);
    }
    return x;
  }
  if (g.family == GateFamily::turbo) {
    const auto& t = g.turbo;
    if (kind == GateRowKind::clip_high || kind == GateRowKind::clip_low || kind == GateRowKind::clip_beyond) return random_row(wobble);
    // A unit vector y with coordinate i on (or next to) a threshold, the rest spread evenly; x = R^T y
    // at a scale between e^-3 and e^3.
    const std::size_t i = static_cast<std::size_t>(index) * 5 % d;
    const float th = t.thresholds[static_cast<std::size_t>(index) % t.thresholds.size()];
    double yi = th;
    if (kind == GateRowKind::boundary_up) yi = std::nextafter(th, INFINITY);
    if (kind == GateRowKind::boundary_down) yi = std::nextafter(th, -INFINITY);
    std::vector<double> y(d, 0.0);
    const double rest = std::sqrt(std::max(0.0, 1 - yi * yi) / static_cast<double>(std::max<std::size_t>(1, d - 1)));
    for (std::size_t j = 0; j < d; ++j) y[j] = j == i ? yi : (j % 2 ? rest : -rest);
    return turbo_from_y(t, y, std::exp(static_cast<double>(rng() % 7) - 3));
  }
  // pq
  const auto& p = g.pq;
  const int dm = p.block_dim(), k = p.k();
  std::vector<float> x(d);
  for (int m = 0; m < p.blocks; ++m)
    for (int j = 0; j < dm; ++j) {
      const int a = index % k, b2 = (index + 1 + m) % k;
      const float ca = p.centroids[(static_cast<std::size_t>(m) * k + a) * dm + j];
      const float cb = p.centroids[(static_cast<std::size_t>(m) * k + b2) * dm + j];
      float v = ca;  // clip_high..: a copy of centroid a
      if (kind == GateRowKind::boundary || kind == GateRowKind::boundary_up || kind == GateRowKind::boundary_down) {
        const bool integers = std::nearbyint(ca) == ca && std::nearbyint(cb) == cb;
        v = integers ? std::floor((ca + cb) / 2) : static_cast<float>((static_cast<double>(ca) + cb) / 2);
        if (kind == GateRowKind::boundary_up) v = std::nextafter(v, INFINITY);
        if (kind == GateRowKind::boundary_down) v = std::nextafter(v, -INFINITY);
      }
      x[static_cast<std::size_t>(m) * dm + j] = v;
    }
  return x;
}

}  // namespace dpq::app
