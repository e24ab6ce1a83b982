// `deltapq bench gate`: how many rows per second the gate checks (the reference's expectations for
// every code, and the reconstruction bounds), per family, against the fast path's own encode.
#pragma once

namespace dpq::bench {
int run_gate_bench(int argc, char** argv);
}  // namespace dpq::bench
