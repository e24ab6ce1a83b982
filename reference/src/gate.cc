// G1: the gate's expectations (proofs-notes/G1.md derives every bound used here).
#include "deltapq/reference/gate.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <Eigen/Dense>

#include "deltapq/core/error.h"
#include "deltapq/reference/real.h"

namespace dpq::ref::gate {
namespace {

constexpr double kU = 0x1p-24;   // float unit roundoff
constexpr double kUd = 0x1p-53;  // double unit roundoff
double gamma_f(double n) { return n * kU / (1 - n * kU); }
double gamma_d(double n) { return n * kUd / (1 - n * kUd); }

bool power_of_two(double v) {
  int e;
  return v > 0 && std::frexp(v, &e) == 0.5;
}

// Whether a + b (a, b doubles holding floats) is exactly a float: TwoSum gives the exact sum as hi + lo.
bool float_sum_exact(double a, double b) {
  const double s = a + b, bb = s - a, err = (a - (s - bb)) + (b - bb);
  return err == 0 && static_cast<double>(static_cast<float>(s)) == s && std::isfinite(s);
}

double u_at(const Design<float>& ds, std::size_t j, std::size_t i) {
  const std::size_t d = ds.dim();
  return ds.basis.empty() ? (i == j ? 1.0 : 0.0) : static_cast<double>(ds.basis[j * d + i]);
}

// The cell decision for t* (double, with double error e) against the fp32 band E over the interior
// boundaries 1..L-1; `exact_t` computes t* exactly (Real) when the double cannot decide.
template <class ExactT>
CodeRange decide_cell(double t, double e, double band, std::int64_t cells, const ExactT& exact_t) {
  auto clamp_floor = [&](double v) {
    const double f = std::floor(v);
    return static_cast<std::int32_t>(f < 0 ? 0 : (f > static_cast<double>(cells - 1) ? static_cast<double>(cells - 1) : f));
  };
  if (!std::isfinite(t)) return {clamp_floor(t > 0 ? 1e300 : -1e300), clamp_floor(t > 0 ? 1e300 : -1e300)};
  double j = std::nearbyint(t);
  j = std::clamp(j, 1.0, static_cast<double>(cells - 1));
  const double dist = std::fabs(t - j);
  if (cells < 2) return {0, 0};
  if (dist > band + e) return {clamp_floor(t), clamp_floor(t)};
  if (dist + e < band) return {static_cast<std::int32_t>(j) - 1, static_cast<std::int32_t>(j)};
  // Within the double error of a boundary or of the band's edge: decide on the exact value.
  const Real te = exact_t();
  const Real dj = abs(te - Real(j));
  if (dj <= Real(band) && band > 0) return {static_cast<std::int32_t>(j) - 1, static_cast<std::int32_t>(j)};
  const Real f = floor(te);
  const double k = std::clamp(to_double(f), 0.0, static_cast<double>(cells - 1));
  return {static_cast<std::int32_t>(k), static_cast<std::int32_t>(k)};
}

}  // namespace

void validate(const ScalarDesignSpec& s) { validate_design(s.design, 1, kMaxBits, "scalar design"); }

void validate(const TurboDesignSpec& s) {
  if (s.dim < 1 || s.dim > 16384) throw Error("turbo design: dim = " + std::to_string(s.dim) + " is outside 1..16384");
  if (s.bits < 1 || s.bits > 8) throw Error("turbo design: bits = " + std::to_string(s.bits) + " is outside 1..8");
  const std::size_t L = std::size_t{1} << s.bits, d = static_cast<std::size_t>(s.dim);
  if (s.centroids.size() != L) throw Error("turbo design: " + std::to_string(s.centroids.size()) + " centroids for " + std::to_string(s.bits) + " bits");
  if (s.thresholds.size() + 1 != L) throw Error("turbo design: " + std::to_string(s.thresholds.size()) + " thresholds for " + std::to_string(L) + " centroids");
  for (std::size_t i = 0; i < L; ++i)
    if (!std::isfinite(s.centroids[i])) throw Error("turbo design: centroids[" + std::to_string(i) + "] is not finite");
  for (std::size_t i = 0; i + 1 < L; ++i) {
    if (!std::isfinite(s.thresholds[i])) throw Error("turbo design: thresholds[" + std::to_string(i) + "] is not finite");
    if (i && !(s.thresholds[i - 1] < s.thresholds[i])) throw Error("turbo design: thresholds are not increasing at " + std::to_string(i));
  }
  if (s.rotation == TurboDesignSpec::Rotation::hadamard) {
    if (s.dim & (s.dim - 1)) throw Error("turbo design: a Hadamard rotation needs d = 2^k, got " + std::to_string(s.dim));
    if (s.signs.size() != d) throw Error("turbo design: " + std::to_string(s.signs.size()) + " signs for d = " + std::to_string(s.dim));
    for (std::size_t i = 0; i < d; ++i)
      if (s.signs[i] != 1.0f && s.signs[i] != -1.0f) throw Error("turbo design: signs[" + std::to_string(i) + "] is not +-1");
  }
  if (s.rotation == TurboDesignSpec::Rotation::dense) {
    if (s.matrix.size() != d * d) throw Error("turbo design: the rotation matrix has " + std::to_string(s.matrix.size()) + " entries, expected d x d");
    for (std::size_t i = 0; i < d * d; ++i)
      if (!std::isfinite(s.matrix[i])) throw Error("turbo design: matrix[" + std::to_string(i) + "] is not finite");
  }
  if (s.qjl_rows < 0) throw Error("turbo design: qjl rows m = " + std::to_string(s.qjl_rows) + " must be >= 0");
  if (s.qjl_rows > 0) {
    if (s.sketch.size() != static_cast<std::size_t>(s.qjl_rows) * d)
      throw Error("turbo design: the QJL sketch has " + std::to_string(s.sketch.size()) + " entries, expected m x d");
    for (std::size_t i = 0; i < s.sketch.size(); ++i)
      if (!std::isfinite(s.sketch[i])) throw Error("turbo design: sketch[" + std::to_string(i) + "] is not finite");
  }
}

void validate(const PqDesignSpec& s) {
  if (s.dim < 1 || s.blocks < 1 || s.blocks > s.dim || s.dim % s.blocks)
    throw Error("pq design: M = " + std::to_string(s.blocks) + " blocks must divide dim = " + std::to_string(s.dim));
  if (s.bits < 1 || s.bits > 8) throw Error("pq design: bits = " + std::to_string(s.bits) + " is outside 1..8");
  const std::size_t n = static_cast<std::size_t>(s.blocks) * static_cast<std::size_t>(s.k()) * static_cast<std::size_t>(s.block_dim());
  if (s.centroids.size() != n) throw Error("pq design: " + std::to_string(s.centroids.size()) + " centroid values, expected M x K x d_m = " + std::to_string(n));
  for (std::size_t i = 0; i < n; ++i)
    if (!std::isfinite(s.centroids[i])) throw Error("pq design: centroids[" + std::to_string(i) + "] is not finite");
}

// ---- scalar ----
namespace {

// The decision of coordinate i from y (double), its double error yerr, and the magnitude sum mag of
// its fp32 evaluation (Sigma_j (|x_j| + |mu_j|) |U_ji|; identity basis: |x_i| + |mu_i|).
CodeRange scalar_decide(const ScalarDesignSpec& s, const float* x, std::size_t i, double y, double yerr, double mag) {
  const Design<float>& ds = s.design;
  const std::size_t d = ds.dim();
  const bool fp32 = s.arithmetic == Arithmetic::fp32;
  const int b = ds.bits[i];
  const double c = ds.clip[i], step = std::ldexp(c, 1 - b);
  const std::int64_t cells = std::int64_t{1} << b;
  double band_s = 0;  // the fp32 error of s = y + c
  if (fp32) {
    if (ds.basis.empty()) {
      const double mu = ds.mean.empty() ? 0.0 : ds.mean[i];
      // Exact in float when every intermediate of either order is a float: x - mu, (x - mu) + c,
      // c - mu, x + (c - mu).
      const bool exact = float_sum_exact(x[i], -mu) && float_sum_exact(y, c) &&
                         (mu == 0 || (float_sum_exact(c, -mu) && float_sum_exact(x[i], c - mu)));
      band_s = exact ? 0.0 : gamma_f(3) * (mag + c + std::fabs(y));
    } else {
      band_s = gamma_f(static_cast<double>(d) + 3) * (mag + c);
    }
  }
  const double sum = y + c, t = sum / step;
  const double e_t = (yerr + kUd * std::fabs(sum)) / step * (1 + kUd) + kUd * std::fabs(t) * 2;
  double band_t = 0;
  if (fp32) band_t = power_of_two(step) ? band_s / step : band_s / step * (1 + kU) * (1 + kU) + std::fabs(t) * (2 * kU + kU * kU);
  return decide_cell(t, e_t, band_t, cells, [&] {
    Real yr(0);
    if (ds.basis.empty()) {
      yr = Real(x[i]) - Real(ds.mean.empty() ? 0.0f : ds.mean[i]);
    } else {
      for (std::size_t j = 0; j < d; ++j) yr += (Real(x[j]) - Real(ds.mean.empty() ? 0.0f : ds.mean[j])) * Real(u_at(ds, j, i));
    }
    return Real((yr + Real(c)) / Real(step));
  });
}

}  // namespace

void scalar_expected_codes(const ScalarDesignSpec& s, const float* x, std::size_t n, CodeRange* out) {
  const Design<float>& ds = s.design;
  const std::size_t d = ds.dim();
  if (ds.basis.empty()) {
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t i = 0; i < d; ++i) {
        const float* xr = x + r * d;
        const double mu = ds.mean.empty() ? 0.0 : ds.mean[i];
        out[r * d + i] = scalar_decide(s, xr, i, static_cast<double>(xr[i]) - mu, 0.0, std::fabs(xr[i]) + std::fabs(mu));
      }
    return;
  }
  // Y = (X - mu) U and M = (|X| + |mu|) |U| as two double GEMMs (Eigen). The double error of Y is
  // within gamma_{d+2} Sigma_j |x_j - mu_j| |U_ji| <= gamma_{d+2} M, for any summation order.
  using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> u(ds.basis.data(), static_cast<Eigen::Index>(d),
                                                                                                  static_cast<Eigen::Index>(d));
  const Mat ud = u.cast<double>(), ua = ud.cwiseAbs();
  Mat xc(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(d)), xa(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(d));
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t j = 0; j < d; ++j) {
      const double mu = ds.mean.empty() ? 0.0 : ds.mean[j];
      xc(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(j)) = static_cast<double>(x[r * d + j]) - mu;
      xa(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(j)) = std::fabs(x[r * d + j]) + std::fabs(mu);
    }
  const Mat y = xc * ud, mag = xa * ua;
  const double g = gamma_d(static_cast<double>(d) + 2);
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t i = 0; i < d; ++i) {
      const double m = mag(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(i));
      out[r * d + i] = scalar_decide(s, x + r * d, i, y(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(i)), g * m, m);
    }
}

std::vector<CodeRange> scalar_expected_codes(const ScalarDesignSpec& s, const float* x) {
  std::vector<CodeRange> out(s.design.dim());
  scalar_expected_codes(s, x, 1, out.data());
  return out;
}

std::vector<std::int64_t> scalar_exact_codes(const ScalarDesignSpec& s, const float* x) {
  const Design<float>& ds = s.design;
  const std::size_t d = ds.dim();
  std::vector<std::int64_t> out(d);
  for (std::size_t i = 0; i < d; ++i) {
    Real y(0);
    if (ds.basis.empty()) {
      y = Real(x[i]) - Real(ds.mean.empty() ? 0.0f : ds.mean[i]);
    } else {
      for (std::size_t j = 0; j < d; ++j) y += (Real(x[j]) - Real(ds.mean.empty() ? 0.0f : ds.mean[j])) * Real(u_at(ds, j, i));
    }
    out[i] = cell_index(y, Real(ds.clip[i]), ds.bits[i]);
  }
  return out;
}

void scalar_reconstruction(const ScalarDesignSpec& s, const std::int64_t* codes, double* out, double* bound) {
  const Design<float>& ds = s.design;
  const std::size_t d = ds.dim();
  const bool fp32 = s.arithmetic == Arithmetic::fp32;
  std::vector<double> q(d), e(d);
  for (std::size_t i = 0; i < d; ++i) {
    const int b = ds.bits[i];
    const double c = ds.clip[i], step = std::ldexp(c, 1 - b);
    q[i] = -c + (static_cast<double>(codes[i]) + 0.5) * step;
    e[i] = fp32 ? gamma_f(3) * (static_cast<double>(codes[i]) * step + c + std::fabs(q[i])) : 0.0;
  }
  for (std::size_t j = 0; j < d; ++j) {
    const double mu = ds.mean.empty() ? 0.0 : ds.mean[j];
    if (ds.basis.empty()) {
      out[j] = mu + q[j];
      bound[j] = fp32 ? e[j] + gamma_f(2) * (std::fabs(q[j]) + std::fabs(mu)) : 0.0;
      continue;
    }
    double v = mu, prop = 0, mag = std::fabs(mu);
    for (std::size_t i = 0; i < d; ++i) {
      const double uji = static_cast<double>(ds.basis[j * d + i]);
      v += uji * q[i];
      prop += std::fabs(uji) * e[i];
      mag += std::fabs(uji) * std::fabs(q[i]);
    }
    out[j] = v;
    bound[j] = fp32 ? prop + gamma_f(static_cast<double>(d) + 2) * mag : gamma_d(static_cast<double>(d) + 2) * mag;
  }
}

// ---- turbo ----
TurboExpectation turbo_expected(const TurboDesignSpec& s, const float* x) {
  const std::size_t d = static_cast<std::size_t>(s.dim);
  const bool fp32 = s.arithmetic == Arithmetic::fp32;
  TurboExpectation e;
  double n2 = 0;
  for (std::size_t j = 0; j < d; ++j) n2 += static_cast<double>(x[j]) * x[j];
  e.norm = std::sqrt(n2);
  const double norm_derr = gamma_d(static_cast<double>(d) + 2) * e.norm;
  e.norm_bound = (fp32 ? gamma_f(static_cast<double>(d) + 2) * e.norm : 0.0) + norm_derr;
  e.codes.resize(d);
  e.rotated.assign(d, 0.0);
  e.rotated_bound.assign(d, 0.0);
  // Squares below FLT_MIN carry no float32 accuracy (or vanish): the vector is "zero" to a float kernel.
  e.zero = n2 == 0 || (fp32 && n2 < std::ldexp(1.0, -126));
  if (e.zero) {
    e.norm_bound = e.norm * (1 + gamma_f(static_cast<double>(d) + 2)) + std::ldexp(1.0, -63);
    for (auto& c : e.codes) c = {0, static_cast<std::int32_t>(s.centroids.size()) - 1};
    return e;
  }
  std::vector<double> z(d), a(d), derr(d);
  double k_levels = 0;
  if (s.rotation == TurboDesignSpec::Rotation::hadamard) {
    double s1 = 0;
    for (std::size_t j = 0; j < d; ++j) {
      z[j] = static_cast<double>(x[j]) * s.signs[j];
      s1 += std::fabs(x[j]);
    }
    for (std::size_t h = 1; h < d; h *= 2)
      for (std::size_t i = 0; i < d; i += 2 * h)
        for (std::size_t j = i; j < i + h; ++j) {
          const double p = z[j], q = z[j + h];
          z[j] = p + q;
          z[j + h] = p - q;
        }
    const double inv = 1 / std::sqrt(static_cast<double>(d));
    // Any evaluation of R x is allowed -- a fast transform (log2 d levels) or a dense product with the
    // rounded matrix H D / sqrt(d) (d terms, entries off by u / sqrt(d)) -- so the band is the dense one.
    k_levels = static_cast<double>(d);
    for (std::size_t i = 0; i < d; ++i) {
      z[i] *= inv;
      a[i] = s1 * inv;
      derr[i] = gamma_d(k_levels + 2) * a[i];
    }
  } else if (s.rotation == TurboDesignSpec::Rotation::dense) {
    k_levels = static_cast<double>(d);
    for (std::size_t i = 0; i < d; ++i) {
      double v = 0, m = 0;
      for (std::size_t j = 0; j < d; ++j) {
        const double r = s.matrix[i * d + j];
        v += r * x[j];
        m += std::fabs(r * x[j]);
      }
      z[i] = v;
      a[i] = m;
      derr[i] = gamma_d(static_cast<double>(d) + 1) * m;
    }
  } else {
    for (std::size_t i = 0; i < d; ++i) {
      z[i] = x[i];
      a[i] = std::fabs(x[i]);
    }
  }
  for (std::size_t i = 0; i < d; ++i) {
    const double y = z[i] / e.norm;
    const double ed = (derr[i] + std::fabs(z[i]) * (norm_derr / e.norm + kUd)) / e.norm + kUd * std::fabs(y);
    const double band = fp32 ? gamma_f(k_levels + 3) * a[i] / e.norm + gamma_f(static_cast<double>(d) + 5) * std::fabs(y) : 0.0;
    e.rotated[i] = y;
    e.rotated_bound[i] = band + ed;
    const auto& th = s.thresholds;
    const auto count = static_cast<std::int32_t>(
        std::upper_bound(th.begin(), th.end(), y, [](double v, float t) { return v < static_cast<double>(t); }) - th.begin());
    // The nearest threshold and whether y is within the band (plus the double error) of it.
    std::int32_t lo = count, hi = count;
    for (std::int32_t k : {count - 1, count}) {
      if (k < 0 || k >= static_cast<std::int32_t>(th.size())) continue;
      if (std::fabs(y - static_cast<double>(th[static_cast<std::size_t>(k)])) <= band + ed) {
        lo = std::min(lo, k);
        hi = std::max(hi, k + 1);
      }
    }
    // count from the double y can be off only within the double error of a threshold, which the band
    // includes, so [lo, hi] contains the exact code.
    e.codes[i] = {lo, hi};
  }
  return e;
}

void turbo_expected_qjl(const TurboDesignSpec& s, const TurboExpectation* const* e, const std::int64_t* codes, std::size_t n,
                        QjlExpectation* out) {
  const std::size_t d = static_cast<std::size_t>(s.dim), m = static_cast<std::size_t>(s.qjl_rows);
  const bool fp32 = s.arithmetic == Arithmetic::fp32;
  const double g = fp32 ? gamma_f(static_cast<double>(d) + 2) : gamma_d(static_cast<double>(d) + 2);
  using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> sk(s.sketch.data(), static_cast<Eigen::Index>(m),
                                                                                                   static_cast<Eigen::Index>(d));
  const Mat sd = sk.cast<double>(), sa = sd.cwiseAbs();
  const auto N = static_cast<Eigen::Index>(n), D = static_cast<Eigen::Index>(d);
  Mat r(N, D), ra(N, D), rb(N, D);
  for (std::size_t k = 0; k < n; ++k) {
    QjlExpectation& q = out[k];
    q.signs.assign(m, CodeRange{0, 1});
    double rn2 = 0, band2 = 0;
    for (std::size_t i = 0; i < d; ++i) {
      const double v = e[k]->zero ? 0.0 : e[k]->rotated[i] - static_cast<double>(s.centroids[static_cast<std::size_t>(codes[k * d + i])]);
      const double bnd = e[k]->zero ? 0.0 : e[k]->rotated_bound[i];
      r(static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(i)) = v;
      ra(static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(i)) = std::fabs(v);
      rb(static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(i)) = bnd;
      rn2 += v * v;
      band2 += bnd * bnd;
    }
    q.residual_norm = std::sqrt(rn2);
    q.residual_norm_bound = std::sqrt(band2) + g * q.residual_norm;
    if (e[k]->zero) {
      q.residual_norm = 0;
      q.residual_norm_bound = INFINITY;  // any residual: the record decodes to 0 whatever it holds
    }
  }
  // Per sketch row j: (S r)_j, its magnitude sum and the propagated band, as three GEMMs.
  const Mat v = r * sd.transpose(), mag = ra * sa.transpose(), prop = rb * sa.transpose();
  for (std::size_t k = 0; k < n; ++k) {
    if (e[k]->zero) continue;
    for (std::size_t j = 0; j < m; ++j) {
      const auto K = static_cast<Eigen::Index>(k), J = static_cast<Eigen::Index>(j);
      const double bound = prop(K, J) + g * mag(K, J) + gamma_d(static_cast<double>(d) + 2) * mag(K, J);
      out[k].signs[j] = v(K, J) > bound ? CodeRange{1, 1} : v(K, J) < -bound ? CodeRange{0, 0} : CodeRange{0, 1};
    }
  }
}

QjlExpectation turbo_expected_qjl(const TurboDesignSpec& s, const TurboExpectation& e, const std::int64_t* codes) {
  QjlExpectation q;
  const TurboExpectation* p = &e;
  turbo_expected_qjl(s, &p, codes, 1, &q);
  return q;
}

void turbo_reconstruction(const TurboDesignSpec& s, const std::int64_t* codes, float norm, const std::uint8_t* signs,
                          float residual_norm, double* out, double* bound) {
  const std::size_t d = static_cast<std::size_t>(s.dim), m = static_cast<std::size_t>(s.qjl_rows);
  const bool fp32 = s.arithmetic == Arithmetic::fp32;
  std::vector<double> v(d), vmag(d);
  for (std::size_t i = 0; i < d; ++i) {
    v[i] = s.centroids[static_cast<std::size_t>(codes[i])];
    vmag[i] = std::fabs(v[i]);
  }
  if (m > 0 && signs) {
    const double scale = std::sqrt(M_PI / 2) / static_cast<double>(m) * residual_norm;
    for (std::size_t i = 0; i < d; ++i) {
      double r = 0, mag = 0;
      for (std::size_t j = 0; j < m; ++j) {
        const double sji = s.sketch[j * d + i];
        r += signs[j] ? sji : -sji;
        mag += std::fabs(sji);
      }
      v[i] += scale * r;
      vmag[i] += std::fabs(scale) * mag;
    }
  }
  // As in turbo_expected: R^T v by any evaluation (a fast transform or a d-term dense product).
  const double levels = s.rotation == TurboDesignSpec::Rotation::identity ? 0.0 : static_cast<double>(d);
  const double g = (fp32 ? gamma_f(levels + static_cast<double>(m) + 6) : gamma_d(levels + static_cast<double>(m) + 6));
  std::vector<double> hv;
  double hmag = 0;
  if (s.rotation == TurboDesignSpec::Rotation::hadamard) {
    // R^T v = D H v / sqrt d (H symmetric): one fast transform in double; every entry's magnitude
    // sum is sum_i |v_i| / sqrt d (its double error, < 2^-40 relative, is far inside the fp32 bound).
    hv = v;
    for (std::size_t h = 1; h < d; h *= 2)
      for (std::size_t i = 0; i < d; i += 2 * h)
        for (std::size_t j = i; j < i + h; ++j) {
          const double p = hv[j], q = hv[j + h];
          hv[j] = p + q;
          hv[j + h] = p - q;
        }
    for (double m2 : vmag) hmag += m2;
  }
  for (std::size_t j = 0; j < d; ++j) {
    double o = 0, mag = 0;
    if (s.rotation == TurboDesignSpec::Rotation::hadamard) {
      const double inv = 1 / std::sqrt(static_cast<double>(d));
      o = hv[j] * s.signs[j] * inv;
      mag = hmag * inv;
    } else if (s.rotation == TurboDesignSpec::Rotation::dense) {
      for (std::size_t i = 0; i < d; ++i) {
        o += static_cast<double>(s.matrix[i * d + j]) * v[i];
        mag += std::fabs(static_cast<double>(s.matrix[i * d + j])) * vmag[i];
      }
    } else {
      o = v[j];
      mag = vmag[j];
    }
    out[j] = static_cast<double>(norm) * o;
    bound[j] = std::isfinite(norm) ? g * static_cast<double>(norm) * mag : INFINITY;
  }
}

// ---- pq ----
PqExpectation pq_expected(const PqDesignSpec& s, const float* x) {
  const int dm = s.block_dim(), k = s.k();
  const bool fp32 = s.arithmetic == Arithmetic::fp32;
  PqExpectation e;
  std::vector<double> dist(static_cast<std::size_t>(k)), band(static_cast<std::size_t>(k));
  for (int m = 0; m < s.blocks; ++m) {
    const float* xb = x + static_cast<std::size_t>(m) * dm;
    bool integers = true;
    for (int j = 0; j < dm; ++j) integers = integers && std::nearbyint(xb[j]) == xb[j];
    double dmin = INFINITY;
    for (int kk = 0; kk < k; ++kk) {
      const float* c = s.centroids.data() + (static_cast<std::size_t>(m) * k + kk) * dm;
      double d2 = 0, mag = 0;
      bool exact = integers;
      for (int j = 0; j < dm; ++j) {
        const double diff = static_cast<double>(xb[j]) - c[j];
        d2 += diff * diff;
        mag += (std::fabs(xb[j]) + std::fabs(c[j])) * (std::fabs(xb[j]) + std::fabs(c[j]));
        exact = exact && std::nearbyint(c[j]) == c[j];
      }
      exact = exact && mag <= 0x1p24;  // integers whose every float intermediate is exact
      dist[static_cast<std::size_t>(kk)] = d2;
      // Integer data whose intermediates are all exact: exact in float and in double, band 0 (an exact
      // tie then must go to the lowest index); otherwise the fp32 band plus the double error.
      band[static_cast<std::size_t>(kk)] = exact ? 0.0 : (fp32 ? gamma_f(2.0 * dm + 3) * mag : 0.0) + gamma_d(dm + 1.0) * mag;
      dmin = std::min(dmin, d2);
    }
    std::int32_t lowest = -1;
    double bmin = 0;
    for (int kk = 0; kk < k; ++kk)
      if (dist[static_cast<std::size_t>(kk)] == dmin) {
        lowest = kk;
        bmin = band[static_cast<std::size_t>(kk)];
        break;
      }
    std::vector<std::int32_t> set;
    for (int kk = 0; kk < k; ++kk)
      if (dist[static_cast<std::size_t>(kk)] - band[static_cast<std::size_t>(kk)] <= dmin + bmin &&
          (kk == lowest || dist[static_cast<std::size_t>(kk)] - band[static_cast<std::size_t>(kk)] < dmin + bmin ||
           band[static_cast<std::size_t>(kk)] + bmin > 0))
        set.push_back(kk);
    e.exact.push_back(lowest);
    e.sets.push_back(set);
  }
  return e;
}

}  // namespace dpq::ref::gate
