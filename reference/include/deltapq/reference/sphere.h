// Part D reference: the sphere marginal (D1) and its Lloyd-Max codebooks (D2), and the audit of
// third-party codebooks against them.
//
// D1: a coordinate t of a uniform point of S^{d-1} has density f_d(t) = K_d (1 - t^2)^{(d-3)/2} on
// [-1, 1], K_d = Gamma(d/2) / (sqrt(pi) Gamma((d-1)/2)); (t + 1)/2 ~ Beta((d-1)/2, (d-1)/2).
// D2: 2^b levels, centroid and midpoint conditions; cell masses by the regularized incomplete beta
// function, cell means by the closed form int_x^1 t f_d = K_d (1 - x^2)^{(d-1)/2} / (d - 1).
// Solved by Lloyd iterations and Newton steps in double, then Newton steps in Real until the
// relative change is below `tolerance`.
#pragma once

#include <string>
#include <vector>

#include "deltapq/reference/certified.h"
#include "deltapq/reference/real.h"

namespace dpq::ref {

// The source a codebook is for: the sphere marginal of dimension d >= 2, or N(0, 1) (d -> infinity
// after scaling by sqrt(d)).
struct Marginal {
  bool gaussian = false;
  int dim = 0;
  static Marginal sphere(int d);  // throws unless d >= 2
  static Marginal normal();
  std::string name() const;
};

Real marginal_density(const Marginal& m, const Real& t);
// P(lo <= T <= hi), E[T 1{lo <= T <= hi}] and E[T^2 1{...}] (closed forms; +-1 / +-inf allowed).
Real cell_mass(const Marginal& m, const Real& lo, const Real& hi);
Real cell_first_moment(const Marginal& m, const Real& lo, const Real& hi);
Real cell_second_moment(const Marginal& m, const Real& lo, const Real& hi);
// E[T^2]: 1/d on the sphere, 1 for N(0, 1).
Real second_moment(const Marginal& m);

struct Codebook {
  Marginal marginal;
  int bits = 0;
  std::vector<Real> centroids;   // ascending, 2^b, symmetric
  std::vector<Real> thresholds;  // 2^b - 1 midpoints
  Real mse;                      // per coordinate: E (T - Q(T))^2
  Real residual;                 // max over cells of |c_k P_k - M_k| / P_k (centroid condition)
  int newton_steps = 0;
};

// D2. bits in 1..8. tolerance: relative change at which the Real Newton iteration stops
// (1e-30 by default; the working precision must be finer: set_precision_bits first).
Codebook lloyd_max(const Marginal& m, int bits, const Real& tolerance = Real("1e-30"));

// E (T - Q(T))^2 for any codebook given by centroids and (optional) thresholds, scored as a kernel
// applies it: empty thresholds mean the midpoints of consecutive centroids as given; the code of t is
// the number of thresholds <= t and it reconstructs to centroids[code] -- the table is not sorted first,
// so a table whose entries are out of order is scored with the error it really makes.
Real codebook_mse(const Marginal& m, const std::vector<Real>& centroids, const std::vector<Real>& thresholds);

// The audit of a third-party codebook (`deltapq codebook --check`).
struct CodebookAudit {
  std::vector<std::string> defects;
  bool scaled_by_inv_sqrt_d = false;  // the table is on the N(0,1) scale and must be divided by sqrt(d)
  bool scored = true;                 // false for a table of the wrong size (mse and excess are NaN)
  Real mse, optimal_mse, excess_pct;
};
CodebookAudit audit_codebook(const Marginal& m, int bits, std::vector<Real> centroids, std::vector<Real> thresholds);

}  // namespace dpq::ref
