// `deltapq bench turbo`: the TurboQuant-style fast codec against memcpy and the dense-rotation path.
#pragma once

namespace dpq::bench {
int run_turbo_bench(int argc, char** argv);
}  // namespace dpq::bench
