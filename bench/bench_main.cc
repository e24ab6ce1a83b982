// deltapq-bench scalar | turbo | qjl | pq | gate | audit [OPTIONS]: the benchmark suites (`deltapq bench ...` runs this).
// Speed is reported as ratios measured in one run; FAISS, the peer, is linked here and only here.
// Exit codes as deltapq's: 0 ok, 2 bad input or usage, 3 internal error.
#include <cstring>
#include <exception>
#include <iostream>

#include "deltapq/core/error.h"
#include "audit_bench.h"
#include "gate_bench.h"
#include "pq_bench.h"
#include "qjl_bench.h"
#include "scalar_bench.h"
#include "turbo_bench.h"

int main(int argc, char** argv) {
  const std::string suite = argc >= 2 ? argv[1] : "";
  try {
    if (suite == "scalar") return dpq::bench::run_scalar_bench(argc - 2, argv + 2);
    if (suite == "turbo") return dpq::bench::run_turbo_bench(argc - 2, argv + 2);
    if (suite == "qjl") return dpq::bench::run_qjl_bench(argc - 2, argv + 2);
    if (suite == "pq") return dpq::bench::run_pq_bench(argc - 2, argv + 2);
    if (suite == "gate") return dpq::bench::run_gate_bench(argc - 2, argv + 2);
    if (suite == "audit") return dpq::bench::run_audit_bench(argc - 2, argv + 2);
    throw dpq::Error("bench needs a suite: bench scalar | bench turbo | bench qjl | bench pq | bench gate | bench audit");
  } catch (const dpq::Error& e) {
    std::cerr << "deltapq bench" << (suite.empty() ? "" : " " + suite) << ": error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "deltapq bench: internal error: " << e.what() << " (a deltapq bug: please report the command line)\n";
    return 3;
  }
}
