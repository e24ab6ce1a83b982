// Google Benchmark view of the same operations (per-operation timings with counters).
// Run: ./build/bench/fast_bench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <cstring>
#include <faiss/impl/ProductQuantizer.h>

#include "bench_data.h"
#include "deltapq/fast/pq.h"

namespace dpq::bench {
namespace {

constexpr std::size_t kN = 65536;

void quantize(benchmark::State& state, fast::SimdLevel level) {
  const auto d = static_cast<std::size_t>(state.range(0));
  const int b = static_cast<int>(state.range(1));
  const ScalarSetup s = make_scalar_setup(kN, d, b);
  const fast::Codec codec(s.identity);
  std::vector<std::uint8_t> codes(kN * codec.bytes_per_row());
  for (auto _ : state) {
    fast::quantize_pack(codec.kernel(), s.x.data(), kN, d, codes.data(), level);
    benchmark::DoNotOptimize(codes.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kN));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kN * d * sizeof(float)));
}
// Each SIMD level by name (skipped where the CPU cannot run it), so the levels are compared in one run.
bool runnable(benchmark::State& s, fast::SimdLevel level) {
  if (static_cast<int>(level) <= static_cast<int>(fast::detected_simd())) return true;
  s.SkipWithError("this CPU cannot run the level");
  return false;
}
void BM_QuantizeAvx2(benchmark::State& s) { if (runnable(s, fast::SimdLevel::avx2)) quantize(s, fast::SimdLevel::avx2); }
void BM_QuantizeAvx512(benchmark::State& s) { if (runnable(s, fast::SimdLevel::avx512)) quantize(s, fast::SimdLevel::avx512); }
void BM_QuantizeScalar(benchmark::State& s) { quantize(s, fast::SimdLevel::scalar); }

void BM_FaissEncode(benchmark::State& state) {
  const auto d = static_cast<std::size_t>(state.range(0));
  const int b = static_cast<int>(state.range(1));
  const ScalarSetup s = make_scalar_setup(kN, d, b);
  auto faiss = FaissScalar::make(d, b, s.x.data(), kN);
  std::vector<std::uint8_t> codes(kN * faiss->code_size());
  for (auto _ : state) {
    faiss->encode(s.x.data(), kN, codes.data());
    benchmark::DoNotOptimize(codes.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kN));
}

void BM_Memcpy(benchmark::State& state) {
  const auto d = static_cast<std::size_t>(state.range(0));
  std::vector<float> a(kN * d, 1.0f), b(kN * d);
  for (auto _ : state) {
    std::memcpy(b.data(), a.data(), a.size() * sizeof(float));
    benchmark::DoNotOptimize(b.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kN));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kN * d * sizeof(float)));
}

void BM_Encode(benchmark::State& state) {
  const auto d = static_cast<std::size_t>(state.range(0));
  const int b = static_cast<int>(state.range(1));
  const ScalarSetup s = make_scalar_setup(kN, d, b);
  const fast::Codec codec(s.eigen);
  std::vector<std::uint8_t> codes(kN * codec.bytes_per_row());
  for (auto _ : state) {
    codec.encode(s.x.data(), kN, codes.data());
    benchmark::DoNotOptimize(codes.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kN));
}

// Closed-loop append (C1): encode one token's delta, decode it, update the reference x^_{t-1}.
// Identity basis, b = 4, one head of d coordinates.
// One closed-loop append per iteration: delta_t = x_t - x^_{t-1}, encode, decode, x^_t = x^_{t-1} + Q(delta_t).
// `row(t)` gives x_t.
template <class Row>
void closed_loop(benchmark::State& state, const fast::Codec& codec, Row row) {
  const std::size_t d = codec.dim();
  std::vector<float> prev(d, 0.0f), delta(d), q(d);
  std::vector<std::uint8_t> codes(codec.bytes_per_row());
  std::size_t t = 0;
  for (auto _ : state) {
    const float* x = row(t++);
    for (std::size_t i = 0; i < d; ++i) delta[i] = x[i] - prev[i];
    codec.encode(delta.data(), 1, codes.data());
    codec.decode(codes.data(), 1, q.data());
    for (std::size_t i = 0; i < d; ++i) prev[i] += q[i];
    benchmark::DoNotOptimize(prev.data());
    benchmark::DoNotOptimize(codes.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// Identity basis, a drifting constant row.
void BM_ClosedLoopAppend(benchmark::State& state) {
  const auto d = static_cast<std::size_t>(state.range(0));
  fast::FastDesign ds;
  ds.clip.assign(d, 1.0f);
  ds.bits.assign(d, 4);
  std::vector<float> x(d);
  closed_loop(state, fast::Codec(ds), [&](std::size_t t) {
    for (std::size_t i = 0; i < d; ++i) x[i] = 0.1f + 0.01f * static_cast<float>(t + 1);
    return x.data();
  });
}
BENCHMARK(BM_ClosedLoopAppend)->Arg(128)->Arg(8);

// The append as the pipeline runs it: the delta codec in the eigenbasis of the stream's covariance
// (zero mean, clip 3 sqrt(lambda)), on the synthetic stream's rows.
void BM_ClosedLoopAppendEigenbasis(benchmark::State& state) {
  const ScalarSetup s = make_scalar_setup(4096, static_cast<std::size_t>(state.range(0)), 4);
  fast::FastDesign ds = s.eigen;
  ds.mean.clear();
  closed_loop(state, fast::Codec(ds), [&](std::size_t t) { return s.x.data() + (t % s.n) * s.dim; });
}
BENCHMARK(BM_ClosedLoopAppendEigenbasis)->Arg(128)->Arg(8)->MeasureProcessCPUTime();

// Product quantizer, d = 128, 8-bit codes, M blocks (trained once, 5 k-means rounds: timing only).
constexpr std::size_t kPqN = 16384;
const ScalarSetup& pq_data() {
  static const ScalarSetup s = make_scalar_setup(kPqN, 128, 8);
  return s;
}
void pq_encode(benchmark::State& state, fast::SimdLevel level) {
  const int m = static_cast<int>(state.range(0));
  fast::ProductQuantizer pq(128, m, 8);
  pq.train(pq_data().x.data(), kPqN, {5, 1234});
  std::vector<std::uint8_t> codes(kPqN * m);
  for (auto _ : state) {
    pq.encode(pq_data().x.data(), kPqN, codes.data(), level);
    benchmark::DoNotOptimize(codes.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kPqN));
}
void BM_PqEncodeAvx2(benchmark::State& s) { if (runnable(s, fast::SimdLevel::avx2)) pq_encode(s, fast::SimdLevel::avx2); }
void BM_PqEncodeAvx512(benchmark::State& s) { if (runnable(s, fast::SimdLevel::avx512)) pq_encode(s, fast::SimdLevel::avx512); }
void BM_PqEncodeScalar(benchmark::State& s) { pq_encode(s, fast::SimdLevel::scalar); }
void BM_FaissPqEncode(benchmark::State& state) {
  const int m = static_cast<int>(state.range(0));
  faiss::ProductQuantizer pq(128, static_cast<std::size_t>(m), 8);
  pq.cp.niter = 5;
  pq.train(kPqN, pq_data().x.data());
  std::vector<std::uint8_t> codes(kPqN * pq.code_size);
  for (auto _ : state) {
    pq.compute_codes(pq_data().x.data(), codes.data(), kPqN);
    benchmark::DoNotOptimize(codes.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kPqN));
}
void BM_PqAdcTableL2(benchmark::State& state) {
  const int m = static_cast<int>(state.range(0));
  fast::ProductQuantizer pq(128, m, 8);
  pq.train(pq_data().x.data(), kPqN, {5, 1234});
  std::vector<float> table(static_cast<std::size_t>(m) * 256);
  for (auto _ : state) {
    pq.adc_table_l2(pq_data().x.data(), table.data());
    benchmark::DoNotOptimize(table.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_PqEncodeAvx2)->Arg(8)->Arg(16)->Arg(32);
BENCHMARK(BM_PqEncodeAvx512)->Arg(8)->Arg(16)->Arg(32);
BENCHMARK(BM_PqEncodeScalar)->Arg(16);
BENCHMARK(BM_FaissPqEncode)->Arg(8)->Arg(16)->Arg(32);
BENCHMARK(BM_PqAdcTableL2)->Arg(16);

const auto kArgs = [](benchmark::internal::Benchmark* b) {
  for (int d : {64, 128, 256})
    for (int bits : {2, 4, 8}) b->Args({d, bits});
};
BENCHMARK(BM_QuantizeAvx2)->Apply(kArgs);
BENCHMARK(BM_QuantizeAvx512)->Apply(kArgs);
BENCHMARK(BM_QuantizeScalar)->Apply(kArgs);
BENCHMARK(BM_FaissEncode)->Args({64, 4})->Args({128, 4})->Args({256, 4})->Args({64, 8})->Args({128, 8})->Args({256, 8});
BENCHMARK(BM_Memcpy)->Arg(64)->Arg(128)->Arg(256);
BENCHMARK(BM_Encode)->Apply(kArgs);

}  // namespace
}  // namespace dpq::bench

int main(int argc, char** argv) {
  dpq::bench::single_thread();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
