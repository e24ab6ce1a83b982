// One stream's report as bytes and back, exactly: every field (the MPFR Reals as decimal text with
// enough digits to round-trip at the working precision), so a report that travelled between MPI ranks
// writes the same JSON, CSV and text as one computed in place. CBOR of a field-by-field JSON image.
#pragma once

#include <string>

#include "deltapq/app/stream_audit.h"

namespace dpq::app {

std::string to_wire(const StreamReport& r);
// Throws dpq::Error when the bytes are not a stream report of this format.
StreamReport stream_report_from_wire(const std::string& bytes);

}  // namespace dpq::app
