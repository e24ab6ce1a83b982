// Internal: the audit's source layer (audit_uncertainty.cc), called by run_audit.
#pragma once

#include <vector>

#include "deltapq/app/audit.h"

namespace dpq::app::detail {

// Fills r.uncertainty, the source verdicts and notes of r.theorems, and r.warnings.
void add_source_layer(AuditReport& r, const std::vector<double>& rows, const std::vector<int>& bits,
                      const ref::SymmetricEigen& eig_v, const AuditOptions& options);

}  // namespace dpq::app::detail
