// One stream's report as bytes and back, exactly: every field (the MPFR Reals as decimal text with
// enough digits to round-trip at the working precision), so a report that travelled between MPI ranks
// writes the same JSON, CSV and text as one computed in place. CBOR of a field-by-field JSON image.
#pragma once

#include <string>

#include <map>
#include <vector>

#include "deltapq/app/eval_nll.h"
#include "deltapq/app/paper_check.h"
#include "deltapq/app/stream_audit.h"

namespace dpq::app {

std::string to_wire(const StreamReport& r);
// Throws dpq::Error when the bytes are not a stream report of this format.
StreamReport stream_report_from_wire(const std::string& bytes);

// One paper-check cell (dataset x budget): its per-query samples by metric and scheme, and its rows.
using CellSamples = std::map<std::string, std::map<Scheme, std::vector<double>>>;
std::string cell_to_wire(const CellSamples& samples, const std::vector<PaperCell>& rows);
void cell_from_wire(const std::string& bytes, CellSamples& samples, std::vector<PaperCell>& rows);

// One eval-nll run of a sweep: every field but options (the sweep's own, restored by the receiver).
std::string to_wire(const EvalNllReport& r);
EvalNllReport eval_nll_report_from_wire(const std::string& bytes);

}  // namespace dpq::app
