// Internal: the audit's source layer (audit_uncertainty.cc), called by run_audit.
#pragma once

#include <optional>
#include <vector>

#include "deltapq/app/audit.h"

namespace dpq::app::detail {

// Fills r.uncertainty, the source verdicts and notes of r.theorems, and r.warnings.
void add_source_layer(AuditReport& r, const std::vector<double>& rows, const std::vector<int>& bits,
                      const ref::SymmetricEigen& eig_v, const AuditOptions& options);

// One source's coordinate statistics (audit_coordinates.cc): A2 with the support design (measured D and the
// bound sum c_i^2 4^-b_i), A5 with the matched design (measured D, the exact-overload and the moment bounds),
// and A6's empirical tail functional with a certified error per coordinate.
struct SourceStatistics {
  ref::Certified distortion_support, support_bound, distortion_matched;
  ref::ClippedBound exact_overload, moment;
  RVector tau, tau_error;
  bool cheap = false;  // from the double coordinates (issue 16's adaptive path)
};
// The full path, from the MPFR eigen-coordinates.
SourceStatistics full_statistics(const ref::RMatrix& coords, const RVector& lambda, const Real& kappa, const std::vector<int>& bits);
// The cheap path: coordinates (rows - mean) V in double, each certified within eps_t of the full path's;
// nullopt when a coordinate is within its eps_t of a cell boundary, a clip or the tail threshold (the full
// path's decision there cannot be inferred) or a support clip could be 0. rows: [tokens, dim] row-major,
// each entry within row_relative_error (relative) of the full path's exact row.
std::optional<SourceStatistics> cheap_statistics(const std::vector<double>& rows, std::size_t tokens, std::size_t dim,
                                                 double row_relative_error, const RVector& mean, const ref::SymmetricEigen& eig,
                                                 const Real& kappa, const std::vector<int>& bits);

}  // namespace dpq::app::detail
