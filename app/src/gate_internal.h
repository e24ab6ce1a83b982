// Internal: the gate's JSON of one report (shared by the file checker and the plugin runner).
#pragma once

#include <nlohmann/json.hpp>

#include "deltapq/app/gate.h"

namespace dpq::app::detail {

nlohmann::ordered_json gate_report_json(const GateReport& r);

}  // namespace dpq::app::detail
