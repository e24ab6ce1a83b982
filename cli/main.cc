// deltapq: checks the theory of KV-cache and activation compression on your data.
// Exit codes: 0 success / no claim fails, 1 a claim fails on the data, 2 bad input or usage.
#include <cstring>
#include <exception>
#include <iostream>
#include <string>

#include "commands.h"
#include "deltapq/core/error.h"
#include "deltapq/reference/real.h"
#ifdef DPQ_HAVE_BENCH
#include "scalar_bench.h"
#include "turbo_bench.h"
#include "pq_bench.h"
#endif

namespace {

const char* kUsage =
    "usage: deltapq COMMAND [ARGS]\n"
    "  audit FILE.npy [--bits B] [--budget TOTAL] [--kappa K] [--precision BITS] [--json OUT]\n"
    "        [--pq MxBITS [--pq-transform soft-zca|eigenbasis|identity] [--zca-eps REL] [--seed N]]\n"
    "        Part A theorems (A2, A4, A5, A6) on a stream [T, d] (float16/32/64 .npy); with --pq also\n"
    "        Part B (B2 per eta tier, B4) for a product quantizer of M blocks x BITS bits\n"
    "  synth --out FILE.npy [--tokens T] [--dim D] [--phi P] [--nu NU] [--rank R] [--sigma S] [--seed N]\n"
    "        the seeded synthetic stream the demo audits\n"
    "  generate --model M.bin --tokenizer T.bin [--steps N]\n"
    "        greedy generation from BOS with a llama2.c-format checkpoint\n"
    "  kvdump --model M.bin --tokenizer T.bin --text FILE --out DIR\n"
    "        pre-RoPE K, post-RoPE K and V of every layer and KV head as .npy, plus manifest.json\n"
    "  audit-stream DIR [--bits B] [--kappa K] [--half-life H] [--theta T] [--eta auto|E] [--pq MxBITS] [--json OUT]\n"
    "        Part C on every stream of a kvdump: calibration, alpha*, certificate, zones, direct vs delta MSE\n"
    "  eval-nll --model M --tokenizer T --text FILE --kv-scheme fp32|direct|delta-open|delta-closed|delta-zoned\n"
    "        [--bits B] [--kappa K] [--eta auto|E] [--json OUT]   next-token NLL and KL with the KV cache through a codec\n"
    "  codebook --dim D --bits B [--digits N] [--json OUT]\n"
    "        certified Lloyd-Max codebook of the sphere marginal (TurboQuant-style)\n"
    "  codebook --check TABLE.json --dim D --bits B [--max-excess PCT] [--json OUT]\n"
    "        audit a third-party codebook: excess MSE over the optimum, defects; exit 1 over the gate\n"
    "  paper-check [--quick] [--seed N] [--kv DIR] [--json OUT]\n"
    "        the KV / KQV / QKQV experiment grid (D8) and the paper's three findings, holds or fails\n"
    "  bench scalar [--dim D] [--bits B] [--n N] [--reps R] [--json OUT]\n"
    "        the fast codec against its scalar fallback, FAISS ScalarQuantizer, memcpy and the GEMM\n"
    "  bench turbo [--dim D] [--n N] [--reps R] [--json OUT]\n"
    "        the TurboQuant-style codec (Walsh-Hadamard + Lloyd-Max) against memcpy and the dense rotation\n"
    "exit codes: 0 ok, 1 a claim fails on the data, 2 bad input or usage\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    (argc < 2 ? std::cerr : std::cout) << kUsage;
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  try {
    dpq::ref::set_precision_bits(dpq::ref::kDefaultPrecisionBits);
    if (cmd == "audit") return dpq::cli::run_audit(argc - 2, argv + 2);
    if (cmd == "synth") return dpq::cli::run_synth(argc - 2, argv + 2);
    if (cmd == "generate") return dpq::cli::run_generate(argc - 2, argv + 2);
    if (cmd == "kvdump") return dpq::cli::run_kvdump(argc - 2, argv + 2);
    if (cmd == "audit-stream") return dpq::cli::run_audit_stream(argc - 2, argv + 2);
    if (cmd == "eval-nll") return dpq::cli::run_eval_nll(argc - 2, argv + 2);
    if (cmd == "codebook") return dpq::cli::run_codebook(argc - 2, argv + 2);
    if (cmd == "paper-check") return dpq::cli::run_paper_check(argc - 2, argv + 2);
    if (cmd == "bench") {
      if (argc < 3 || (std::strcmp(argv[2], "scalar") != 0 && std::strcmp(argv[2], "turbo") != 0 &&
                        std::strcmp(argv[2], "pq") != 0))
        throw dpq::Error("bench needs a suite: bench scalar | bench turbo | bench pq");
#ifdef DPQ_HAVE_BENCH
      if (!std::strcmp(argv[2], "turbo")) return dpq::bench::run_turbo_bench(argc - 3, argv + 3);
      if (!std::strcmp(argv[2], "pq")) return dpq::bench::run_pq_bench(argc - 3, argv + 3);
      return dpq::bench::run_scalar_bench(argc - 3, argv + 3);
#else
      throw dpq::Error("this deltapq was built with -DDPQ_BUILD_BENCH=OFF");
#endif
    }
    std::cerr << "deltapq: unknown command '" << cmd << "'\n" << kUsage;
    return 2;
  } catch (const dpq::Error& e) {
    std::cerr << "deltapq " << cmd << ": error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "deltapq " << cmd << ": internal error: " << e.what() << "\n";
    return 3;
  }
}
