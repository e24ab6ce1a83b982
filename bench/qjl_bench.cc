#include "qjl_bench.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "args.h"
#include "bench_data.h"
#include "deltapq/core/atomic_file.h"
#include "deltapq/fast/qjl.h"

namespace dpq::bench {
namespace {

}  // namespace

int run_qjl_bench(int argc, char** argv) {
  cli::Args args(argc, argv, {"--dim", "--n", "--reps", "--json"}, {});
  const int d = static_cast<int>(args.integer("--dim", 8, 4096).value_or(128));
  const auto n = static_cast<std::size_t>(args.integer("--n", 256, 1 << 20).value_or(16384));
  const int reps = static_cast<int>(args.integer("--reps", 1, 1000).value_or(7));
  single_thread();
  const ScalarSetup s = make_scalar_setup(n, static_cast<std::size_t>(d), 4);
  const std::size_t bytes_in = s.x.size() * sizeof(float);
  // The probes stream their own buffers of kStreamingBytes (the default N's input fits in the L3, which
  // is not the machine's limit); their times are scaled to the input's bytes below.
  std::vector<std::uint8_t> probe_in(kStreamingBytes, 1), probe_out(kStreamingBytes);
  Timer t;
  const std::size_t op_read = t.add([&] { stream_read(probe_in.data(), kStreamingBytes); });
  const std::size_t op_write = t.add([&] { stream_write(probe_out.data(), kStreamingBytes); });
  struct Method {
    int m;
    std::unique_ptr<fast::QjlSketch> sk;
    std::vector<std::uint8_t> rec, rec_blas;
    std::vector<float> query, out, proj;
    double sink = 0;
    std::vector<float> scores;
    std::size_t op_encode = 0, op_blas = 0, op_estimate = 0, op_scores = 0, op_reconstruct = 0;
  };
  std::vector<Method> methods;
  for (int m : {d / 2, d, 2 * d}) {
    Method me{m, std::make_unique<fast::QjlSketch>(d, m, 7), {}, {}, {}, {}, {}};
    me.rec.resize(n * me.sk->bytes_per_vector());
    me.rec_blas.resize(me.rec.size());
    me.scores.resize(n);
    me.out.resize(s.x.size());
    me.proj.resize(static_cast<std::size_t>(m));
    me.query = me.sk->project(s.x.data());  // the first row as the query
    methods.push_back(std::move(me));
  }
  for (Method& me : methods) {
    me.op_encode = t.add([&] { me.sk->encode(s.x.data(), n, me.rec.data()); });
    me.op_blas = t.add([&] { sketch_sgemv_rows(*me.sk, s.x.data(), n, me.rec_blas.data(), me.proj.data()); });
    me.op_estimate = t.add([&] {
      double acc = 0;
      for (std::size_t k = 0; k < n; ++k) acc += me.sk->estimate(me.rec.data() + k * me.sk->bytes_per_vector(), me.query);
      me.sink = acc;
    });
    me.op_scores = t.add([&] { me.sk->scores(me.rec.data(), n, me.sk->bytes_per_vector(), me.query, me.scores.data()); });
    me.op_reconstruct = t.add([&] { me.sk->reconstruct_strided(me.rec.data(), n, me.sk->bytes_per_vector(), me.out.data()); });
  }
  t.run(reps);
  const double probe_scale = static_cast<double>(bytes_in) / static_cast<double>(kStreamingBytes);
  const double t_read = t.median(op_read) * probe_scale, t_write = t.median(op_write) * probe_scale;
  nlohmann::ordered_json report{{"dim", d}, {"n", n}, {"threads", 1},
                                {"clock", "per-thread CPU time (CLOCK_THREAD_CPUTIME_ID), median; *_wall_s beside"},
                                {"simd", fast::to_string(fast::default_simd())},
                                {"read_bandwidth_gb_per_s", static_cast<double>(bytes_in) / t_read / 1e9},
                                {"write_bandwidth_gb_per_s", static_cast<double>(bytes_in) / t_write / 1e9}};
  std::cout << "deltapq bench qjl: d = " << d << ", N = " << n << ", one thread, " << fast::to_string(fast::default_simd())
            << " kernels, median of " << reps << " interleaved runs (per-thread CPU time)\n"
            << "  streaming read " << report["read_bandwidth_gb_per_s"].get<double>() << " GB/s, write "
            << report["write_bandwidth_gb_per_s"].get<double>() << " GB/s\n"
            << "     m   sketch vec/s  (per-row sgemv)   estimates/s (scores kernel)   reconstruct vec/s   sketch share of read bw\n";
  for (const Method& me : methods) {
    const double te = t.median(me.op_encode), tb = t.median(me.op_blas), ts = t.median(me.op_estimate),
                 tk = t.median(me.op_scores), tr = t.median(me.op_reconstruct);
    // The two sketches must agree except where a projection lies within rounding of 0.
    std::size_t differ = 0;
    for (std::size_t k = 0; k < me.rec.size(); ++k) differ += me.rec[k] != me.rec_blas[k];
    const double nn = static_cast<double>(n);
    char line[200];
    std::snprintf(line, sizeof line, "  %4d %14.4g %16.4g %13.4g %15.4g %19.4g %12.3f\n", me.m, nn / te, nn / tb, nn / ts, nn / tk,
                  nn / tr, t_read / te);
    std::cout << line;
    report["methods"].push_back(nlohmann::ordered_json{
        {"m", me.m},
        {"sketch_vectors_per_s", nn / te},
        {"sketch_wall_s", t.median_wall(me.op_encode)},
        {"sgemv_rows_vectors_per_s", nn / tb},
        {"estimates_per_s", nn / ts},
        {"scores_per_s", nn / tk},
        {"scores_vs_estimate", ts / tk},
        {"reconstruct_vectors_per_s", nn / tr},
        {"sketch_vs_sgemv_rows", tb / te},
        {"sketch_share_of_read_bandwidth", t_read / te},
        {"reconstruct_share_of_write_bandwidth", t_write / tr},
        {"record_bytes_differing_from_sgemv", differ}});
    if (me.m == d) {
      report["ratios"]["sketch_vs_sgemv_rows"] = tb / te;
      report["ratios"]["scores_vs_estimate"] = ts / tk;
      report["ratios"]["sketch_share_of_read_bandwidth"] = t_read / te;
      report["ratios"]["reconstruct_share_of_write_bandwidth"] = t_write / tr;
    }
  }
  std::cout << "  ratios (m = d): " << report["ratios"].dump() << "\n";
  if (auto o = args.text("--json")) write_file_atomically(*o, report.dump(2) + "\n");
  return 0;
}

}  // namespace dpq::bench
