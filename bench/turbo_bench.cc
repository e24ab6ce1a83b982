#include "turbo_bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
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
  // Every method and the probes in one Timer, interleaved round by round (per-thread CPU time; wall
  // beside it in the JSON): encodes as a share of the streaming read, decodes of the write.
  const std::size_t bytes_in = s.x.size() * sizeof(float);
  Timer t;
  const std::size_t op_memcpy = t.add([&] { std::memcpy(copy.data(), s.x.data(), bytes_in); });
  const std::size_t op_read = t.add([&] { stream_read(s.x.data(), bytes_in); });
  const std::size_t op_write = t.add([&] { stream_write(copy.data(), bytes_in); });
  struct Method {
    int bits;
    bool dense;
    std::unique_ptr<fast::TurboCodec> codec;
    std::vector<std::uint8_t> rec;
    std::vector<float> out;
    std::size_t op_encode = 0, op_decode = 0;
  };
  std::vector<Method> methods;
  for (int b : {2, 3, 4}) {
    const fast::ScalarCodebook cb = app::sphere_codebook(d, b);
    for (bool dense : {false, true}) {
      if (!dense && (d & (d - 1))) continue;  // Hadamard needs d = 2^k
      Method m{b, dense, std::make_unique<fast::TurboCodec>(d, b, cb, fast::TurboOptions{17, dense ? fast::RotationKind::dense : fast::RotationKind::automatic, 0}), {}, {}};
      m.rec.resize(n * m.codec->bytes_per_vector());
      m.out.resize(s.x.size());
      methods.push_back(std::move(m));
    }
  }
  for (Method& m : methods) {
    m.op_encode = t.add([&] { m.codec->encode(s.x.data(), n, m.rec.data()); });
    m.op_decode = t.add([&] { m.codec->decode(m.rec.data(), n, m.out.data()); });
  }
  t.run(reps);
  const double t_memcpy = t.median(op_memcpy), t_read = t.median(op_read), t_write = t.median(op_write);
  std::cout << "deltapq bench turbo: d = " << d << ", N = " << n << ", one thread, median of " << reps
            << " interleaved runs (per-thread CPU time); memcpy of the input: " << static_cast<double>(n) / t_memcpy
            << " vectors/s\n";
  std::cout << "  b  path                          encode vec/s   GB/s   decode vec/s   GB/s   MSE/vector (unit vectors)\n";
  nlohmann::ordered_json report{{"dim", d}, {"n", n}, {"threads", 1},
                                {"clock", "per-thread CPU time (CLOCK_THREAD_CPUTIME_ID), median; *_wall_s beside"},
                                {"read_bandwidth_gb_per_s", in_bytes / t_read / 1e9},
                                {"write_bandwidth_gb_per_s", in_bytes / t_write / 1e9}};
  std::cout << "  streaming read " << in_bytes / t_read / 1e9 << " GB/s, write " << in_bytes / t_write / 1e9 << " GB/s\n";
  for (const Method& me : methods) {
    const int b = me.bits;
    const bool dense = me.dense;
    const double te = t.median(me.op_encode), td = t.median(me.op_decode);
    double err = 0, tot = 0;
    for (std::size_t k = 0; k < s.x.size(); ++k) {
      err += (static_cast<double>(s.x[k]) - me.out[k]) * (static_cast<double>(s.x[k]) - me.out[k]);
      tot += static_cast<double>(s.x[k]) * s.x[k];
    }
    const double bytes = in_bytes + static_cast<double>(me.rec.size());
    char line[256];
    std::snprintf(line, sizeof line, "  %d  %-28s %12.4g %7.3f %13.4g %7.3f   %.5g (relative)\n", b,
                  dense ? "dense rotation (sgemm)" : "Walsh-Hadamard (fast path)", static_cast<double>(n) / te,
                  bytes / te / 1e9, static_cast<double>(n) / td, bytes / td / 1e9, err / tot);
    std::cout << line;
    nlohmann::ordered_json m{{"bits", b}, {"path", dense ? "dense" : "hadamard"},
                             {"encode_vectors_per_s", static_cast<double>(n) / te}, {"encode_gb_per_s", bytes / te / 1e9},
                             {"decode_vectors_per_s", static_cast<double>(n) / td}, {"decode_gb_per_s", bytes / td / 1e9},
                             {"encode_wall_s", t.median_wall(me.op_encode)}, {"decode_wall_s", t.median_wall(me.op_decode)},
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
  if (report.contains("ratios") && report["ratios"].contains("encode_vs_memcpy") && report["ratios"].contains("dense_encode_vs_memcpy"))
    report["ratios"]["hadamard_vs_dense_encode"] =
        report["ratios"]["encode_vs_memcpy"].get<double>() / report["ratios"]["dense_encode_vs_memcpy"].get<double>();
  std::cout << "  ratios: " << report["ratios"].dump() << "\n";
  if (auto o = args.text("--json")) write_file_atomically(*o, report.dump(2) + "\n");
  return 0;
}

}  // namespace dpq::bench
