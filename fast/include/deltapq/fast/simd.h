// Runtime SIMD dispatch for the fast path (FAISS-style: one scalar contract, one file per ISA).
//
// The default level is resolved once per process, on first use: the environment variable
// DPQ_SIMD=scalar|avx2|avx512 if set, else the best level the CPU and OS support (CPUID for AVX2/FMA
// and AVX-512 F/DQ/BW/VL, XGETBV for the OS saving YMM and ZMM state). Each kernel family has one function table per level
// (fast/src/dispatch.h); an entry point looks its table up once per call, outside the loops. An
// explicit level passed to an entry point (the API override) wins over the default. Asking for a
// level the machine cannot run is an error, never a silent fallback. Every kernel entry increments a
// per-level counter, so a test can assert which code really ran.
//
// The avx512 level has kernels of its own where the work is compute-bound: the matrix kernel (the
// eigenbasis rotation and the QJL projections), the turbo encoder (d >= 16: Walsh-Hadamard, Lloyd-Max
// search, the fused QJL residual), the QJL score kernel, PQ nearest-centroid scoring and ADC tables, and
// Part A quantize+pack and unpack+dequantize for uniform 2-, 4- and 8-bit designs at d = 64 and 128, and
// the turbo decoder at d = 32..256 for 2, 3 and 4 bits. Its other entries (other Part A designs, other
// turbo decodes) are the AVX2 kernels, which count as avx2.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace dpq::fast {

enum class SimdLevel { scalar, avx2, avx512 };
inline constexpr int kSimdLevels = 3;

const char* to_string(SimdLevel level);
// "scalar", "avx2" or "avx512"; throws dpq::Error naming the text otherwise.
SimdLevel parse_simd_level(const std::string& text);
// What this CPU + OS can run (CPUID + XGETBV), probed once.
SimdLevel detected_simd();
// The process default, resolved once: DPQ_SIMD if set (an unknown value or a level the machine
// cannot run throws dpq::Error, on every call until fixed), else detected_simd().
SimdLevel default_simd();
// The level a call uses: the override if given (checked against the machine), else default_simd().
SimdLevel select_simd(std::optional<SimdLevel> override_level = std::nullopt);

// How many times a kernel of each level has run in this process (tests read these).
std::uint64_t kernel_calls(SimdLevel level);

// The BLAS (OpenBLAS) thread count. The fast path's BLAS calls are per-batch rotations and per-vector
// sketches, too small for BLAS threads, whose workers then spin in sched_yield between calls: a program
// that parallelizes itself (the CLI: --jobs, MPI) sets 1 once at start. A library user's process (numpy
// shares the BLAS) is left as it is.
void set_blas_threads(int n);
int blas_threads();

}  // namespace dpq::fast
