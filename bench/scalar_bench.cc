#include "scalar_bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <optional>
#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "args.h"
#include "bench_data.h"
#include "deltapq/core/atomic_file.h"
#include "deltapq/core/error.h"
#include "deltapq/pipeline/pipeline.h"
#include "deltapq/reference/clip_search.h"

namespace dpq::bench {
namespace {

struct Row {
  std::string method;
  double seconds = 0;  // per-thread CPU time, median
  double wall = 0;     // wall time, median (beside it: a shared machine stretches this one)
  double bytes = 0;    // bytes read + written per run
  double mse = -1;   // per vector, < 0: not applicable
};

nlohmann::ordered_json bench_config(std::size_t dim, int bits, std::size_t n, int reps, std::ostream& os) {
  const ScalarSetup s = make_scalar_setup(n, dim, bits);
  const fast::Codec ident(s.identity), eig(s.eigen);
  const fast::KernelConstants& kd = ident.kernel();
  const std::size_t in_bytes = n * dim * sizeof(float);
  const std::size_t code_bytes = n * ident.bytes_per_row();
  std::vector<std::uint8_t> codes(code_bytes), codes_scalar(code_bytes), codes_eig(n * eig.bytes_per_row());
  std::vector<float> out(n * dim), out2(n * dim), copy(n * dim), gemm_out(256 * dim);
  const bool simd = fast::detected_simd() != fast::SimdLevel::scalar;
  const auto best = fast::detected_simd();

  Timer t;
  const auto q_fast = t.add([&] { fast::quantize_pack(kd, s.x.data(), n, dim, codes.data(), best); });
  const auto q_scal = t.add([&] { fast::quantize_pack(kd, s.x.data(), n, dim, codes_scalar.data(), fast::SimdLevel::scalar); });
  const auto d_fast = t.add([&] { fast::unpack_dequantize(kd, codes.data(), n, out.data(), dim, best); });
  const auto d_scal = t.add([&] { fast::unpack_dequantize(kd, codes.data(), n, out2.data(), dim, fast::SimdLevel::scalar); });
  const auto enc = t.add([&] { eig.encode(s.x.data(), n, codes_eig.data(), best); });
  const auto dec = t.add([&] { eig.decode(codes_eig.data(), n, out2.data(), best); });
  const auto gemm = t.add([&] {  // the rotation alone, in the same 256-row blocks as encode
    for (std::size_t r0 = 0; r0 < n; r0 += 256)
      fast::rotate(s.x.data() + r0 * dim, std::min<std::size_t>(256, n - r0), dim, s.eigen.basis.data(), gemm_out.data());
  });
  const auto gemm_eigen = t.add([&] {  // the portable alternative: Eigen's sgemm
    using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const Eigen::Map<const RowMat> u(s.eigen.basis.data(), static_cast<Eigen::Index>(dim), static_cast<Eigen::Index>(dim));
    for (std::size_t r0 = 0; r0 < n; r0 += 256) {
      const auto rows = static_cast<Eigen::Index>(std::min<std::size_t>(256, n - r0));
      const Eigen::Map<const RowMat> xb(s.x.data() + r0 * dim, rows, static_cast<Eigen::Index>(dim));
      Eigen::Map<RowMat> ob(gemm_out.data(), rows, static_cast<Eigen::Index>(dim));
      ob.noalias() = xb * u;
    }
  });
  const auto mcpy = t.add([&] { std::memcpy(copy.data(), s.x.data(), in_bytes); });
  // The physical limits (bench_data.h), interleaved with the methods.
  const auto read_probe = t.add([&] { stream_read(s.x.data(), in_bytes); });
  const auto write_probe = t.add([&] { stream_write(copy.data(), in_bytes); });
  const auto faiss = FaissScalar::make(dim, bits, s.x.data(), n);
  std::vector<std::uint8_t> fcodes(faiss ? n * faiss->code_size() : 0);
  std::vector<float> fout(faiss ? n * dim : 0);
  std::size_t f_enc = 0, f_dec = 0;
  if (faiss) {
    f_enc = t.add([&] { faiss->encode(s.x.data(), n, fcodes.data()); });
    f_dec = t.add([&] { faiss->decode(fcodes.data(), n, fout.data()); });
  }
  t.run(reps);

  if (codes != codes_scalar) throw Error("bench: scalar and " + std::string(fast::to_string(best)) + " codes differ");
  ident.decode(codes.data(), n, out.data(), best);  // adds the mean back
  const double mse_ident = mse_per_vector(s.x.data(), out.data(), n, dim);
  eig.decode(codes_eig.data(), n, out2.data(), best);
  const double mse_eig = mse_per_vector(s.x.data(), out2.data(), n, dim);
  double mse_faiss = -1;
  if (faiss) {
    faiss->decode(fcodes.data(), n, fout.data());
    mse_faiss = mse_per_vector(s.x.data(), fout.data(), n, dim);
  }

  // --kappa auto on the same stream (issue 17): the clip multiple minimising the empirical distortion of
  // the matched identity design, chosen by the reference (ref::mse_optimal_kappa), coded by the same
  // kernel. Beside it, the MSE of kappa = 3 (today's default) and of FAISS's min-max training.
  const pipeline::DesignCoordinates coords = pipeline::design_coordinates({n, dim, s.x}, s.identity);
  const std::vector<double>& y = coords.y;
  const std::vector<double>& lambda = coords.variance;
  const ref::KappaChoice kc = ref::mse_optimal_kappa(y, n, lambda, s.identity.bits);
  fast::FastDesign auto_design = s.identity;
  const double lambda_max = *std::max_element(lambda.begin(), lambda.end());
  for (std::size_t i = 0; i < dim; ++i) auto_design.clip[i] = static_cast<float>(matched_clip(lambda[i], lambda_max, kc.kappa));
  const fast::Codec ident_auto(auto_design);
  std::vector<std::uint8_t> codes_auto(code_bytes);
  ident_auto.encode(s.x.data(), n, codes_auto.data(), best);
  ident_auto.decode(codes_auto.data(), n, out2.data(), best);
  const double mse_auto = mse_per_vector(s.x.data(), out2.data(), n, dim);
  // Per coordinate: each coordinate's own kappa_i (what a codec with per-coordinate clips can use).
  const std::vector<ref::KappaChoice> kcs = ref::mse_optimal_kappas(y, n, lambda, s.identity.bits);
  for (std::size_t i = 0; i < dim; ++i) auto_design.clip[i] = static_cast<float>(matched_clip(lambda[i], lambda_max, kcs[i].kappa));
  const fast::Codec ident_auto_each(auto_design);
  ident_auto_each.encode(s.x.data(), n, codes_auto.data(), best);
  ident_auto_each.decode(codes_auto.data(), n, out2.data(), best);
  const double mse_auto_each = mse_per_vector(s.x.data(), out2.data(), n, dim);

  const double io_q = static_cast<double>(in_bytes + code_bytes);
  std::vector<Row> rows = {
      {std::string("quantize+pack (") + fast::to_string(best) + ", identity)", t.median(q_fast), t.median_wall(q_fast), io_q, mse_ident},
      {"quantize+pack (scalar, identity)", t.median(q_scal), t.median_wall(q_scal), io_q, mse_ident},
      {std::string("unpack+dequantize (") + fast::to_string(best) + ")", t.median(d_fast), t.median_wall(d_fast), io_q, -1},
      {"unpack+dequantize (scalar)", t.median(d_scal), t.median_wall(d_scal), io_q, -1},
      {"full encode (rotation + quantize, eigenbasis)", t.median(enc), t.median_wall(enc), static_cast<double>(in_bytes + codes_eig.size()), mse_eig},
      {"full decode (dequantize + rotation)", t.median(dec), t.median_wall(dec), static_cast<double>(in_bytes + codes_eig.size()), mse_eig},
      {"rotation GEMM alone (OpenBLAS sgemm)", t.median(gemm), t.median_wall(gemm), 2.0 * in_bytes, -1},
      {"rotation GEMM alone (Eigen, portable build)", t.median(gemm_eigen), t.median_wall(gemm_eigen), 2.0 * in_bytes, -1},
      {"memcpy of the input", t.median(mcpy), t.median_wall(mcpy), 2.0 * in_bytes, -1},
  };
  if (faiss) {
    rows.push_back({"FAISS ScalarQuantizer encode (QT_" + std::to_string(bits) + "bit)", t.median(f_enc), t.median_wall(f_enc),
                    static_cast<double>(in_bytes + fcodes.size()), mse_faiss});
    rows.push_back({"FAISS ScalarQuantizer decode", t.median(f_dec), t.median_wall(f_dec), static_cast<double>(in_bytes + fcodes.size()), mse_faiss});
  }

  char line[256];
  os << "\nd = " << dim << ", b = " << bits << ", N = " << n << " vectors, one thread, median of " << reps
     << " interleaved runs, per-thread CPU time (" << (simd ? std::string(fast::to_string(best)) + " available" : std::string("no AVX2: scalar only")) << ")\n";
  os << "  method                                          vectors/s      GB/s    MSE/vector\n";
  nlohmann::ordered_json j;
  j["dim"] = dim;
  j["bits"] = bits;
  j["n"] = n;
  for (const Row& r : rows) {
    const double vps = static_cast<double>(n) / r.seconds;
    std::snprintf(line, sizeof line, "  %-46s %11.4g %9.3f    %s\n", r.method.c_str(), vps, r.bytes / r.seconds / 1e9,
                  r.mse < 0 ? "-" : std::to_string(r.mse).c_str());
    os << line;
    nlohmann::ordered_json m{{"method", r.method}, {"vectors_per_s", vps}, {"gb_per_s", r.bytes / r.seconds / 1e9},
                             {"cpu_s", r.seconds}, {"wall_s", r.wall}};
    if (r.mse >= 0) m["mse_per_vector"] = r.mse;
    j["methods"].push_back(m);
  }
  j["kappa_auto"] = {{"kappa", kc.kappa}, {"evaluations", kc.evaluations}, {"mse_per_vector", mse_auto},
                     {"mse_per_vector_per_coordinate_kappa", mse_auto_each},
                     {"mse_per_vector_kappa_3", mse_ident}, {"search_distortion", kc.distortion},
                     {"search_distortion_kappa_3", kc.distortion_at_3}};
  nlohmann::ordered_json ratios;
  ratios["mse_kappa_auto_vs_kappa_3"] = mse_auto / mse_ident;
  ratios["mse_kappa_auto_vs_faiss_sq"] = faiss ? nlohmann::ordered_json(mse_auto / mse_faiss) : nlohmann::ordered_json();
  ratios["mse_kappa_auto_per_coordinate_vs_faiss_sq"] =
      faiss ? nlohmann::ordered_json(mse_auto_each / mse_faiss) : nlohmann::ordered_json();
  ratios["avx2_vs_scalar"] = t.median(q_scal) / t.median(q_fast);
  ratios["dequantize_avx2_vs_scalar"] = t.median(d_scal) / t.median(d_fast);
  ratios["quantize_vs_faiss_sq"] = faiss ? nlohmann::ordered_json(t.median(f_enc) / t.median(q_fast)) : nlohmann::ordered_json();
  ratios["dequantize_vs_faiss_sq"] = faiss ? nlohmann::ordered_json(t.median(f_dec) / t.median(d_fast)) : nlohmann::ordered_json();
  ratios["quantize_vs_memcpy"] = t.median(mcpy) / t.median(q_fast);
  ratios["encode_vs_gemm"] = t.median(gemm) / t.median(enc);
  ratios["openblas_vs_eigen_gemm"] = t.median(gemm_eigen) / t.median(gemm);
  // Every encode as a share of the streaming-read bandwidth (it must read the input once), every decode
  // as a share of the streaming-write bandwidth (it writes as many bytes), both probes in this run.
  const double t_read = t.median(read_probe), t_write = t.median(write_probe);
  j["read_bandwidth_gb_per_s"] = static_cast<double>(in_bytes) / t_read / 1e9;
  j["write_bandwidth_gb_per_s"] = static_cast<double>(in_bytes) / t_write / 1e9;
  ratios["quantize_pack_share_of_read_bandwidth"] = t_read / t.median(q_fast);
  ratios["quantize_pack_scalar_share_of_read_bandwidth"] = t_read / t.median(q_scal);
  ratios["full_encode_share_of_read_bandwidth"] = t_read / t.median(enc);
  ratios["unpack_dequantize_share_of_write_bandwidth"] = t_write / t.median(d_fast);
  ratios["full_decode_share_of_write_bandwidth"] = t_write / t.median(dec);
  if (faiss) {
    ratios["faiss_sq_encode_share_of_read_bandwidth"] = t_read / t.median(f_enc);
    ratios["faiss_sq_decode_share_of_write_bandwidth"] = t_write / t.median(f_dec);
  }
  j["ratios"] = ratios;
  os << "  ratios: avx2_vs_scalar " << ratios["avx2_vs_scalar"].get<double>() << ", quantize_vs_faiss_sq "
     << (faiss ? std::to_string(ratios["quantize_vs_faiss_sq"].get<double>()) : std::string("n/a (FAISS has no " +
                                                                                              std::to_string(bits) + "-bit SQ)"))
     << ", quantize_vs_memcpy " << ratios["quantize_vs_memcpy"].get<double>() << ", encode_vs_gemm "
     << ratios["encode_vs_gemm"].get<double>() << "\n  read bandwidth " << j["read_bandwidth_gb_per_s"].get<double>()
     << " GB/s, write " << j["write_bandwidth_gb_per_s"].get<double>() << " GB/s; quantize+pack at "
     << ratios["quantize_pack_share_of_read_bandwidth"].get<double>() << " of read, full encode "
     << ratios["full_encode_share_of_read_bandwidth"].get<double>() << ", dequantize at "
     << ratios["unpack_dequantize_share_of_write_bandwidth"].get<double>() << " of write\n"
     << "  --kappa auto: kappa " << kc.kappa << " (" << kc.evaluations << " evaluations), MSE/vector " << mse_auto
     << " (per-coordinate kappa_i: " << mse_auto_each << ") vs " << mse_ident << " at kappa 3" << (faiss ? " and " + std::to_string(mse_faiss) + " for FAISS" : std::string()) << "\n";
  return j;
}

}  // namespace

int run_scalar_bench(int argc, char** argv) {
  cli::Args args(argc, argv, {"--dim", "--bits", "--n", "--reps", "--json"}, {});
  if (!args.positional().empty()) throw Error("bench scalar takes no positional argument: '" + args.positional()[0] + "'");
  std::vector<std::size_t> dims = {64, 128, 256};
  std::vector<int> widths = {2, 4, 8};
  if (auto d = args.integer("--dim", 1, 4096)) dims = {static_cast<std::size_t>(*d)};
  if (auto b = args.integer("--bits", 1, 8)) widths = {static_cast<int>(*b)};
  const std::optional<long long> n_arg = args.integer("--n", 256, 1 << 22);
  const int reps = static_cast<int>(args.integer("--reps", 1, 1000).value_or(7));
  single_thread();
  std::cout << "deltapq bench scalar: fast Part A codec vs scalar fallback, FAISS ScalarQuantizer, memcpy and the GEMM.\n"
               "Note: Debian's libfaiss-dev is a generic, non-AVX2 build, so the FAISS numbers are not FAISS at its best.\n";
  nlohmann::ordered_json report;
  report["faiss_build"] = "Debian libfaiss-dev 1.7.3, generic (non-AVX2)";
  report["threads"] = 1;
  report["clock"] = "per-thread CPU time (CLOCK_THREAD_CPUTIME_ID), median; wall_s beside";
  for (std::size_t d : dims)
    for (int b : widths) report["configs"].push_back(bench_config(d, b, n_arg ? static_cast<std::size_t>(*n_arg) : streaming_rows(d), reps, std::cout));
  // The headline ratios: d = 128, b = 4 when measured, else the single configuration asked for.
  // Copy the headline ratios after the loop: inserting a key while iterating would invalidate it.
  nlohmann::ordered_json headline;
  for (const auto& c : report["configs"])
    if ((c["dim"] == 128 && c["bits"] == 4) || report["configs"].size() == 1) headline = c["ratios"];
  report["ratios"] = headline;
  if (auto out = args.text("--json")) write_file_atomically(*out, report.dump(2) + "\n");
  return 0;
}

}  // namespace dpq::bench
