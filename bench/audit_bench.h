// `deltapq bench audit`: what an audit of a real model's cache costs. A synthetic cache of S streams
// [T, d] through audit-stream with one thread, with --jobs 2, and over MPI ranks (mpirun, when
// installed): CPU seconds per stream, the wall-time ratios, the reports compared byte for byte, and
// the cost of a 768-stream cache (32 layers x 8 KV heads x {k_pre, k_post, v}) extrapolated.
#pragma once

namespace dpq::bench {
int run_audit_bench(int argc, char** argv);
}  // namespace dpq::bench
