// The skip rule of every test that needs AVX2 + FMA: skip only where the CPU itself lacks them, asked
// through the compiler's __builtin_cpu_supports -- a second opinion, independent of fast/'s CPUID code.
// Where the CPU has them the test runs, so a detector that wrongly says "scalar" makes the forcing tests
// fail (select_simd(avx2) throws) instead of skipping them all.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "deltapq/fast/simd.h"

namespace dpq::testing {

inline bool cpu_reports_avx2_fma() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

// AVX-512 F, DQ, BW and VL: what fast/'s avx512 level needs.
inline bool cpu_reports_avx512() {
  __builtin_cpu_init();
  return cpu_reports_avx2_fma() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
}

// Every level this CPU can run, by the CPU's word (not fast/'s detector): scalar first.
inline std::vector<dpq::fast::SimdLevel> cpu_levels() {
  std::vector<dpq::fast::SimdLevel> l{dpq::fast::SimdLevel::scalar};
  if (cpu_reports_avx2_fma()) l.push_back(dpq::fast::SimdLevel::avx2);
  if (cpu_reports_avx512()) l.push_back(dpq::fast::SimdLevel::avx512);
  return l;
}

}  // namespace dpq::testing

#define DPQ_SKIP_WITHOUT_AVX2()                                                     \
  if (!::dpq::testing::cpu_reports_avx2_fma())                                     \
  GTEST_SKIP() << "this CPU has no AVX2 + FMA (per __builtin_cpu_supports): only the scalar path runs"

#define DPQ_SKIP_WITHOUT_AVX512()                                                   \
  if (!::dpq::testing::cpu_reports_avx512())                                       \
  GTEST_SKIP() << "this CPU has no AVX-512 F/DQ/BW/VL (per __builtin_cpu_supports): the avx512 level cannot run"
