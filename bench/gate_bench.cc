#include "gate_bench.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>

#include "args.h"
#include "bench_data.h"
#include "deltapq/app/gate.h"
#include "deltapq/app/paper_check.h"
#include "deltapq/core/atomic_file.h"
#include "deltapq/fast/codec.h"
#include "deltapq/fast/pq.h"
#include "deltapq/fast/turbo_codec.h"

namespace dpq::bench {
namespace {

double thread_seconds() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Median per-thread CPU seconds of f over reps runs (after one warm-up).
double median_cpu_seconds(const std::function<void()>& f, int reps) {
  f();
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const double t0 = thread_seconds();
    f();
    t.push_back(thread_seconds() - t0);
  }
  std::nth_element(t.begin(), t.begin() + static_cast<std::ptrdiff_t>(t.size() / 2), t.end());
  return t[t.size() / 2];
}

}  // namespace

int run_gate_bench(int argc, char** argv) {
  using namespace app;
  cli::Args args(argc, argv, {"--dim", "--bits", "--n", "--reps", "--json"}, {});
  const auto json_out = args.output("--json");
  const int d = static_cast<int>(args.integer("--dim", 8, 4096).value_or(128));
  const int bits = static_cast<int>(args.integer("--bits", 1, 8).value_or(4));
  const auto n = static_cast<std::size_t>(args.integer("--n", 256, 1 << 20).value_or(8192));
  const int reps = static_cast<int>(args.integer("--reps", 1, 100).value_or(5));
  if (d & (d - 1)) throw Error("bench gate: --dim must be a power of two (the Hadamard family)");
  single_thread();
  const ScalarSetup s = make_scalar_setup(n, static_cast<std::size_t>(d), bits);
  std::cout << "deltapq bench gate: d = " << d << ", b = " << bits << ", N = " << n << " rows (the synthetic stream), one thread, "
            << "per-thread CPU time, median of " << reps << "\n";
  std::cout << "  family                          gate rows/s   + decoded rows/s   fast encode rows/s   gate / encode   verdict\n";
  nlohmann::ordered_json report{{"dim", d}, {"bits", bits}, {"n", n}, {"threads", 1}, {"clock", "CLOCK_THREAD_CPUTIME_ID"}};
  auto row = [&](const std::string& name, const GateDesign& g, const GateOutputs& out, const std::function<void()>& encode) {
    GateOutputs codes_only = out;
    codes_only.decoded.reset();
    GateReport r;
    const double tc = median_cpu_seconds([&] { r = check_gate(g, s.x.data(), n, codes_only); }, reps);
    const double td = median_cpu_seconds([&] { r = check_gate(g, s.x.data(), n, out); }, reps);
    const double te = median_cpu_seconds(encode, reps);
    char line[256];
    std::snprintf(line, sizeof line, "  %-30s %12.4g %18.4g %20.4g %15.3g   %s\n", name.c_str(), static_cast<double>(n) / tc,
                  static_cast<double>(n) / td, static_cast<double>(n) / te, te / tc, r.passes() ? "passes" : "FAILS");
    std::cout << line;
    report["families"].push_back({{"family", name},
                                  {"gate_rows_per_s", static_cast<double>(n) / tc},
                                  {"gate_with_decoded_rows_per_s", static_cast<double>(n) / td},
                                  {"fast_encode_rows_per_s", static_cast<double>(n) / te},
                                  {"gate_vs_encode", te / tc},
                                  {"codes_exact", r.codes.exact},
                                  {"codes_acceptable", r.codes.acceptable},
                                  {"passes", r.passes()}});
  };
  {
    const fast::Codec codec(s.identity);
    std::vector<std::uint8_t> packed(n * codec.bytes_per_row());
    row("scalar, per channel", gate_design_of(s.identity), fast_gate_outputs(codec, s.x.data(), n, true),
        [&] { codec.encode(s.x.data(), n, packed.data()); });
  }
  {
    const fast::Codec codec(s.eigen);
    std::vector<std::uint8_t> packed(n * codec.bytes_per_row());
    row("scalar, eigenbasis", gate_design_of(s.eigen), fast_gate_outputs(codec, s.x.data(), n, true),
        [&] { codec.encode(s.x.data(), n, packed.data()); });
  }
  for (int qjl : {0, 64}) {
    fast::TurboOptions o;
    o.seed = 17;
    o.rotation = fast::RotationKind::hadamard;
    o.qjl_rows = qjl;
    const fast::TurboCodec codec(d, bits, app::sphere_codebook(d, bits), o);
    std::vector<std::uint8_t> rec(n * codec.bytes_per_vector());
    row(qjl ? "turbo, Hadamard + QJL m = 64" : "turbo, Hadamard", gate_design_of(codec), fast_gate_outputs(codec, s.x.data(), n, true),
        [&] { codec.encode(s.x.data(), n, rec.data()); });
  }
  {
    fast::ProductQuantizer pq(d, d / 8, bits);
    pq.train(s.x.data(), std::min<std::size_t>(n, 4096));
    std::vector<std::uint8_t> c(n * pq.code_size());
    row("pq, " + std::to_string(d / 8) + " blocks x " + std::to_string(bits) + " bits", gate_design_of(pq),
        fast_gate_outputs(pq, s.x.data(), n, true), [&] { pq.encode(s.x.data(), n, c.data()); });
  }
  if (json_out) write_file_atomically(*json_out, report.dump(2) + "\n");
  return 0;
}

}  // namespace dpq::bench
