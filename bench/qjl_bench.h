// `deltapq bench qjl`: the bit-packed QJL sketch on its own (sketch, query projection, estimates,
// reconstruction), against a per-row OpenBLAS sgemv sketch and the streaming read/write probes.
#pragma once

namespace dpq::bench {
int run_qjl_bench(int argc, char** argv);
}  // namespace dpq::bench
