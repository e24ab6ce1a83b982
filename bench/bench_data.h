// Shared setup of the fast-path benchmarks: data, designs and the FAISS peer, so the CLI table and
// the Google Benchmark binary measure the same things.
#pragma once

#include <cstddef>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "deltapq/fast/codec.h"
#include "deltapq/fast/qjl.h"

namespace dpq::bench {

struct ScalarSetup {
  std::size_t n = 0, dim = 0;
  int bits = 0;
  std::vector<float> x;           // n x d, the synthetic stream (AR(1), heavy tails, low rank)
  fast::FastDesign identity;      // mean folded in, clip 3 sigma per raw coordinate
  fast::FastDesign eigen;         // eigenbasis of the sample covariance, clip 3 sqrt(lambda)
};

// Seeded, deterministic. bits in 1..8.
ScalarSetup make_scalar_setup(std::size_t n, std::size_t dim, int bits);

// Mean squared error per vector between two n x d arrays.
double mse_per_vector(const float* a, const float* b, std::size_t n, std::size_t d);

// FAISS ScalarQuantizer at 4 or 8 bits (QT_4bit / QT_8bit, trained min-max on the data), or null
// for other widths. Encode and decode n rows.
class FaissScalar {
 public:
  static std::unique_ptr<FaissScalar> make(std::size_t dim, int bits, const float* train, std::size_t n);
  virtual ~FaissScalar() = default;
  virtual std::size_t code_size() const = 0;
  virtual void encode(const float* x, std::size_t n, std::uint8_t* codes) const = 0;
  virtual void decode(const std::uint8_t* codes, std::size_t n, float* x) const = 0;
};

// This thread's CPU time in seconds (CLOCK_THREAD_CPUTIME_ID): what the benchmarks' ratios are taken
// on, since a shared machine's other load stretches wall time but not the CPU time of our thread.
double thread_cpu_seconds();

// Median of `reps` timings of each registered op: per-thread CPU time (median), with wall time beside
// it (median_wall). Every method of a configuration is measured in the same process, interleaved round
// by round, so slow phases of a noisy machine hit all of them.
struct Timer {
  std::vector<std::function<void()>> ops;
  std::vector<std::vector<double>> times, walls;
  std::size_t add(std::function<void()> f) {
    ops.push_back(std::move(f));
    times.emplace_back();
    walls.emplace_back();
    return ops.size() - 1;
  }
  void run(int reps, bool warm_up = true) {
    if (warm_up)
      for (auto& op : ops) op();  // page in buffers, train caches
    for (int r = 0; r < reps; ++r)
      for (std::size_t k = 0; k < ops.size(); ++k) {
        const auto w0 = std::chrono::steady_clock::now();
        const double c0 = thread_cpu_seconds();
        ops[k]();
        times[k].push_back(thread_cpu_seconds() - c0);
        walls[k].push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count());
      }
  }
  static double median_of(std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  }
  double median(std::size_t k) const { return median_of(times[k]); }
  double median_wall(std::size_t k) const { return median_of(walls[k]); }
};

// The physical limits a codec is measured against: a streaming read of `bytes` (XOR of the words at the
// widest load the CPU has: AVX-512, AVX2, else 64-bit) and a streaming write of as many bytes (memset).
// Measure them on buffers well beyond the last-level cache (kStreamingBytes), or they time the cache.
void stream_read(const void* data, std::size_t bytes);
inline constexpr std::size_t kStreamingBytes = std::size_t{128} << 20;  // 4x this machine's 32 MiB L3
// The default row count of the streaming benchmarks: at least 65 536 rows and kStreamingBytes of fp32.
inline std::size_t streaming_rows(std::size_t dim) {
  return std::max<std::size_t>(65536, (kStreamingBytes + dim * sizeof(float) - 1) / (dim * sizeof(float)));
}
void stream_write(void* data, std::size_t bytes);

// A QJL sketch composed from a BLAS call per row (round 1's QJL stage did this): norm in double,
// sgemv, signs packed; proj has m floats of scratch. The peer of QjlSketch::encode's blocked kernel.
void sketch_sgemv_rows(const fast::QjlSketch& sk, const float* r, std::size_t n, std::uint8_t* out, float* proj);

// One thread for every library involved (OpenBLAS, OpenMP/FAISS).
void single_thread();

}  // namespace dpq::bench
