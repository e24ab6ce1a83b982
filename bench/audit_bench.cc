#include "audit_bench.h"

#include <cmath>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "args.h"
#include "deltapq/app/audit.h"
#include "deltapq/app/report.h"
#include "deltapq/app/stream_audit.h"
#include "deltapq/core/atomic_file.h"
#include "deltapq/core/error.h"
#include "deltapq/core/npy.h"
#include "deltapq/core/synth.h"

namespace dpq::bench {
namespace {

double process_cpu_seconds() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Run {
  double wall = 0, cpu = 0;
  std::string json;
};

Run audit_in_process(const app::KvStreams& streams, int jobs, bool full_precision = false) {
  app::StreamAuditOptions o;
  o.jobs = jobs;
  o.full_precision = full_precision;
  const double w0 = wall_seconds(), c0 = process_cpu_seconds();
  const app::StreamAuditReport r = app::audit_streams(streams, o);
  Run run;
  run.cpu = process_cpu_seconds() - c0;
  run.wall = wall_seconds() - w0;
  run.json = app::to_json(r);
  return run;
}

std::string self_dir() {
  char self[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) throw Error("bench audit: cannot find this executable's directory (/proc/self/exe)");
  self[n] = '\0';
  return std::filesystem::path(self).parent_path().string();
}

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "");
  for (std::string dir; std::getline(ss, dir, ':');)
    if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  return false;
}

}  // namespace

int run_audit_bench(int argc, char** argv) {
  cli::Args args(argc, argv, {"--streams", "--tokens", "--dim", "--ranks", "--json"}, {});
  const auto json_out = args.output("--json");
  const auto S = static_cast<std::size_t>(args.integer("--streams", 2, 4096).value_or(64));
  const auto T = static_cast<std::size_t>(args.integer("--tokens", 16, 1 << 16).value_or(4096));
  const auto d = static_cast<std::size_t>(args.integer("--dim", 2, 1024).value_or(128));
  const int ranks = static_cast<int>(args.integer("--ranks", 0, 64).value_or(2));
  if (T < d + 2) throw Error("bench audit: --tokens " + std::to_string(T) + " must be at least --dim + 2");
  const long cores = ::sysconf(_SC_NPROCESSORS_ONLN);

  // The cache: S seeded synthetic streams (AR(1), heavy-tailed innovations, low rank), one .npy [S, T, d].
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("deltapq-bench-audit-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  struct Cleanup {
    std::filesystem::path p;
    ~Cleanup() { std::filesystem::remove_all(p); }
  } cleanup{dir};
  std::vector<double> cache;
  cache.reserve(S * T * d);
  for (std::size_t s = 0; s < S; ++s) {
    SyntheticStreamParams p;
    p.tokens = T;
    p.dim = d;
    p.seed = 2026 + s;
    const std::vector<double> x = synthetic_stream(p);
    cache.insert(cache.end(), x.begin(), x.end());
  }
  // The first stream as the file stores it (float32), for the single-stream audit below.
  std::vector<double> first(cache.begin(), cache.begin() + static_cast<std::ptrdiff_t>(T * d));
  for (double& v : first) v = static_cast<float>(v);
  const std::string file = (dir / "cache.npy").string();
  write_file_atomically(file, npy_bytes_typed({S, T, d}, cache, "<f4"));
  cache = {};
  app::KvLayout layout;
  layout.axes = "H,T,D";
  layout.kind = "v";
  const app::KvStreams streams = app::open_kv_streams(file, layout);

  std::cout << "deltapq bench audit: " << S << " synthetic streams [T = " << T << ", d = " << d << "], audit-stream defaults "
            << "(b = 4, kappa = 3, bootstrap on), " << cores << " cores; adaptive precision (alpha* in double with certified "
            << "bounds, MPFR " << ref::precision_bits() << " bits where they cannot decide)\n";
  std::cout.flush();
  const Run one = audit_in_process(streams, 1);
  std::cout << "  --jobs 1: " << one.wall << " s wall, " << one.cpu / static_cast<double>(S) << " CPU s per stream\n";
  std::cout.flush();
  const Run two = audit_in_process(streams, 2);
  const bool same_two = two.json == one.json;
  std::cout << "  --jobs 2: " << two.wall << " s wall (" << one.wall / two.wall << "x), report "
            << (same_two ? "byte-identical" : "DIFFERENT") << "\n";
  std::cout.flush();

  nlohmann::ordered_json mpi;
  if (ranks >= 2 && on_path("mpirun")) {
    const std::string out = (dir / "mpi.json").string();
    std::string env = ::geteuid() == 0 ? "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 " : "";
    const std::string cmd = env + "mpirun -np " + std::to_string(ranks) + " --oversubscribe '" + self_dir() +
                            "/deltapq' audit-stream '" + file + "' --layout H,T,D --kind v --jobs 1 --quiet --json '" + out +
                            "' > /dev/null";
    const double w0 = wall_seconds();
    const int rc = std::system(cmd.c_str());
    const double wall = wall_seconds() - w0;
    if (rc != 0) throw Error("bench audit: mpirun exited with " + std::to_string(rc) + ": " + cmd);
    std::ifstream in(out, std::ios::binary);
    const std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const bool same = got == one.json;
    std::cout << "  mpirun -np " << ranks << " (--jobs 1 each): " << wall << " s wall (" << one.wall / wall << "x), report "
              << (same ? "byte-identical" : "DIFFERENT") << "\n";
    mpi = {{"ranks", ranks}, {"wall_seconds", wall}, {"speedup_vs_jobs_1", one.wall / wall}, {"byte_identical", same}};
  } else {
    std::cout << "  MPI: skipped (" << (ranks < 2 ? "--ranks < 2" : "mpirun is not on PATH") << ")\n";
  }
  const double per_stream = one.cpu / static_cast<double>(S);
  const double cpu_hours_768 = 768 * per_stream / 3600;
  // Wall time on this machine: the CPU hours at the measured --jobs 2 speed-up (two.wall per stream).
  const double wall_hours_768 = 768 * two.wall / static_cast<double>(S) / 3600;
  std::cout << "  a 768-stream cache (32 layers x 8 KV heads x 3 kinds) at this T and d: " << cpu_hours_768
            << " CPU hours, " << wall_hours_768 << " h wall with --jobs 2 here; on R ranks of this speed about "
            << cpu_hours_768 << " / R h\n";
  // The full MPFR path for every alpha* (audit-stream --precision), one thread: the adaptive path's gain, and
  // whether the two reports agree -- everything equal but alpha*, which must agree within both certified errors.
  const Run full = audit_in_process(streams, 1, true);
  const double full_per_stream = full.cpu / static_cast<double>(S);
  bool agree = true;
  int cheap_alphas = 0;
  {
    nlohmann::json a = nlohmann::json::parse(one.json), f = nlohmann::json::parse(full.json);
    for (std::size_t i = 0; i < a["heads"].size() && i < f["heads"].size(); ++i) {
      auto& ha = a["heads"][i];
      auto& hf = f["heads"][i];
      for (const char* k : {"alpha_open", "alpha_closed"}) {
        const std::string e = std::string(k) + "_error";
        if (ha[k].is_number() && hf[k].is_number())
          agree = agree && std::abs(ha[k].get<double>() - hf[k].get<double>()) <=
                               ha[e].get<double>() + hf[e].get<double>() + 1e-15 * std::abs(hf[k].get<double>());
        else
          agree = agree && ha[k] == hf[k];
        ha.erase(k);
        hf.erase(k);
        ha.erase(e);
        hf.erase(e);
      }
      cheap_alphas += ha["alpha_adaptive"].get<int>();
      ha.erase("alpha_adaptive");
      hf.erase("alpha_adaptive");
    }
    agree = agree && a == f;
  }
  std::cout << "  full MPFR path for alpha* (--precision " << ref::precision_bits() << ", --jobs 1): " << full_per_stream
            << " CPU s per stream; the adaptive path (above, " << cheap_alphas << " of " << 2 * S
            << " alpha* from the double enclosure) is " << full_per_stream / per_stream << "x faster in CPU time; reports "
            << (agree ? "agree (alpha* within both certified errors, everything else identical)" : "DISAGREE") << "\n";

  // `deltapq audit` (Part A with alpha*, Loewner and the source layer) on the first stream, adaptive against
  // --precision (the full MPFR path), one thread each: the verdicts must be the same.
  app::AuditOptions audit_options;
  auto timed_audit = [&](bool full_precision, double& cpu) {
    app::AuditOptions o = audit_options;
    o.full_precision = full_precision;
    const double c0 = process_cpu_seconds();
    app::AuditReport r = app::run_audit(first, T, d, o, "stream 0");
    cpu = process_cpu_seconds() - c0;
    return r;
  };
  double audit_cpu = 0, audit_full_cpu = 0;
  const app::AuditReport audit_adaptive = timed_audit(false, audit_cpu);
  const app::AuditReport audit_full = timed_audit(true, audit_full_cpu);
  bool audit_same = audit_adaptive.theorems.size() == audit_full.theorems.size() && audit_adaptive.loewner == audit_full.loewner;
  for (std::size_t k = 0; audit_same && k < audit_adaptive.theorems.size(); ++k)
    audit_same = audit_adaptive.theorems[k].verdict == audit_full.theorems[k].verdict &&
                 audit_adaptive.theorems[k].reading() == audit_full.theorems[k].reading();
  const std::string paths = std::string("coordinates ") + (audit_adaptive.v.coordinates_adaptive ? "double" : "mpfr") +
                            ", alpha* " + (audit_adaptive.alpha_adaptive ? "double" : "mpfr") + ", Loewner " +
                            (audit_adaptive.loewner_adaptive ? "double" : "mpfr");
  std::cout << "  audit of one stream (--jobs 1): adaptive " << audit_cpu << " CPU s (" << paths << "), full MPFR path "
            << audit_full_cpu << " CPU s: " << audit_full_cpu / audit_cpu << "x; verdicts "
            << (audit_same ? "identical" : "DIFFERENT") << "\n";

  nlohmann::ordered_json report{{"streams", S}, {"tokens", T}, {"dim", d}, {"cores", cores},
                                {"clock", "CLOCK_PROCESS_CPUTIME_ID + steady_clock wall"},
                                {"precision_bits", ref::precision_bits()},
                                {"jobs_1", {{"wall_seconds", one.wall}, {"cpu_seconds_per_stream", per_stream}}},
                                {"jobs_2", {{"wall_seconds", two.wall}, {"speedup_vs_jobs_1", one.wall / two.wall}, {"byte_identical", same_two}}},
                                {"mpi", mpi},
                                {"adaptive", {{"full_path_cpu_seconds_per_stream", full_per_stream},
                                              {"adaptive_cpu_seconds_per_stream", per_stream},
                                              {"cpu_speedup", full_per_stream / per_stream},
                                              {"alpha_from_double", cheap_alphas},
                                              {"alpha_total", 2 * S},
                                              {"reports_agree", agree}}},
                                {"audit_one_stream", {{"adaptive_cpu_seconds", audit_cpu},
                                                      {"full_path_cpu_seconds", audit_full_cpu},
                                                      {"cpu_speedup", audit_full_cpu / audit_cpu},
                                                      {"paths", paths},
                                                      {"verdicts_identical", audit_same}}},
                                {"extrapolated_768_streams_cpu_hours", cpu_hours_768},
                                {"extrapolated_768_streams_wall_hours_jobs_2", wall_hours_768}};
  if (json_out) write_file_atomically(*json_out, report.dump(2) + "\n");
  return same_two && agree && audit_same && (mpi.is_null() || mpi["byte_identical"].get<bool>()) ? 0 : 3;
}

}  // namespace dpq::bench
