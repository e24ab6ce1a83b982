// The skip rule of every test that needs AVX2 + FMA: skip only where the CPU itself lacks them, asked
// through the compiler's __builtin_cpu_supports -- a second opinion, independent of fast/'s CPUID code.
// Where the CPU has them the test runs, so a detector that wrongly says "scalar" makes the forcing tests
// fail (select_simd(avx2) throws) instead of skipping them all.
#pragma once

#include <gtest/gtest.h>

namespace dpq::testing {

inline bool cpu_reports_avx2_fma() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

}  // namespace dpq::testing

#define DPQ_SKIP_WITHOUT_AVX2()                                                     \
  if (!::dpq::testing::cpu_reports_avx2_fma())                                     \
  GTEST_SKIP() << "this CPU has no AVX2 + FMA (per __builtin_cpu_supports): only the scalar path runs"
