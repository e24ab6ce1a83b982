// The gate's plugin property runner (`deltapq gate --plugin LIB.so`): loads a kernel through the C ABI
// of deltapq/gate_plugin.h, drives it with RapidCheck-generated batches (random rows mixed with the
// edge rows of gate_row), checks every output with check_gate, and shrinks a failing batch to a
// minimal counterexample, printing the seed that reproduces it.
//
// Linked only into executables (RapidCheck's static library is not position-independent): the
// dpq_gate_runner target, not dpq_app.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "deltapq/app/gate.h"

namespace dpq::app {

struct GatePluginOptions {
  std::optional<std::string> design_path;  // overrides the plugin's declared design
  std::optional<std::uint64_t> seed;       // RapidCheck's seed (default: random, printed)
  int cases = 200;                         // batches that must pass
  int max_batch = 64;                      // rows per batch at most
  int timeout_seconds = 20;                // per call (in the child process)
  bool fork = true;                        // run each call in a child process (crash and hang isolation)
};

struct GatePluginFailure {
  std::string what;                        // "wrong outputs", "encode returned 3", "crashed (SIGSEGV)", ...
  std::vector<float> rows;                 // the minimal batch, rows x dim
  std::vector<std::string> row_kinds;
  GateReport report;                       // its check (when the calls returned)
};

struct GatePluginReport {
  std::string library, name;
  GateDesign design;
  std::uint64_t seed = 0;
  int cases = 0;                           // batches that passed before a failure (or all of them)
  std::size_t rows_checked = 0;            // over every batch run, shrinking included
  GateCounts codes, signs;
  bool decode_checked = false;
  std::optional<GatePluginFailure> failure;
  bool passes() const { return !failure.has_value(); }
};

// Throws dpq::Error when the library cannot be loaded, lacks a symbol, declares an ABI version other
// than DPQ_GATE_ABI_VERSION, or declares a design that is invalid or inconsistent with its fields.
GatePluginReport run_gate_plugin(const std::string& library, const GatePluginOptions& options);

std::string to_json(const GatePluginReport& r);
void print_text(const GatePluginReport& r, std::ostream& os);

}  // namespace dpq::app
