// deltapq: checks the theory of KV-cache and activation compression on your data.
//
// Exit codes (the same rule for every command):
//   0  success: every claim holds or is undecided (or the command has no claims)
//   1  a claim whose premises hold fails, or an audited artifact fails its gate
//      (a claim that fails on the data is a result, not a crash)
//   2  bad input or usage: one line on stderr naming the value and where it is; nothing written
//   3  internal error: a deltapq bug (please report the command line)
#include <unistd.h>

#include <climits>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <iostream>
#include <string>
#include <vector>

#ifdef DPQ_HAVE_MPI
#include <mpi.h>
#endif

#include "commands.h"
#include "mpi_world.h"
#include "deltapq/app/stream_audit.h"
#include "deltapq/core/error.h"
#include "deltapq/reference/real.h"

namespace {

struct Command {
  const char* name;
  const char* usage;
  int (*run)(int, char**);
};

int run_bench(int argc, char** argv);

const Command kCommands[] = {
    {"audit",
     "audit FILE [--tensor NAME] [--bits B | --budget TOTAL] [--kappa K|auto] [--precision BITS] [--small-sample] [--jobs N] [--quiet]\n"
     "        [--json OUT] [--csv DIR]\n"
     "        [--pq MxBITS [--pq-transform soft-zca|eigenbasis|identity] [--zca-eps REL] [--seed N]]\n"
     "      Part A theorems (A2, A4, A5, A6) on a stream [T, d] (.npy of float16/32/64 either byte order, .npz,\n"
     "      safetensors F64/F32/F16/BF16; --tensor names one of several); with --pq also\n"
     "      Part B (B2 per eta tier, B4) for a product quantizer of M blocks x BITS bits; --small-sample audits\n"
     "      a sample with T < d + 2 rows (refused otherwise: its delta covariance is rank-deficient). alpha* and the\n"
     "      Loewner premise are decided in double first (escalated to MPFR when that cannot decide); --precision\n"
     "      BITS puts everything on the full MPFR path at BITS bits. --jobs N threads\n"
     "      for the independent parts (default: every core; the report does not depend on N); a progress line on a\n"
     "      terminal unless --quiet",
     dpq::cli::run_audit},
    {"synth",
     "synth --out FILE.npy [--tokens T] [--dim D] [--phi P] [--nu NU] [--rank R] [--sigma S] [--seed N]\n"
     "      the seeded synthetic stream the demo audits",
     dpq::cli::run_synth},
    {"generate",
     "generate --model M.bin --tokenizer T.bin [--steps N] [--temperature T [--top-p P] [--seed N]]\n"
     "      generation from BOS with a llama2.c-format checkpoint: greedy, or sampled at temperature T from the\n"
     "      top-p nucleus (seeded, the same text on every machine)",
     dpq::cli::run_generate},
    {"kvdump",
     "kvdump --model M.bin --tokenizer T.bin --text FILE --out DIR [--max-tokens N]\n"
     "      pre-RoPE K, post-RoPE K and V of every layer and KV head, and the post-RoPE queries, as .npy,\n"
     "      plus manifest.json (the directory appears complete or not at all); --max-tokens N keeps the first N\n"
     "      tokens (BOS included) of a text longer than the model's context instead of refusing it",
     dpq::cli::run_kvdump},
    {"audit-stream",
     "audit-stream DIR|FILE [--layout AXES] [--kind K] [--batch I] [--keys pre|post] [--bits B] [--kappa K|auto]\n"
     "        [--half-life H] [--theta T] [--eta auto|E] [--pq MxBITS] [--precision BITS] [--jobs N] [--quiet] [--json OUT]\n"
     "        [--csv DIR]\n"
     "      Part C on every stream of a kvdump or a tensor file: calibration, alpha*, certificate, zones, direct vs\n"
     "      delta MSE. alpha* is enclosed in double first, escalated to MPFR only when that cannot decide;\n"
     "      --precision BITS forces the full MPFR path at BITS bits. For a tensor file --layout names its axes\n"
     "      (L layer, H head, T token, D dim, S k/v, B batch;\n"
     "      e.g. L,S,B,H,T,D), names give layer and kind ('model.layers.3.self_attn.k_proj', 'k_cache[3]',\n"
     "      'past_key_values.3.0'), --kind k_post|k_pre|v when they do not. --jobs N threads over streams (default:\n"
     "      every core; the report does not depend on N); a progress line on a terminal unless --quiet.\n"
     "      mpirun -np N deltapq audit-stream ... deals the streams over N MPI ranks; rank 0 writes the same report",
     dpq::cli::run_audit_stream},
    {"eval-nll",
     "eval-nll --model M --tokenizer T --text FILE [--text FILE ...] --kv-scheme fp32|direct|delta-open|\n"
     "        delta-closed|delta-zoned|kv|kqv|qkqv [--versus SCHEME] [--bits B[,B...]] [--kappa K] [--half-life H]\n"
     "        [--theta T] [--eta auto|E] [--part k|v|kv] [--layers L,...] [--max-tokens N] [--jobs N] [--quiet]\n"
     "        [--json OUT] [--csv DIR]\n"
     "      next-token NLL and KL with the KV cache through a codec (only the keys or values, only some layers:\n"
     "      the rest stays fp32; a progress line on a terminal unless --quiet). Several texts or bit widths:\n"
     "      one run each (text x bits) on --jobs N threads (default: every core), per-bit-width token-weighted\n"
     "      means over the texts; mpirun -np N deltapq eval-nll ... deals the runs over ranks, rank 0 writes.\n"
     "      kv|kqv|qkqv: the D5 schemes of paper-check at budget n = B (kv 1..8, kqv and qkqv 2..8), each\n"
     "      stored vector (post-RoPE key, value) through its side's codec; --versus S adds the paired NLL\n"
     "      difference to scheme S",
     dpq::cli::run_eval_nll},
    {"codebook",
     "codebook --dim D --bits B [--digits N] [--json OUT] [--csv DIR]\n"
     "      certified Lloyd-Max codebook of the sphere marginal (TurboQuant-style)\n"
     "  codebook --check TABLE.json --dim D --bits B [--max-excess PCT] [--json OUT] [--csv DIR]\n"
     "      audit a third-party codebook: excess MSE over the optimum, defects; exit 1 over the gate",
     dpq::cli::run_codebook},
    {"paper-check",
     "paper-check [--quick] [--seed N] [--kv DIR|FILE [--layout AXES] [--kind K] [--batch I]] [--jobs N] [--quiet] [--json OUT]\n"
     "        [--csv DIR] [--model M --tokenizer T --text FILE [--max-tokens N]] [--sensitivity | [--qjl reconstruction|\n"
     "        estimator] [--kv-codebook sphere|gaussian|empirical] [--norms apart|charged] [--queries same|gaussian]\n"
     "        [--low-rank product|noisy]]\n"
     "      the KV / KQV / QKQV experiment grid (D8) and the paper's three findings, holds or fails; --jobs N threads\n"
     "      over the cells (default: every core), mpirun -np N deals them over ranks (the report does not change).\n"
     "      The table gives per data set and budget n each metric's median per scheme and the paper's pairs (KQV vs\n"
     "      KV, QKQV vs KQV). With --model: the schemes as the model's KV cache at every budget (delta NLL, KL, paired\n"
     "      NLL differences with jointly 95 % intervals) and findings 1 and 2 judged downstream: holds, fails, undecided.\n"
     "      The formalization choices (defaults first; proofs-notes/D8.md) one by one, or --sensitivity: every\n"
     "      combination with --quick (48 grids), else each choice changed alone (7), and per finding robust or\n"
     "      which choice flips it",
     dpq::cli::run_paper_check},
    {"vectors",
     "vectors --out DIR\n"
     "      the gate's test-vector corpus: designs, inputs (edge cases + random rows) and the reference's\n"
     "      expected codes, exact or acceptable sets, as JSON + .npy (vectors.json documents every file)",
     dpq::cli::run_vectors},
    {"gate",
     "gate --design D.json --input X.npy --codes C.npy [--decoded Y.npy [--bf16]] [--norms N.npy] [--signs S.npy]\n"
     "        [--residual-norms R.npy] [--refused M.npy] [--json OUT] [--csv DIR]\n"
     "      check your kernel's outputs against the reference: per entry exact / acceptable / wrong, worst offenders;\n"
     "      exit 1 when anything is wrong\n"
     "  gate --vectors DIR --outputs DIR2 [--json OUT] [--csv DIR]\n"
     "      the same on a corpus of `deltapq vectors` (your outputs in DIR2/CASE/codes.npy, ...)\n"
     "  gate --plugin LIB.so [--design D.json] [--seed N] [--cases N] [--max-batch N] [--timeout S] [--no-fork] [--json OUT] [--csv DIR]\n"
     "      drive your kernel (the C ABI of deltapq/gate_plugin.h) with RapidCheck batches of random and edge rows;\n"
     "      a failure is shrunk to a minimal counterexample and printed with the seed that reproduces it",
     dpq::cli::run_gate},
    {"bench",
     "bench scalar [--dim D] [--bits B] [--n N] [--reps R] [--json OUT]\n"
     "      the fast codec against its scalar fallback, FAISS ScalarQuantizer, memcpy and the GEMM\n"
     "  bench turbo [--dim D] [--n N] [--reps R] [--json OUT]\n"
     "      the TurboQuant-style codec (Walsh-Hadamard + Lloyd-Max) against memcpy and the dense rotation, and the\n"
     "      fused inner-product codec ((b-1)-bit Lloyd-Max + 1-bit QJL) against the same stages composed\n"
     "  bench qjl [--dim D] [--n N] [--reps R] [--json OUT]\n"
     "      the QJL sketch alone (m = d/2, d, 2d): sketch, estimates, reconstruction, against a per-row sgemv\n"
     "  bench pq [--dim D] [--m M] [--bits B] [--n N] [--iterations I] [--reps R] [--train-reps R] [--json OUT]\n"
     "      the product quantizer against FAISS ProductQuantizer (train, encode, decode, MSE)\n"
     "  bench gate [--dim D] [--bits B] [--n N] [--reps R] [--json OUT]\n"
     "      rows per second the gate checks per family (per-thread CPU time), against the fast encode\n"
     "  bench audit [--streams S] [--tokens T] [--dim D] [--ranks R] [--json OUT]\n"
     "      audit-stream on a synthetic cache (default 64 x [4096, 128]): CPU s per stream, --jobs 2 and MPI ranks vs\n"
     "      one thread (reports compared byte for byte), a 768-stream cache extrapolated\n"
     "      (benchmarks live in deltapq-bench, next to this binary, which links FAISS; deltapq does not)",
     run_bench},
};

const char* kExitCodes =
    "exit codes: 0 ok (every claim holds or is undecided), 1 a claim whose premises hold fails or an artifact\n"
    "  fails its gate, 2 bad input or usage, 3 internal error (a deltapq bug)\n";

void print_usage(std::ostream& os) {
  os << "usage: deltapq COMMAND [ARGS]   (deltapq COMMAND --help: that command's usage)\n";
  for (const Command& c : kCommands) os << "  " << c.usage << "\n";
  os << kExitCodes;
}

// `deltapq bench ...` runs deltapq-bench from the same directory (the benchmarks link FAISS, the peer;
// the deltapq binary itself does not).
int run_bench(int argc, char** argv) {
  char self[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) throw dpq::Error("bench: cannot find this executable's directory (/proc/self/exe)");
  self[n] = '\0';
  const std::string bench = (std::filesystem::path(self).parent_path() / "deltapq-bench").string();
  if (::access(bench.c_str(), X_OK) != 0)
    throw dpq::Error("bench: " + bench + " is missing (built with -DDPQ_BUILD_BENCH=OFF, or not installed next to deltapq)");
  std::vector<char*> args{const_cast<char*>(bench.c_str())};
  for (int i = 0; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  std::cout.flush();
  ::execv(bench.c_str(), args.data());
  throw dpq::Error("bench: cannot run " + bench + ": " + std::strerror(errno));
}

std::string rank_label(const dpq::cli::MpiWorld* world) {
  return world && world->size() > 1 ? " (MPI rank " + std::to_string(world->rank()) + ")" : std::string();
}

// A failure on one rank of several before the results were exchanged: the others may be waiting for
// its results (or it for theirs), so the whole run ends here, with this exit code. After the exchange
// (rank 0 writing the report) nobody waits and the rank simply returns.
void abort_other_ranks(const dpq::cli::MpiWorld* world, int code) {
#ifdef DPQ_HAVE_MPI
  if (world && world->size() > 1 && !world->exchanged()) {
    std::cerr.flush();
    MPI_Abort(MPI_COMM_WORLD, code);
  }
#else
  (void)world;
  (void)code;
#endif
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    print_usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? 2 : 0;
  }
  // deltapq parallelizes over streams, cells and runs itself; OpenBLAS's threads would only spin
  // (paper-check --quick: 1.1 of 2.9 CPU seconds in their sched_yield).
  dpq::app::use_one_blas_thread();
  const std::string cmd = argv[1];
  const Command* command = nullptr;
  for (const Command& c : kCommands)
    if (cmd == c.name) command = &c;
  if (!command) {
    std::cerr << "deltapq: unknown command '" << cmd << "' (deltapq --help lists the commands)\n";
    return 2;
  }
  for (int i = 2; i < argc; ++i)
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::cout << "usage: deltapq " << command->usage << "\n" << kExitCodes;
      return 0;
    }
  // Under mpirun / srun the ranks share the work of the commands that distribute it (audit-stream,
  // paper-check);
  // every other command is refused there rather than run N times.
  std::unique_ptr<dpq::cli::MpiWorld> world;
  int code = 0;
  try {
    world = std::make_unique<dpq::cli::MpiWorld>(argc, argv);
    if (world->size() > 1 && cmd != "audit-stream" && cmd != "paper-check" && cmd != "eval-nll")
      throw dpq::Error(cmd + " does not distribute over MPI ranks (audit-stream, paper-check and eval-nll do): run it as one process");
    dpq::ref::set_precision_bits(dpq::ref::kDefaultPrecisionBits);
    return command->run(argc - 2, argv + 2);
  } catch (const dpq::Error& e) {
    // One write, so the lines of several ranks do not interleave.
    std::cerr << "deltapq " + cmd + rank_label(world.get()) + ": error: " + e.what() + "\n";
    code = 2;
  } catch (const std::exception& e) {
    std::cerr << "deltapq " + cmd + rank_label(world.get()) + ": internal error: " + e.what() +
                     " (a deltapq bug: please report the command line)\n";
    code = 3;
  }
  abort_other_ranks(world.get(), code);
  return code;
}
