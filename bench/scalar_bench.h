// `deltapq bench scalar`: every fast-path operation against its peers, timed in one run.
#pragma once

#include <string>

namespace dpq::bench {

// argv after "bench scalar". Prints the table; writes JSON when --json is given. Returns the exit code.
int run_scalar_bench(int argc, char** argv);

}  // namespace dpq::bench
