#include "deltapq/fast/simd.h"

#include <atomic>
#include <cpuid.h>
#include <cstdlib>
#include <cstring>

#include "deltapq/core/error.h"
#include "kernels.h"

namespace dpq::fast {
namespace {

std::atomic<std::uint64_t> g_calls[2];

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

}  // namespace

const char* to_string(SimdLevel level) { return level == SimdLevel::avx2 ? "avx2" : "scalar"; }

SimdLevel detected_simd() {
  static const SimdLevel level = cpu_has_avx2_fma() ? SimdLevel::avx2 : SimdLevel::scalar;
  return level;
}

SimdLevel select_simd(std::optional<SimdLevel> override_level) {
  SimdLevel want = detected_simd();
  if (override_level) {
    want = *override_level;
  } else if (const char* env = std::getenv("DPQ_SIMD"); env && *env) {
    if (!std::strcmp(env, "scalar")) want = SimdLevel::scalar;
    else if (!std::strcmp(env, "avx2")) want = SimdLevel::avx2;
    else throw Error(std::string("DPQ_SIMD = '") + env + "' is not one of scalar, avx2");
  }
  if (want == SimdLevel::avx2 && detected_simd() != SimdLevel::avx2)
    throw Error("AVX2 kernels requested but this CPU/OS does not support AVX2 + FMA");
  return want;
}

std::uint64_t kernel_calls(SimdLevel level) { return g_calls[static_cast<int>(level)].load(); }

namespace detail {
void count_kernel(SimdLevel level) { g_calls[static_cast<int>(level)].fetch_add(1, std::memory_order_relaxed); }
}  // namespace detail

}  // namespace dpq::fast
