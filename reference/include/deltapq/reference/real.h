// The reference's number type: MPFR through Boost.Multiprecision, runtime precision, expression
// templates off (with et_on, `auto` captures dangling references), plus the Eigen glue that
// Boost 1.74's eigen.hpp gets wrong: its NumTraits lack infinity(), quiet_NaN(), digits() and the
// exponent limits, and its lowest() returns +min, which SelfAdjointEigenSolver does not survive.
#pragma once

#include <boost/multiprecision/mpfr.hpp>
#include <Eigen/Core>

#include <limits>
#include <string>

namespace dpq::ref {

using Real = boost::multiprecision::number<boost::multiprecision::mpfr_float_backend<0>,
                                           boost::multiprecision::et_off>;
using RMatrix = Eigen::Matrix<Real, Eigen::Dynamic, Eigen::Dynamic>;
using RVector = Eigen::Matrix<Real, Eigen::Dynamic, 1>;

// Default working precision of the reference, in bits. Chosen at run time by set_precision_bits;
// the compile-time default can be changed with -DDPQ_REAL_BITS=N (CMake cache variable).
#ifndef DPQ_REAL_BITS
#define DPQ_REAL_BITS 256
#endif
inline constexpr int kDefaultPrecisionBits = DPQ_REAL_BITS;

// Sets the precision of every Real created afterwards on this thread (and the global default).
// bits must be in [64, 16384]; throws dpq::Error otherwise.
void set_precision_bits(int bits);
// The precision, in bits, that newly created Reals get.
int precision_bits();
// Unit roundoff u = 2^(1-p) of the current precision: |fl(a op b) - a op b| <= u |a op b|.
Real unit_roundoff();

// Sets the precision for a scope and restores the caller's exactly on exit (a workflow that needs its own
// precision -- a codebook to N digits, a scheme's table -- must not leave it changed for the next call in
// a long-lived process such as Python). Throws like set_precision_bits.
class PrecisionScope {
 public:
  explicit PrecisionScope(int bits) : saved_(Real::default_precision()) { set_precision_bits(bits); }
  ~PrecisionScope() { Real::default_precision(saved_); }
  PrecisionScope(const PrecisionScope&) = delete;
  PrecisionScope& operator=(const PrecisionScope&) = delete;

 private:
  unsigned saved_;  // Boost's decimal digits: set_precision_bits(precision_bits()) would round up again
};

// Exact conversions: from double (every double is exactly representable) and from decimal text.
inline Real real(double x) { return Real(x); }
inline Real real(const char* decimal) { return Real(decimal); }
// Decimal text with `digits` significant digits (scientific).
std::string to_string(const Real& x, int digits = 20);
inline double to_double(const Real& x) { return x.convert_to<double>(); }

namespace detail {
// Every program that includes this header starts at the documented default precision, whatever
// it links (a static initializer inside real.cc runs only if the linker keeps real.o; Boost's own
// default would then silently apply).
inline const int kPrecisionInitialised = (set_precision_bits(kDefaultPrecisionBits), 0);
}  // namespace detail

}  // namespace dpq::ref

namespace Eigen {

// More specialized than Boost's partial specialisation; provides everything Eigen 3.4's
// SelfAdjointEigenSolver asks for, with a correct lowest().
template <>
struct NumTraits<dpq::ref::Real> : GenericNumTraits<dpq::ref::Real> {
  using Real = dpq::ref::Real;
  using NonInteger = Real;
  using Literal = Real;
  using Nested = Real;
  enum {
    IsComplex = 0,
    IsInteger = 0,
    IsSigned = 1,
    RequireInitialization = 1,
    ReadCost = HugeCost,
    AddCost = HugeCost,
    MulCost = HugeCost
  };
  static Real epsilon() { return std::numeric_limits<Real>::epsilon(); }
  static Real dummy_precision() { return epsilon() * 1000; }
  static Real highest() { return (std::numeric_limits<Real>::max)(); }
  static Real lowest() { return -highest(); }
  static Real infinity() { return std::numeric_limits<Real>::infinity(); }
  static Real quiet_NaN() { return std::numeric_limits<Real>::quiet_NaN(); }
  static int digits10() { return static_cast<int>(Real::default_precision()); }
  static int digits() { return dpq::ref::precision_bits(); }
  static int min_exponent() { return std::numeric_limits<Real>::min_exponent; }
  static int max_exponent() { return std::numeric_limits<Real>::max_exponent; }
};

}  // namespace Eigen
