// Tail functionals of the standardised (unit-variance) coordinate Z for A5/A6:
//   tau(kappa, b) = E[(|Z| - kappa + kappa 2^{-b})^2 1{|Z| > kappa}],   P(|Z| <= kappa).
// Gaussian in closed form (phi, Q); Student-t (nu > 2) and generalised Gaussian (beta > 0) by
// tanh-sinh quadrature at Real precision; both also in closed form through incomplete beta/gamma
// functions, kept as an independent cross-check.
#pragma once

#include <ostream>
#include <string>

#include "deltapq/reference/certified.h"
#include "deltapq/reference/real.h"

namespace dpq::ref {

struct TailModel {
  enum class Kind { gaussian, student_t, gen_gaussian };
  Kind kind = Kind::gaussian;
  Real shape;  // nu for Student-t, beta for the generalised Gaussian; unused for the Gaussian

  static TailModel gaussian();
  static TailModel student_t(const Real& nu);       // throws unless nu > 2 (finite variance)
  static TailModel gen_gaussian(const Real& beta);  // throws unless beta > 0
  std::string name() const;
};
// For test frameworks' printers.
inline void showValue(const TailModel& m, std::ostream& os) { os << m.name(); }

// Density of the unit-variance model at z.
Real model_density(const TailModel& m, const Real& z);
// P(|Z| <= kappa), closed form (erf, incomplete beta, incomplete gamma).
Real inside_probability(const TailModel& m, const Real& kappa);
// tau(kappa, bits): Gaussian closed form; others by quadrature. error is the quadrature's estimate
// plus rounding; throws dpq::Error if the quadrature does not reach 2^{-p/2} relative accuracy.
Certified tail_functional(const TailModel& m, const Real& kappa, int bits);
// Relative accuracy, in bits, that deltapq relies on for Boost.Math's incomplete beta and gamma
// functions on MPFR: they are NOT accurate to the working precision (a fixed approximation inside
// limits them, erratically: 135 to 260 bits at 264-bit precision). tests/reference_test.cc measures them against
// an independent 800-bit computation and fails if they fall below this.
inline constexpr int kSpecialFunctionAccuracyBits = 128;
// The same from the closed forms (Student-t: incomplete beta; GGD: incomplete gamma); error from
// kSpecialFunctionAccuracyBits applied to every special-function term.
Certified tail_functional_closed_form(const TailModel& m, const Real& kappa, int bits);
// E[Z^4] of the unit-variance model (+inf for Student-t with nu <= 4).
Real fourth_moment(const TailModel& m);

}  // namespace dpq::ref
