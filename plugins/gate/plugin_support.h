// Helpers of the example gate plugins (not part of the ABI: a user's plugin needs only
// deltapq/gate_plugin.h): the info record built from a design, and the copy of deltapq's own outputs
// into the ABI's buffers for the plugins that wrap the fast path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "deltapq/app/gate.h"
#include "deltapq/gate_plugin.h"

namespace dpq::plugin {

// A dpq_gate_info for `design`, in static storage owned by the caller's function-local static.
struct StaticInfo {
  std::string name, json;
  dpq_gate_info info{};
  StaticInfo(std::string name_, const app::GateDesign& g, bool has_decode) : name(std::move(name_)), json(app::gate_design_json(g)) {
    info.abi_version = DPQ_GATE_ABI_VERSION;
    info.name = name.c_str();
    info.family = app::to_string(g.family);
    info.dim = g.dim();
    int bits = 0;
    if (g.family == app::GateFamily::scalar)
      for (int b : g.scalar.design.bits) bits = b > bits ? b : bits;
    if (g.family == app::GateFamily::turbo) bits = g.turbo.bits;
    if (g.family == app::GateFamily::pq) bits = g.pq.bits;
    info.bits = bits;
    info.design_json = json.c_str();
    info.has_decode = has_decode ? 1 : 0;
  }
};

// Copies deltapq's outputs (app::fast_gate_outputs) into the ABI's buffers.
inline void copy_outputs(const app::GateOutputs& o, std::size_t c, std::size_t m, int32_t* codes, float* norms, uint8_t* signs,
                         float* residual_norms, uint8_t* refused) {
  for (std::size_t r = 0; r < o.rows; ++r) {
    refused[r] = (*o.refused)[r] ? 1 : 0;
    for (std::size_t k = 0; k < c; ++k) codes[r * c + k] = static_cast<int32_t>(o.codes[r * c + k]);
    if (norms && o.norms) norms[r] = (*o.norms)[r];
    if (m && signs && o.signs) {
      for (std::size_t j = 0; j < m; ++j) signs[r * m + j] = (*o.signs)[r * m + j];
      residual_norms[r] = (*o.residual_norms)[r];
    }
  }
}

}  // namespace dpq::plugin
