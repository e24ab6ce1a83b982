#include "deltapq/reference/real.h"

#include <cmath>
#include <sstream>

#include "deltapq/core/error.h"
#include "deltapq/reference/certified.h"

namespace dpq::ref {

void set_precision_bits(int bits) {
  if (bits < 64 || bits > 16384)
    throw Error("precision " + std::to_string(bits) + " bits is outside 64..16384");
  // Boost 1.74 sets MPFR precision in decimal digits; ceil(bits * log10 2) + 1 digits give >= bits.
  const unsigned digits = static_cast<unsigned>(std::ceil(bits * 0.30102999566398120)) + 1;
  Real::default_precision(digits);
}

int precision_bits() {
  const Real probe(1);
  return static_cast<int>(mpfr_get_prec(probe.backend().data()));
}

Real unit_roundoff() {
  Real u(1);
  return ldexp(u, 1 - precision_bits());
}

std::string to_string(const Real& x, int digits) {
  std::ostringstream os;
  os.precision(digits);
  os << std::scientific << x;
  return os.str();
}

Verdict verdict_le(const Certified& lhs, const Certified& rhs) {
  const Real margin = rhs.value - lhs.value;
  const Real err = lhs.error + rhs.error + rounding_slack(abs(lhs.value) + abs(rhs.value), 2);
  if (margin > err) return Verdict::holds;
  if (margin < -err) return Verdict::fails;
  return Verdict::undecided;
}

Real rounding_slack(const Real& magnitude, double n_ops) {
  const Real nu = unit_roundoff() * Real(n_ops);
  return magnitude * nu / (Real(1) - nu);
}

}  // namespace dpq::ref
