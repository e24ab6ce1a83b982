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

// TurboQuant's inner-product codec at a total budget of b bits per coordinate: the (b-1)-bit Lloyd-Max
// stage plus a 1-bit QJL sketch (m = d) of its residual. `fused` is TurboCodec with its QJL stage (the
// kernel hands the residual to one blocked projection); the two compositions build the same records
// from the public parts -- MSE encode, MSE decode, residual (x - x^) / ||x||, then the sketch, batched
// (QjlSketch::encode) or per row through sgemv (as round 1's codec did).
struct ProdMethod {
  int budget;
  std::unique_ptr<fast::TurboCodec> fused, mse;
  std::unique_ptr<fast::QjlSketch> sketch;
  std::vector<std::uint8_t> rec, mse_rec, sk_rec;
  std::vector<float> out, xhat, resid, proj;
  std::size_t op_fused_encode = 0, op_fused_decode = 0, op_composed_encode = 0, op_composed_sgemv = 0,
              op_composed_decode = 0;
};

void composed_encode(ProdMethod& p, const float* x, std::size_t n, bool sgemv_rows) {
  const std::size_t d = static_cast<std::size_t>(p.mse->dim());
  p.mse->encode(x, n, p.mse_rec.data());
  p.mse->decode(p.mse_rec.data(), n, p.xhat.data());
  for (std::size_t k = 0; k < n; ++k) {
    float norm;
    std::memcpy(&norm, p.mse_rec.data() + k * p.mse->bytes_per_vector(), 4);
    const float inv = norm > 0 ? 1.0f / norm : 0.0f;
    for (std::size_t i = 0; i < d; ++i) p.resid[k * d + i] = (x[k * d + i] - p.xhat[k * d + i]) * inv;
  }
  if (sgemv_rows)
    sketch_sgemv_rows(*p.sketch, p.resid.data(), n, p.sk_rec.data(), p.proj.data());
  else
    p.sketch->encode(p.resid.data(), n, p.sk_rec.data());
}

void composed_decode(ProdMethod& p, std::size_t n, float* x) {
  const std::size_t d = static_cast<std::size_t>(p.mse->dim());
  p.mse->decode(p.mse_rec.data(), n, x);
  p.sketch->reconstruct_strided(p.sk_rec.data(), n, p.sketch->bytes_per_vector(), p.resid.data());
  for (std::size_t k = 0; k < n; ++k) {
    float norm;
    std::memcpy(&norm, p.mse_rec.data() + k * p.mse->bytes_per_vector(), 4);
    for (std::size_t i = 0; i < d; ++i) x[k * d + i] += norm * p.resid[k * d + i];
  }
}

}  // namespace

int run_turbo_bench(int argc, char** argv) {
  cli::Args args(argc, argv, {"--dim", "--n", "--reps", "--json"}, {});
  const int d = static_cast<int>(args.integer("--dim", 8, 16384).value_or(128));
  const auto n = static_cast<std::size_t>(args.integer("--n", 256, 1 << 22).value_or(streaming_rows(static_cast<std::size_t>(d))));
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
  std::vector<ProdMethod> prods;
  if ((d & (d - 1)) == 0)
    for (int b : {2, 3, 4}) {
      const fast::ScalarCodebook cb = app::sphere_codebook(d, b - 1);
      ProdMethod p{b,
                   std::make_unique<fast::TurboCodec>(d, b - 1, cb, fast::TurboOptions{17, fast::RotationKind::automatic, d}),
                   std::make_unique<fast::TurboCodec>(d, b - 1, cb, fast::TurboOptions{17, fast::RotationKind::automatic, 0}),
                   std::make_unique<fast::QjlSketch>(d, d, 23)};
      p.rec.resize(n * p.fused->bytes_per_vector());
      p.mse_rec.resize(n * p.mse->bytes_per_vector());
      p.sk_rec.resize(n * p.sketch->bytes_per_vector());
      p.out.resize(s.x.size());
      p.xhat.resize(s.x.size());
      p.resid.resize(s.x.size());
      p.proj.resize(static_cast<std::size_t>(d));
      prods.push_back(std::move(p));
    }
  for (ProdMethod& p : prods) {
    p.op_fused_encode = t.add([&] { p.fused->encode(s.x.data(), n, p.rec.data()); });
    p.op_fused_decode = t.add([&] { p.fused->decode(p.rec.data(), n, p.out.data()); });
    p.op_composed_encode = t.add([&] { composed_encode(p, s.x.data(), n, false); });
    p.op_composed_sgemv = t.add([&] { composed_encode(p, s.x.data(), n, true); });
    p.op_composed_decode = t.add([&] { composed_decode(p, n, copy.data()); });
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
  if (!prods.empty())
    std::cout << "  inner-product codec ((b-1)-bit Lloyd-Max + 1-bit QJL, m = d), vectors/s:\n"
              << "  b  fused encode  composed (batched)  composed (sgemv rows)  fused decode  composed decode  "
                 "encode share of read bw\n";
  for (const ProdMethod& p : prods) {
    const double nn = static_cast<double>(n), tf = t.median(p.op_fused_encode), tc = t.median(p.op_composed_encode),
                 tg = t.median(p.op_composed_sgemv), tfd = t.median(p.op_fused_decode), tcd = t.median(p.op_composed_decode);
    char line[256];
    std::snprintf(line, sizeof line, "  %d  %12.4g %19.4g %22.4g %13.4g %16.4g %12.3f\n", p.budget, nn / tf, nn / tc, nn / tg,
                  nn / tfd, nn / tcd, t_read / tf);
    std::cout << line;
    report["inner_product"].push_back(nlohmann::ordered_json{
        {"bits", p.budget}, {"mse_bits", p.budget - 1}, {"qjl_rows", d},
        {"fused_encode_vectors_per_s", nn / tf}, {"fused_decode_vectors_per_s", nn / tfd},
        {"composed_encode_vectors_per_s", nn / tc}, {"composed_sgemv_rows_encode_vectors_per_s", nn / tg},
        {"composed_decode_vectors_per_s", nn / tcd},
        {"fused_encode_wall_s", t.median_wall(p.op_fused_encode)},
        {"fused_encode_vs_composed", tc / tf}, {"fused_encode_vs_composed_sgemv_rows", tg / tf},
        {"fused_decode_vs_composed", tcd / tfd},
        {"fused_encode_share_of_read_bandwidth", t_read / tf}, {"fused_decode_share_of_write_bandwidth", t_write / tfd}});
    const std::string key = "prod_b" + std::to_string(p.budget);
    report["ratios"][key + "_fused_encode_vs_composed"] = tc / tf;
    report["ratios"][key + "_fused_encode_vs_composed_sgemv_rows"] = tg / tf;
    report["ratios"][key + "_fused_decode_vs_composed"] = tcd / tfd;
  }
  if (report.contains("ratios") && report["ratios"].contains("encode_vs_memcpy") && report["ratios"].contains("dense_encode_vs_memcpy"))
    report["ratios"]["hadamard_vs_dense_encode"] =
        report["ratios"]["encode_vs_memcpy"].get<double>() / report["ratios"]["dense_encode_vs_memcpy"].get<double>();
  std::cout << "  ratios: " << report["ratios"].dump() << "\n";
  if (auto o = args.text("--json")) write_file_atomically(*o, report.dump(2) + "\n");
  return 0;
}

}  // namespace dpq::bench
