// The benchmark suites through the CLI (`deltapq bench ...`) on tiny configurations: the reports' shape and
// their built-in checks (exit 0), never a speed; and the split that keeps FAISS out of deltapq itself.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_support.h"

namespace dpq {
namespace {

using testing::CliRun;
using testing::read_json;
using testing::run;

// Runs `deltapq bench ARGS --json FILE`, which must exit 0, and returns the JSON.
nlohmann::json bench_json(const std::string& args, const std::string& name) {
  const auto json = testing::temp_path(name);
  std::filesystem::remove(json);
  const CliRun r = run("bench " + args + " --json " + json);
  EXPECT_EQ(r.code, 0) << r.out;
  return read_json(json);
}

TEST(Cli, bench_pq_writes_the_ratios) {
  const auto j = bench_json("pq --dim 16 --m 4 --n 512 --reps 1 --train-reps 1 --iterations 3", "bench_pq.json");
  for (const char* key : {"encode_vs_faiss", "decode_vs_faiss", "train_vs_faiss", "mse_vs_faiss"})
    EXPECT_TRUE(j["ratios"][key].is_number()) << key;
  EXPECT_EQ(run("bench pq --dim 10 --m 3").code, 2);
}

// bench audit on a tiny cache: the adaptive path's report agrees with the full path's (the bench exits 3
// otherwise) and the double enclosure served the alpha*s of these well-conditioned streams.
TEST(Cli, bench_audit_compares_adaptive_and_full_paths) {
  const auto j = bench_json("audit --streams 2 --tokens 64 --dim 6 --ranks 0", "bench_audit.json");
  EXPECT_TRUE(j["adaptive"]["reports_agree"].get<bool>());
  EXPECT_EQ(j["adaptive"]["alpha_total"].get<int>(), 4);
  EXPECT_GT(j["adaptive"]["alpha_from_double"].get<int>(), 0);
  EXPECT_TRUE(j["adaptive"]["cpu_speedup"].is_number());
  EXPECT_TRUE(j["audit_one_stream"]["verdicts_identical"].get<bool>());
  EXPECT_TRUE(j["audit_one_stream"]["cpu_speedup"].is_number());
}

TEST(Cli, the_deltapq_binary_does_not_link_faiss) {
  // FAISS is the benchmarks' peer: deltapq-bench links it, deltapq must not (nm lists no faiss symbol).
  FILE* p = ::popen(("nm -C " + std::string(DPQ_CLI_PATH) + " 2>/dev/null | grep -c faiss::").c_str(), "r");
  char buf[32] = {0};
  ASSERT_NE(std::fgets(buf, sizeof buf, p), nullptr);
  ::pclose(p);
  EXPECT_EQ(std::string(buf), "0\n");
  p = ::popen(("nm " + std::string(DPQ_CLI_PATH) + " 2>/dev/null | wc -l").c_str(), "r");
  ASSERT_NE(std::fgets(buf, sizeof buf, p), nullptr);
  ::pclose(p);
  EXPECT_GT(std::stol(buf), 1000) << "nm saw no symbols: the check above would be vacuous";
}


TEST(Cli, bench_scalar_writes_the_ratios) {
  // Runs the command end to end on a tiny configuration; asserts the report's shape, never a speed.
  const auto json = testing::temp_path("bench.json");
  std::filesystem::remove(json);
  const CliRun r = run("bench scalar --dim 24 --bits 4 --n 512 --reps 1 --json " + json);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("non-AVX2"), std::string::npos) << r.out;
  const auto j = read_json(json);
  for (const char* key : {"avx2_vs_scalar", "quantize_vs_faiss_sq", "quantize_vs_memcpy", "encode_vs_gemm"})
    EXPECT_TRUE(j["ratios"][key].is_number()) << key;
  EXPECT_EQ(run("bench scalar --bits 9").code, 2);
  EXPECT_EQ(run("bench nonsense").code, 2);
}

}  // namespace
}  // namespace dpq
