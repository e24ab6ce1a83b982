// Tail functionals for A5/A6: the translation unit with Boost.Math special functions and
// tanh-sinh quadrature at Real precision (compile-time heavy; keep it alone).
#include "deltapq/reference/tails.h"

#include <boost/math/constants/constants.hpp>
#include <boost/math/quadrature/tanh_sinh.hpp>
#include <boost/math/special_functions/beta.hpp>
#include <boost/math/special_functions/erf.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <map>
#include <mutex>
#include <memory>

#include "deltapq/core/design.h"
#include "deltapq/core/error.h"

namespace dpq::ref {
namespace {

using boost::math::quadrature::tanh_sinh;

Real pi() { return boost::math::constants::pi<Real>(); }

// Scale of the unit-variance Student-t: Z = T / sigma, sigma = sqrt(nu / (nu - 2)).
Real t_sigma(const Real& nu) { return sqrt(nu / (nu - 2)); }
// Scale alpha of the unit-variance generalised Gaussian: alpha^2 Gamma(3/beta) / Gamma(1/beta) = 1.
Real ggd_alpha(const Real& beta) {
  return sqrt(boost::math::tgamma(Real(1) / beta) / boost::math::tgamma(Real(3) / beta));
}

// tanh-sinh needs an explicit minimum complement with MPFR (without one Boost 1.74 throws in the constructor for MPFR types); its abscissas
// depend on the precision, so keep one integrator per precision.
tanh_sinh<Real>& integrator() {
  static std::mutex mutex;  // audit-stream --jobs: several threads may ask at once
  static std::map<int, std::unique_ptr<tanh_sinh<Real>>> cache;
  const std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[precision_bits()];
  if (!slot) slot = std::make_unique<tanh_sinh<Real>>(15, Real("1e-1000"));
  return *slot;
}

}  // namespace

TailModel TailModel::gaussian() { return TailModel{Kind::gaussian, Real(0)}; }
TailModel TailModel::student_t(const Real& nu) {
  if (!(nu > 2)) throw Error("Student-t model: nu = " + to_string(nu, 6) + " (a finite variance needs nu > 2)");
  return TailModel{Kind::student_t, nu};
}
TailModel TailModel::gen_gaussian(const Real& beta) {
  if (!(beta > 0)) throw Error("generalised Gaussian model: beta = " + to_string(beta, 6) + " must be > 0");
  return TailModel{Kind::gen_gaussian, beta};
}
std::string TailModel::name() const {
  switch (kind) {
    case Kind::gaussian: return "gaussian";
    case Kind::student_t: return "student_t(nu=" + to_string(shape, 6) + ")";
    default: return "gen_gaussian(beta=" + to_string(shape, 6) + ")";
  }
}

Real model_density(const TailModel& m, const Real& z) {
  switch (m.kind) {
    case TailModel::Kind::gaussian: return exp(-z * z / 2) / sqrt(2 * pi());
    case TailModel::Kind::student_t: {
      const Real& nu = m.shape;
      const Real s = t_sigma(nu);
      const Real t = s * z;
      const Real c = exp(boost::math::lgamma((nu + 1) / 2) - boost::math::lgamma(nu / 2)) / sqrt(nu * pi());
      return s * c * pow(1 + t * t / nu, -(nu + 1) / 2);
    }
    default: {
      const Real& beta = m.shape;
      const Real a = ggd_alpha(beta);
      return beta / (2 * a * boost::math::tgamma(1 / beta)) * exp(-pow(abs(z) / a, beta));
    }
  }
}

Real inside_probability(const TailModel& m, const Real& kappa) {
  if (!(kappa > 0)) throw Error("kappa = " + to_string(kappa, 6) + " must be > 0");
  switch (m.kind) {
    case TailModel::Kind::gaussian: return boost::math::erf(kappa / sqrt(Real(2)));
    case TailModel::Kind::student_t: {
      const Real a = kappa * t_sigma(m.shape);
      return 1 - boost::math::ibeta(m.shape / 2, Real("0.5"), m.shape / (m.shape + a * a));
    }
    default: {
      const Real a = ggd_alpha(m.shape);
      return boost::math::gamma_p(1 / m.shape, pow(kappa / a, m.shape));
    }
  }
}

Certified tail_functional(const TailModel& m, const Real& kappa, int bits) {
  if (!(kappa > 0)) throw Error("kappa = " + to_string(kappa, 6) + " must be > 0");
  if (bits < 0 || bits > kMaxBits) throw Error("bits = " + std::to_string(bits) + " is outside 0..16");
  if (m.kind == TailModel::Kind::gaussian) {
    return tail_functional_closed_form(m, kappa, bits);
  }
  // tau = 2 int_kappa^inf (z - kappa + h)^2 f(z) dz; with z = kappa / u the tail becomes a finite
  // interval whose only singularity (heavy tails: u^{nu-3}) sits at the endpoint u = 0, which
  // tanh-sinh handles.
  // For Student-t with nu < 3 that singularity is strong enough (u^{-0.9} at nu = 2.1) for the
  // abscissas' finite reach near 0 to cut off mass the error estimate cannot see; u = w^p with
  // p = 1/(nu - 2) turns it into a bounded integrand (u^{nu-3} du = p w^{p(nu-2)-1} dw = p dw).
  const Real h = ldexp(kappa, -bits);
  const Real p = (m.kind == TailModel::Kind::student_t && m.shape < 3) ? Real(1 / (m.shape - 2)) : Real(1);
  auto integrand = [&](const Real& w) -> Real {
    if (w <= 0) return Real(0);
    const Real u = p == 1 ? w : pow(w, p);
    if (u <= 0) return Real(0);
    const Real z = kappa / u;
    const Real e = z - kappa + h;
    const Real jacobian = p == 1 ? Real(1) : Real(p * u / w);
    return e * e * model_density(m, z) * kappa / (u * u) * jacobian;
  };
  Real error(0), l1(0);
  const Real tol = ldexp(Real(1), -precision_bits() * 3 / 4);
  const Real v = 2 * integrator().integrate(integrand, Real(0), Real(1), tol, &error, &l1);
  const Real err = 2 * error + rounding_slack(2 * l1, 64);
  if (!(err <= ldexp(abs(v), -precision_bits() / 2)) && !(err <= ldexp(Real(1), -precision_bits() / 2)))
    throw Error("tail functional of " + m.name() + " at kappa = " + to_string(kappa, 6) +
                ": quadrature did not converge (error estimate " + to_string(err, 3) + ")");
  return {v, err};
}

Certified tail_functional_closed_form(const TailModel& m, const Real& kappa, int bits) {
  // tau = E[Z^2 1] + 2 s E[|Z| 1] + s^2 P(|Z| > kappa), s = h - kappa.
  const Real h = ldexp(kappa, -bits);
  const Real s = h - kappa;
  Real second, first, tail;
  Real magnitude;  // sum of the absolute values of every special-function term, for the error
  switch (m.kind) {
    case TailModel::Kind::gaussian: {
      const Real phi = exp(-kappa * kappa / 2) / sqrt(2 * pi());
      const Real q = boost::math::erfc(kappa / sqrt(Real(2))) / 2;
      second = 2 * (kappa * phi + q);
      first = 2 * phi;
      tail = 2 * q;
      // erf/erfc/exp are accurate to the working precision (checked against a 45-digit value in
      // tests/reference_test.cc); only rounding remains.
      const Real v = second + 2 * s * first + s * s * tail;
      return {v, rounding_slack(abs(second) + 2 * abs(s * first) + s * s * tail, 32)};
    }
    case TailModel::Kind::student_t: {
      // T ~ t_nu, a = kappa sigma, x = nu / (nu + a^2):
      //   P(|T| > a) = I_x(nu/2, 1/2)
      //   E[|T| 1] = 2 c_nu nu/(nu-1) (1 + a^2/nu)^{-(nu-1)/2}
      //   E[T^2 1] = nu (nu-1)/(nu-2) I_x((nu-2)/2, 1/2) - nu I_x(nu/2, 1/2)   (proofs-notes/A5.md)
      const Real& nu = m.shape;
      const Real sigma = t_sigma(nu);
      const Real a = kappa * sigma;
      const Real x = nu / (nu + a * a);
      const Real c = exp(boost::math::lgamma((nu + 1) / 2) - boost::math::lgamma(nu / 2)) / sqrt(nu * pi());
      const Real half("0.5");
      tail = boost::math::ibeta(nu / 2, half, x);
      first = 2 * c * nu / (nu - 1) * pow(1 + a * a / nu, -(nu - 1) / 2) / sigma;
      const Real i_lower = boost::math::ibeta((nu - 2) / 2, half, x);
      second = (nu * (nu - 1) / (nu - 2) * i_lower - nu * tail) / (sigma * sigma);
      magnitude = (nu * (nu - 1) / (nu - 2) * i_lower + nu * tail) / (sigma * sigma) + 2 * abs(s * first) + s * s * tail;
      break;
    }
    default: {
      // E[|Z|^k 1{|Z| > kappa}] = alpha^k Gamma((k+1)/beta, (kappa/alpha)^beta) / Gamma(1/beta).
      const Real& beta = m.shape;
      const Real a = ggd_alpha(beta);
      const Real w = pow(kappa / a, beta);
      const Real g1 = boost::math::tgamma(1 / beta);
      tail = boost::math::tgamma(1 / beta, w) / g1;
      first = a * boost::math::tgamma(2 / beta, w) / g1;
      second = a * a * boost::math::tgamma(3 / beta, w) / g1;
      magnitude = second + 2 * abs(s * first) + s * s * tail;
      break;
    }
  }
  const Real v = second + 2 * s * first + s * s * tail;
  // Each special-function value carries relative error 2^-kSpecialFunctionAccuracyBits; the
  // elementary operations around them stay far below that.
  return {v, ldexp(magnitude, -kSpecialFunctionAccuracyBits) * 4};
}

Real fourth_moment(const TailModel& m) {
  switch (m.kind) {
    case TailModel::Kind::gaussian: return Real(3);
    case TailModel::Kind::student_t: {
      const Real& nu = m.shape;
      if (nu <= 4) return std::numeric_limits<Real>::infinity();
      return 3 * (nu - 2) / (nu - 4);
    }
    default: {
      const Real& beta = m.shape;
      const Real g1 = boost::math::tgamma(1 / beta), g3 = boost::math::tgamma(3 / beta);
      return boost::math::tgamma(5 / beta) * g1 / (g3 * g3);
    }
  }
}

}  // namespace dpq::ref
