#include "turbo_bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>

#include "args.h"
#include "bench_data.h"
#include "deltapq/core/atomic_file.h"
#include "deltapq/core/error.h"
#include "deltapq/fast/turbo_codec.h"
#include "deltapq/app/paper_check.h"

namespace dpq::bench {
namespace {

double median_seconds(const std::function<void()>& f, int reps) {
  f();  // warm-up
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::nth_element(t.begin(), t.begin() + static_cast<std::ptrdiff_t>(t.size() / 2), t.end());
  return t[t.size() / 2];
}

}  // namespace

int run_turbo_bench(int argc, char** argv) {
  cli::Args args(argc, argv, {"--dim", "--n", "--reps", "--json"}, {});
  const int d = static_cast<int>(args.integer("--dim", 8, 16384).value_or(128));
  const auto n = static_cast<std::size_t>(args.integer("--n", 256, 1 << 22).value_or(65536));
  const int reps = static_cast<int>(args.integer("--reps", 1, 1000).value_or(7));
  single_thread();
  const ScalarSetup s = make_scalar_setup(n, static_cast<std::size_t>(d), 4);
  std::vector<float> copy(s.x.size()), out(s.x.size());
  const double in_bytes = static_cast<double>(s.x.size() * sizeof(float));
  const double t_memcpy = median_seconds([&] { std::memcpy(copy.data(), s.x.data(), s.x.size() * sizeof(float)); }, reps);
  // The physical limits (bench_data.h): encodes as a share of the read, decodes of the write.
  const std::size_t bytes_in = s.x.size() * sizeof(float);
  const double t_read = median_seconds([&] { stream_read(s.x.data(), bytes_in); }, reps);
  const double t_write = median_seconds([&] { stream_write(copy.data(), bytes_in); }, reps);
  std::cout << "deltapq bench turbo: d = " << d << ", N = " << n << ", one thread, median of " << reps
            << " runs; memcpy of the input: " << static_cast<double>(n) / t_memcpy << " vectors/s\n";
  std::cout << "  b  path                          encode vec/s   GB/s   decode vec/s   GB/s   MSE/vector (unit vectors)\n";
  nlohmann::ordered_json report{{"dim", d}, {"n", n}, {"threads", 1}, {"read_bandwidth_gb_per_s", in_bytes / t_read / 1e9},
                                {"write_bandwidth_gb_per_s", in_bytes / t_write / 1e9}};
  std::cout << "  streaming read " << in_bytes / t_read / 1e9 << " GB/s, write " << in_bytes / t_write / 1e9 << " GB/s\n";
  for (int b : {2, 3, 4}) {
    const fast::ScalarCodebook cb = app::sphere_codebook(d, b);
    for (bool dense : {false, true}) {
      if (!dense && (d & (d - 1))) continue;  // Hadamard needs d = 2^k
      const fast::TurboCodec codec(d, b, cb, {17, dense ? fast::RotationKind::dense : fast::RotationKind::automatic, 0});
      std::vector<std::uint8_t> rec(n * codec.bytes_per_vector());
      const double te = median_seconds([&] { codec.encode(s.x.data(), n, rec.data()); }, reps);
      const double td = median_seconds([&] { codec.decode(rec.data(), n, out.data()); }, reps);
      double err = 0, tot = 0;
      for (std::size_t k = 0; k < s.x.size(); ++k) {
        err += (static_cast<double>(s.x[k]) - out[k]) * (static_cast<double>(s.x[k]) - out[k]);
        tot += static_cast<double>(s.x[k]) * s.x[k];
      }
      const double bytes = in_bytes + static_cast<double>(rec.size());
      char line[256];
      std::snprintf(line, sizeof line, "  %d  %-28s %12.4g %7.3f %13.4g %7.3f   %.5g (relative)\n", b,
                    dense ? "dense rotation (sgemm)" : "Walsh-Hadamard (fast path)", static_cast<double>(n) / te,
                    bytes / te / 1e9, static_cast<double>(n) / td, bytes / td / 1e9, err / tot);
      std::cout << line;
      nlohmann::ordered_json m{{"bits", b}, {"path", dense ? "dense" : "hadamard"},
                               {"encode_vectors_per_s", static_cast<double>(n) / te}, {"encode_gb_per_s", bytes / te / 1e9},
                               {"decode_vectors_per_s", static_cast<double>(n) / td}, {"decode_gb_per_s", bytes / td / 1e9},
                               {"relative_mse", err / tot}, {"encode_vs_memcpy", t_memcpy / te},
                               {"decode_vs_memcpy", t_memcpy / td}, {"encode_share_of_read_bandwidth", t_read / te},
                               {"decode_share_of_write_bandwidth", t_write / td}};
      report["methods"].push_back(m);
      if (b == 4 && !dense) report["ratios"]["encode_vs_memcpy"] = t_memcpy / te;
      if (!dense) {
        report["ratios"]["hadamard_b" + std::to_string(b) + "_encode_share_of_read_bandwidth"] = t_read / te;
        report["ratios"]["hadamard_b" + std::to_string(b) + "_decode_share_of_write_bandwidth"] = t_write / td;
      }
      if (b == 4 && dense) report["ratios"]["dense_encode_vs_memcpy"] = t_memcpy / te;
    }
  }
  if (report.contains("ratios") && report["ratios"].contains("encode_vs_memcpy") && report["ratios"].contains("dense_encode_vs_memcpy"))
    report["ratios"]["hadamard_vs_dense_encode"] =
        report["ratios"]["encode_vs_memcpy"].get<double>() / report["ratios"]["dense_encode_vs_memcpy"].get<double>();
  std::cout << "  ratios: " << report["ratios"].dump() << "\n";
  if (auto o = args.text("--json")) write_file_atomically(*o, report.dump(2) + "\n");
  return 0;
}

}  // namespace dpq::bench
