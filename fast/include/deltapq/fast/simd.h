// Runtime SIMD dispatch for the fast path (FAISS-style: one scalar contract, one AVX2 file).
//
// The level is chosen once per call, outside the loops: an explicit API override wins, then the
// environment variable DPQ_SIMD=scalar|avx2, then the best level the CPU and OS support
// (CPUID for AVX2/FMA, XGETBV for the OS saving YMM state). Asking for avx2 on a machine without
// it is an error, never a silent fallback. Every kernel entry increments a per-level counter, so a
// test can assert that the AVX2 code really ran.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace dpq::fast {

enum class SimdLevel { scalar, avx2 };

const char* to_string(SimdLevel level);
// What this CPU + OS can run (CPUID + XGETBV), probed once.
SimdLevel detected_simd();
// The level a call uses: override, else DPQ_SIMD, else detected. Throws dpq::Error on an unknown
// DPQ_SIMD value or a level the machine cannot run.
SimdLevel select_simd(std::optional<SimdLevel> override_level = std::nullopt);

// How many times a kernel of each level has run in this process (tests read these).
std::uint64_t kernel_calls(SimdLevel level);

}  // namespace dpq::fast
