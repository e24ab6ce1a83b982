#include "pq_bench.h"

#include <faiss/impl/ProductQuantizer.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "args.h"
#include "bench_data.h"
#include "deltapq/core/atomic_file.h"
#include "deltapq/core/error.h"
#include "deltapq/fast/pq.h"

namespace dpq::bench {
namespace {

nlohmann::ordered_json bench_m(const ScalarSetup& s, int m, int iterations, int reps, int train_reps, std::ostream& os) {
  const std::size_t n = s.n, d = s.dim;
  const int bits = 8;
  const auto best = fast::detected_simd();
  fast::ProductQuantizer ours(static_cast<int>(d), m, bits);
  faiss::ProductQuantizer theirs(d, static_cast<std::size_t>(m), bits);
  theirs.cp.niter = iterations;
  theirs.verbose = false;
  fast::PqTrainOptions opt;
  opt.iterations = iterations;
  fast::PqTrainReport report;

  // Training: alternated, no warm-up run (each is seconds long and self-warming).
  Timer train;
  const auto t_ours = train.add([&] { report = ours.train(s.x.data(), n, opt, best); });
  const auto t_faiss = train.add([&] { theirs.train(n, s.x.data()); });
  train.run(train_reps, false);

  std::vector<std::uint8_t> codes(n * m), codes_scalar(n * m), fcodes(n * theirs.code_size);
  std::vector<float> out(n * d), fout(n * d), table(static_cast<std::size_t>(m) * 256);
  Timer t;
  const auto enc = t.add([&] { ours.encode(s.x.data(), n, codes.data(), best); });
  const auto enc_scalar = t.add([&] { ours.encode(s.x.data(), n, codes_scalar.data(), fast::SimdLevel::scalar); });
  const auto dec = t.add([&] { ours.decode(codes.data(), n, out.data()); });
  const auto f_enc = t.add([&] { theirs.compute_codes(s.x.data(), fcodes.data(), n); });
  const auto f_dec = t.add([&] { theirs.decode(fcodes.data(), fout.data(), n); });
  const auto mcpy = t.add([&] { std::memcpy(fout.data(), s.x.data(), n * d * sizeof(float)); });
  t.run(reps);
  if (codes != codes_scalar) throw Error("bench pq: scalar and " + std::string(fast::to_string(best)) + " codes differ");
  ours.decode(codes.data(), n, out.data());
  theirs.decode(fcodes.data(), fout.data(), n);
  const double mse = mse_per_vector(s.x.data(), out.data(), n, d);
  const double fmse = mse_per_vector(s.x.data(), fout.data(), n, d);

  int rounds = 0, converged = 0;
  for (std::size_t b = 0; b < report.iterations_run.size(); ++b) {
    rounds = std::max(rounds, report.iterations_run[b]);
    converged += report.converged[b] ? 1 : 0;
  }
  nlohmann::ordered_json j;
  j["dim"] = d;
  j["m"] = m;
  j["bits"] = bits;
  j["n"] = n;
  j["kmeans_iterations"] = iterations;
  j["ours_max_rounds_run"] = rounds;
  j["ours_blocks_converged_early"] = converged;
  const double vn = static_cast<double>(n);
  j["train_seconds"] = {{"ours", train.median(t_ours)}, {"faiss", train.median(t_faiss)}};
  j["encode_vectors_per_s"] = {{"ours", vn / t.median(enc)}, {"ours_scalar", vn / t.median(enc_scalar)},
                               {"faiss", vn / t.median(f_enc)}};
  j["decode_vectors_per_s"] = {{"ours", vn / t.median(dec)}, {"faiss", vn / t.median(f_dec)}};
  j["mse_per_vector"] = {{"ours", mse}, {"faiss", fmse}};
  nlohmann::ordered_json r;
  r["encode_vs_faiss"] = t.median(f_enc) / t.median(enc);
  r["decode_vs_faiss"] = t.median(f_dec) / t.median(dec);
  r["train_vs_faiss"] = train.median(t_faiss) / train.median(t_ours);
  r["mse_vs_faiss"] = mse / fmse;
  r["encode_avx2_vs_scalar"] = t.median(enc_scalar) / t.median(enc);
  r["decode_vs_memcpy"] = t.median(mcpy) / t.median(dec);
  j["ratios"] = r;

  char line[256];
  os << "\nM = " << m << " blocks of " << d / m << " dims, 8-bit codes, N = " << n << ", " << iterations
     << " k-means iterations (ours: at most " << rounds << " run, " << converged << "/" << m
     << " blocks stopped early), train median of " << train_reps << ", encode/decode median of " << reps << "\n";
  os << "                     ours              FAISS             ours/FAISS\n";
  std::snprintf(line, sizeof line, "  train (s)          %-17.4g %-17.4g %.3g (FAISS time / ours)\n", train.median(t_ours),
                train.median(t_faiss), r["train_vs_faiss"].get<double>());
  os << line;
  std::snprintf(line, sizeof line, "  encode (vec/s)     %-17.4g %-17.4g %.3g   [scalar contract: %.4g vec/s]\n",
                vn / t.median(enc), vn / t.median(f_enc), r["encode_vs_faiss"].get<double>(), vn / t.median(enc_scalar));
  os << line;
  std::snprintf(line, sizeof line, "  decode (vec/s)     %-17.4g %-17.4g %.3g   [memcpy/decode time %.3g]\n", vn / t.median(dec),
                vn / t.median(f_dec), r["decode_vs_faiss"].get<double>(), r["decode_vs_memcpy"].get<double>());
  os << line;
  std::snprintf(line, sizeof line, "  MSE per vector     %-17.6g %-17.6g %.4g\n", mse, fmse, r["mse_vs_faiss"].get<double>());
  os << line;
  return j;
}

}  // namespace

int run_pq_bench(int argc, char** argv) {
  cli::Args args(argc, argv, {"--dim", "--m", "--n", "--reps", "--train-reps", "--iterations", "--json"}, {});
  if (!args.positional().empty()) throw Error("bench pq takes no positional argument: '" + args.positional()[0] + "'");
  const auto d = static_cast<std::size_t>(args.integer("--dim", 1, 4096).value_or(128));
  std::vector<int> ms = {8, 16, 32};
  if (auto m = args.integer("--m", 1, static_cast<long long>(d))) ms = {static_cast<int>(*m)};
  for (int m : ms)
    if (d % static_cast<std::size_t>(m) != 0)
      throw Error("bench pq: --dim " + std::to_string(d) + " is not divisible by M = " + std::to_string(m));
  const auto n = static_cast<std::size_t>(args.integer("--n", 256, 1 << 22).value_or(65536));
  const int reps = static_cast<int>(args.integer("--reps", 1, 1000).value_or(7));
  const int train_reps = static_cast<int>(args.integer("--train-reps", 1, 100).value_or(3));
  const int iterations = static_cast<int>(args.integer("--iterations", 1, 1000).value_or(25));
  single_thread();
  std::cout << "deltapq bench pq: fast product quantizer vs FAISS ProductQuantizer, same data, one thread.\n"
               "Note: Debian's libfaiss-dev is a generic, non-AVX2 build, so the FAISS numbers are not FAISS at its best.\n";
  const ScalarSetup s = make_scalar_setup(n, d, 8);
  nlohmann::ordered_json report;
  report["faiss_build"] = "Debian libfaiss-dev 1.7.3, generic (non-AVX2)";
  report["threads"] = 1;
  report["clock"] = "per-thread CPU time (CLOCK_THREAD_CPUTIME_ID), median";
  report["simd"] = fast::to_string(fast::detected_simd());
  for (int m : ms) report["configs"].push_back(bench_m(s, m, iterations, reps, train_reps, std::cout));
  // Copy the headline ratios after the loop: inserting a key while iterating would invalidate it.
  nlohmann::ordered_json headline;
  for (const auto& c : report["configs"])
    if (c["m"] == 16 || report["configs"].size() == 1) headline = c["ratios"];
  report["ratios"] = headline;
  if (auto out = args.text("--json")) write_file_atomically(*out, report.dump(2) + "\n");
  return 0;
}

}  // namespace dpq::bench
