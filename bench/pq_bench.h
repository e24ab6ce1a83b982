// `deltapq bench pq`: the fast product quantizer against FAISS ProductQuantizer on the same data.
#pragma once

namespace dpq::bench {
int run_pq_bench(int argc, char** argv);
}  // namespace dpq::bench
