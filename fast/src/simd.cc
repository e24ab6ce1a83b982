#include "deltapq/fast/simd.h"

#include <atomic>
#include <cpuid.h>
#include <cstdlib>

#include "deltapq/core/error.h"
#include "dispatch.h"

extern "C" {  // OpenBLAS's own entry points (cblas.h declares them; only these are needed here)
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
}

namespace dpq::fast {
namespace {

std::atomic<std::uint64_t> g_calls[kSimdLevels];

bool cpu_has_avx2_fma() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
  const bool osxsave = ecx & (1u << 27), avx = ecx & (1u << 28), fma = ecx & (1u << 12);
  if (!(osxsave && avx && fma)) return false;
  // XGETBV: the OS must save XMM (bit 1) and YMM (bit 2) state.
  unsigned xcr0_lo, xcr0_hi;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  if ((xcr0_lo & 6u) != 6u) return false;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  return ebx & (1u << 5);  // AVX2
}

// AVX-512 F, DQ, BW and VL (leaf 7 EBX bits 16, 17, 30, 31) with the OS saving opmask and ZMM state
// (XCR0 bits 5, 6, 7 besides XMM and YMM).
bool cpu_has_avx512() {
  if (!cpu_has_avx2_fma()) return false;
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  const unsigned need = (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31);
  if ((ebx & need) != need) return false;
  unsigned xcr0_lo, xcr0_hi;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  return (xcr0_lo & 0xe6u) == 0xe6u;
}

SimdLevel runnable(SimdLevel want) {
  if (static_cast<int>(want) > static_cast<int>(detected_simd()))
    throw Error(want == SimdLevel::avx512 ? "AVX-512 kernels requested but this CPU/OS does not support AVX-512 F/DQ/BW/VL"
                                          : "AVX2 kernels requested but this CPU/OS does not support AVX2 + FMA");
  return want;
}

SimdLevel resolve_default() {
  const char* env = std::getenv("DPQ_SIMD");
  if (!env || !*env) return detected_simd();
  try {
    return runnable(parse_simd_level(env));
  } catch (const Error& e) {
    throw Error(std::string("DPQ_SIMD: ") + e.what());
  }
}

}  // namespace

const char* to_string(SimdLevel level) {
  return level == SimdLevel::avx512 ? "avx512" : level == SimdLevel::avx2 ? "avx2" : "scalar";
}

SimdLevel parse_simd_level(const std::string& text) {
  if (text == "scalar") return SimdLevel::scalar;
  if (text == "avx2") return SimdLevel::avx2;
  if (text == "avx512") return SimdLevel::avx512;
  throw Error("'" + text + "' is not one of scalar, avx2, avx512");
}

SimdLevel detected_simd() {
  static const SimdLevel level = cpu_has_avx512()     ? SimdLevel::avx512
                                 : cpu_has_avx2_fma() ? SimdLevel::avx2
                                                      : SimdLevel::scalar;
  return level;
}

SimdLevel default_simd() {
  static const SimdLevel level = resolve_default();  // a throw leaves it unset: the next call retries
  return level;
}

SimdLevel select_simd(std::optional<SimdLevel> override_level) {
  return override_level ? runnable(*override_level) : default_simd();
}

std::uint64_t kernel_calls(SimdLevel level) { return g_calls[static_cast<int>(level)].load(); }

namespace detail {

void count_kernel(SimdLevel level) { g_calls[static_cast<int>(level)].fetch_add(1, std::memory_order_relaxed); }

const CodecKernels& codec_kernels(SimdLevel level) {
  static const CodecKernels* const table[kSimdLevels] = {&kCodecScalar, &kCodecAvx2, &kCodecAvx512};
  return *table[static_cast<int>(level)];
}
const TurboKernels& turbo_kernels(SimdLevel level) {
  static const TurboKernels* const table[kSimdLevels] = {&kTurboScalar, &kTurboAvx2, &kTurboAvx512};
  return *table[static_cast<int>(level)];
}
const QjlKernels& qjl_kernels(SimdLevel level) {
  static const QjlKernels* const table[kSimdLevels] = {&kQjlScalar, &kQjlAvx2, &kQjlAvx512};
  return *table[static_cast<int>(level)];
}
const PqKernels& pq_kernels(SimdLevel level) {
  static const PqKernels* const table[kSimdLevels] = {&kPqScalar, &kPqAvx2, &kPqAvx512};
  return *table[static_cast<int>(level)];
}

}  // namespace detail
void set_blas_threads(int n) {
  if (n < 1) throw Error("BLAS threads: " + std::to_string(n) + " (at least 1)");
  openblas_set_num_threads(n);
}
int blas_threads() { return openblas_get_num_threads(); }

}  // namespace dpq::fast
