// Hostile inputs through the deltapq binary: each test reproduces one defect a hostile-input review
// found (memory corruption, internal errors, blind allocation, hangs, silent NaN, wrong degenerate
// results, valid input refused, half-written output, unbounded work) and asserts the fixed behaviour:
// a correct answer, or exit 2 with one line naming the value and where it is.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "cli_run.h"
#include "deltapq/core/npy.h"
#include "test_files.h"

namespace dpq {
namespace {

namespace fs = std::filesystem;
using testing::CliRun;
using testing::run_cli;

// An exit-2 refusal: one line, naming `message`, no internal error, no crash.
void expect_refused(const CliRun& r, const std::string& message, const std::string& what) {
  EXPECT_EQ(r.code, 2) << what << "\n" << r.out;
  EXPECT_NE(r.out.find(message), std::string::npos) << what << "\n" << r.out;
  EXPECT_EQ(r.out.find("internal error"), std::string::npos) << what << "\n" << r.out;
  EXPECT_LE(std::count(r.out.begin(), r.out.end(), '\n'), 1) << what << "\n" << r.out;
}

std::vector<double> gaussian_rows(std::size_t rows, std::size_t cols, std::uint64_t seed, double scale = 1) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<double> x(rows * cols);
  for (auto& v : x) v = scale * normal(rng);
  return x;
}

// A small hand-made kvdump: one (layer, head) with k_pre, k_post, v of the given widths.
std::string make_dump(const std::string& name, std::size_t tokens, std::size_t pre_cols, std::size_t post_cols,
                      std::size_t v_cols, const std::string& extra_manifest = "") {
  const std::string dir = testing::temp_path(name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  write_npy(dir + "/k_pre.npy", tokens, pre_cols, gaussian_rows(tokens, pre_cols, 1), true);
  write_npy(dir + "/k_post.npy", tokens, post_cols, gaussian_rows(tokens, post_cols, 2), true);
  write_npy(dir + "/v.npy", tokens, v_cols, gaussian_rows(tokens, v_cols, 3), true);
  std::ofstream(dir + "/manifest.json") << R"({"files": [)"
                                        << R"({"layer": 0, "head": 0, "kind": "k_pre", "path": "k_pre.npy"},)"
                                        << R"({"layer": 0, "head": 0, "kind": "k_post", "path": "k_post.npy"},)"
                                        << R"({"layer": 0, "head": 0, "kind": "v", "path": "v.npy"}])" << extra_manifest << "}";
  return dir;
}

// 1. Memory corruption: k_post's rotated-mean trace read k_pre as if it had k_post's shape; odd widths
//    overran the row in RoPE.
TEST(Hostile, mismatched_and_odd_key_widths_are_refused_not_overrun) {
  expect_refused(run_cli("audit-stream " + make_dump("kv_mismatch", 40, 4, 8, 8)), "but the pre-RoPE keys", "k_pre 4 of 8");
  expect_refused(run_cli("audit-stream " + make_dump("kv_odd", 40, 3, 3, 3)), "dimension 3 is odd", "3 columns");
}

// 2. Internal errors: a manifest entry of the wrong type, outputs onto a file / an empty name / an
//    uncreatable path.
TEST(Hostile, manifest_types_and_output_paths_are_named_errors) {
  const std::string dir = make_dump("kv_types", 40, 8, 8, 8);
  std::ofstream(dir + "/manifest.json") << R"({"files":[{"layer":0,"head":0,"kind":"v","path":5}]})";
  expect_refused(run_cli("audit-stream " + dir), "files[0]: \"path\" = 5 is not a string", "path 5");
  std::ofstream(dir + "/manifest.json") << R"({"files":[{"layer":0,"kind":"v","path":"v.npy"}]})";
  expect_refused(run_cli("audit-stream " + dir), "files[0]: no \"head\"", "missing head");
  std::ofstream(dir + "/manifest.json") << R"({"files": []})";
  expect_refused(run_cli("audit-stream " + dir), "lists no stream", "empty files");
  const std::string stream = testing::temp_path("hostile_ok.npy");
  write_npy(stream, 64, 3, gaussian_rows(64, 3, 4), true);
  expect_refused(run_cli("audit " + stream + " --json " + testing::temp_path("")), "is a directory", "--json onto a dir");
  expect_refused(run_cli("audit " + stream + " --json /no/such/dir/x.json"), "does not exist", "--json uncreatable");
  expect_refused(run_cli("audit " + stream + " --json ''"), "output path is empty", "--json empty");
}

TEST(Hostile, kvdump_outputs_on_the_shared_model) {
  const std::string m = testing::shared_models() + "/stories260K.bin", t = testing::shared_models() + "/tok512.bin";
  DPQ_REQUIRE_SHARED_MODEL(m);
  const std::string text = testing::temp_path("six.txt");
  std::ofstream(text) << "Lily ran.";
  const std::string base = "kvdump --model " + m + " --tokenizer " + t + " --text " + text + " --out ";
  const std::string file = testing::temp_path("a_file");
  std::ofstream(file) << "x";
  expect_refused(run_cli(base + file), "exists and is not a directory", "--out onto a file");
  expect_refused(run_cli(base + "''"), "output directory name is empty", "--out empty");
  expect_refused(run_cli(base + "/proc/no_dump_here"), "cannot create the temporary directory", "--out uncreatable");
  const std::string other = testing::temp_path("someone_elses");
  fs::create_directories(other);
  std::ofstream(other + "/thesis.tex") << "x";
  expect_refused(run_cli(base + other), "refusing to replace it", "--out onto a foreign directory");
  EXPECT_TRUE(fs::exists(other + "/thesis.tex"));
  // 7. A dump of fewer tokens than head_dim is valid input: audit-stream audits it (rank-deficient
  //    covariances are handled by the certified rank test, not refused as "not PSD").
  const std::string dir = testing::temp_path("kv_short");
  fs::remove_all(dir);
  const CliRun k = run_cli(base + dir);
  ASSERT_EQ(k.code, 0) << k.out;
  const CliRun a = run_cli("audit-stream " + dir);
  EXPECT_EQ(a.code, 0) << a.out;
  // 8. A re-dump into the same directory replaces it whole; an array changed afterwards is detected.
  ASSERT_EQ(run_cli(base + dir).code, 0);
  for (const auto& e : fs::directory_iterator(testing::temp_path("")))
    EXPECT_EQ(e.path().filename().string().find("kv_short.tmp."), std::string::npos) << e.path();
  {
    std::fstream f(dir + "/L0_H0_v.npy", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-1, std::ios::end);
    f.put('\x7f');
  }
  expect_refused(run_cli("audit-stream " + dir), "does not match the FNV-1a hash", "a changed array");
}

// 3. Blind allocation: sizes from a header are checked against the input's size or DPQ_MAX_BYTES.
TEST(Hostile, sizes_from_headers_are_checked_before_allocation) {
  // An honest .npy header over a sparse 8 GiB data section.
  const std::string big = testing::temp_path("sparse.npy");
  testing::write_raw_npy(big, "{'descr': '<f4', 'fortran_order': False, 'shape': (2097152, 1024), }", {});
  ASSERT_EQ(::truncate(big.c_str(), static_cast<off_t>(128 + (std::uint64_t{2097152} * 1024 * 4))), 0);
  expect_refused(run_cli("audit " + big), "above the limit", "8 GiB .npy");
  fs::remove(big);
  expect_refused(run_cli("synth --out " + testing::temp_path("s.npy") + " --tokens 16777216 --dim 16384"), "above the limit",
                 "synth 2^38 values");
  // A checkpoint of dim 2, 1024 layers, seq_len 2^20 (8.5 MB): the KV cache grows with the positions
  // run, so it loads and generates; with a small limit the growth itself is refused.
  const std::string ckpt = testing::temp_path("deep.bin");
  {
    const std::int32_t h[7] = {2, 2, 1024, 1, 1, 300, 1 << 20};
    std::ofstream out(ckpt, std::ios::binary);
    out.write(reinterpret_cast<const char*>(h), sizeof h);
    const std::size_t L = 1024, d = 2, hd = 2, V = 300, S = 1 << 20;
    const std::size_t floats = V * d + L * d + L * d * d + 2 * L * d * d + L * d * d + L * d + 3 * L * hd * d + d + S * 2;
    std::vector<float> w(floats, 0.01f);
    out.write(reinterpret_cast<const char*>(w.data()), static_cast<std::streamsize>(w.size() * 4));
  }
  const std::string tok = testing::temp_path("tok300.bin");
  {
    std::ofstream out(tok, std::ios::binary);
    const std::int32_t max_len = 8;
    out.write(reinterpret_cast<const char*>(&max_len), 4);
    for (int i = 0; i < 300; ++i) {
      const float score = 0;
      char piece[8];
      const std::int32_t len = std::snprintf(piece, sizeof piece, "t%d", i);
      out.write(reinterpret_cast<const char*>(&score), 4);
      out.write(reinterpret_cast<const char*>(&len), 4);
      out.write(piece, len);
    }
  }
  const CliRun g = run_cli("generate --model " + ckpt + " --tokenizer " + tok + " --steps 3");
  EXPECT_EQ(g.code, 0) << g.out;
  // The weights (8.5 MB) fit 9.5 MB; the cache (16 KiB per position) outgrows it near position 580.
  expect_refused(run_cli("generate --model " + ckpt + " --tokenizer " + tok + " --steps 1000", "DPQ_MAX_BYTES=9500000 "),
                 "the KV cache of", "KV cache over the limit");
  expect_refused(run_cli("generate --model " + ckpt + " --tokenizer " + tok, "DPQ_MAX_BYTES=-5 "), "DPQ_MAX_BYTES", "bad limit");
}

// 5. Silent NaN: weights that overflow float32 are an error naming layer, position and tensor.
TEST(Hostile, overflowing_weights_are_an_error_not_a_silent_nan) {
  const std::string m = testing::shared_models() + "/stories260K.bin", t = testing::shared_models() + "/tok512.bin";
  DPQ_REQUIRE_SHARED_MODEL(m);
  const std::string bad = testing::temp_path("huge_wq.bin");
  fs::copy_file(m, bad, fs::copy_options::overwrite_existing);
  {
    // Layer 0's wq starts after the embedding [512, 64] and rms_att [5, 64].
    std::fstream f(bad, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(28 + 4 * (512 * 64 + 5 * 64));
    const std::vector<float> huge(64 * 64, 3e38f);
    f.write(reinterpret_cast<const char*>(huge.data()), static_cast<std::streamsize>(huge.size() * 4));
  }
  expect_refused(run_cli("generate --model " + bad + " --tokenizer " + t + " --steps 5"), "of layer 0 at position 0",
                 "generate");
  const std::string text = std::string(DPQ_SOURCE_DIR) + "/data/story.txt";
  expect_refused(run_cli("eval-nll --model " + bad + " --tokenizer " + t + " --text " + text + " --kv-scheme direct"),
                 "forward: ", "eval-nll");
  const std::string dir = testing::temp_path("kv_nan");
  fs::remove_all(dir);
  expect_refused(run_cli("kvdump --model " + bad + " --tokenizer " + t + " --text " + text + " --out " + dir), "forward: ",
                 "kvdump");
  EXPECT_FALSE(fs::exists(dir));
}

// 4. A text far beyond seq_len is refused at once, and tokenizing is O(n log n) (the ctest timeout
//    guards against the old quadratic loop: 64 KB took minutes).
TEST(Hostile, long_texts_are_refused_quickly) {
  const std::string m = testing::shared_models() + "/stories260K.bin", t = testing::shared_models() + "/tok512.bin";
  DPQ_REQUIRE_SHARED_MODEL(m);
  const std::string text = testing::temp_path("long.txt");
  {
    std::ofstream out(text);
    for (int i = 0; i < 2048; ++i) out << "Lily and Ben went to the park. ";
  }
  const std::string dir = testing::temp_path("kv_long");
  fs::remove_all(dir);
  expect_refused(run_cli("kvdump --model " + m + " --tokenizer " + t + " --text " + text + " --out " + dir),
                 "cannot fit the model's seq_len 512", "64 KB text");
}

// 6/7. Degenerate and extreme streams: a correct answer or a clear refusal.
TEST(Hostile, degenerate_and_extreme_streams) {
  auto write = [](const std::string& name, std::size_t rows, std::size_t cols, const std::vector<double>& x) {
    const std::string p = testing::temp_path(name);
    write_npy(p, rows, cols, x, false);
    return p;
  };
  // A constant stream: nothing to quantize (it printed "trace ratio = nan" and exited 0).
  expect_refused(run_cli("audit " + write("const.npy", 50, 2, std::vector<double>(100, 1.5))), "the stream is constant",
                 "constant");
  // T < d + 2: refused unless asked for (T = 2, d = 256 took minutes).
  expect_refused(run_cli("audit " + write("short_wide.npy", 2, 256, gaussian_rows(2, 256, 5))), "pass --small-sample",
                 "T = 2, d = 256");
  // A linear stream with exactly constant deltas: Sigma_delta = 0 exactly, alpha* = 0 (not +inf from a
  // rounding residue of the mean).
  std::vector<double> lin;
  for (int t = 0; t < 50; ++t)
    for (double b : {0.5, -0.25, 0.125}) lin.push_back(1 + b * t);
  const std::string lp = write("linear.npy", 50, 3, lin);
  const CliRun l = run_cli("audit " + lp + " --json " + testing::temp_path("linear.json"));
  EXPECT_TRUE(l.code == 0 || l.code == 1) << l.out;
  EXPECT_NE(l.out.find("alpha* = 0.0000000000e+00"), std::string::npos) << l.out;
  // B4 failing is a finding (no guaranteed advantage), never "contradicts the theorem".
  for (const std::string& f : {lp, write("tiny.npy", 60, 2, gaussian_rows(60, 2, 6, 1e-30)),
                               write("huge.npy", 60, 2, gaussian_rows(60, 2, 7, 1e30))}) {
    const CliRun r = run_cli("audit " + f + " --pq 1x1");
    EXPECT_TRUE(r.code == 0 || r.code == 1) << f << "\n" << r.out;
    EXPECT_EQ(r.out.find("deltapq bug"), std::string::npos) << f << "\n" << r.out;
  }
  // Values near the ends of the double range work with --pq (Part B's double arithmetic runs on the
  // stream scaled by a power of two): subnormal and near DBL_MAX.
  for (const std::string& f : {write("subnormal.npy", 60, 2, gaussian_rows(60, 2, 8, 1e-310)),
                               write("near_max.npy", 60, 2, gaussian_rows(60, 2, 9, 3e307))}) {
    const CliRun r = run_cli("audit " + f + " --pq 1x2");
    EXPECT_TRUE(r.code == 0 || r.code == 1) << f << "\n" << r.out;
    EXPECT_EQ(r.out.find("nan"), std::string::npos) << f << "\n" << r.out;
  }
  // --kappa beyond float range names the option.
  const std::string dir = make_dump("kv_kappa", 40, 8, 8, 8);
  expect_refused(run_cli("audit-stream " + dir + " --kappa 1e308"), "kappa = ", "--kappa 1e308");
}

// 9. Unbounded work from a small input: a table of the wrong size is not scored.
TEST(Hostile, a_huge_codebook_table_is_rejected_by_its_size) {
  const std::string table = testing::temp_path("big_table.json");
  {
    std::ofstream out(table);
    out << "{\"centroids\": [";
    for (int i = 0; i < 100000; ++i) out << (i ? "," : "") << (i - 50000) * 1e-5;
    out << "]}";
  }
  const CliRun r = run_cli("codebook --check " + table + " --dim 128 --bits 4");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("wrong size: 100000 centroids"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("not scored"), std::string::npos) << r.out;
}

// 10. The smaller ones: raw header bytes are not echoed; a vocabulary of INT_MIN is refused.
TEST(Hostile, headers_are_quoted_safely_and_int_min_vocab_is_refused) {
  const std::string p = testing::temp_path("no_descr.npy");
  testing::write_raw_npy(p, std::string("{'fortran_order': False,\n\x01\x02 'shape': (3, 2), }"), testing::f8_bytes({1, 2, 3, 4, 5, 6}));
  const CliRun r = run_cli("audit " + p);
  expect_refused(r, "header has no 'descr' entry", "no descr");
  EXPECT_NE(r.out.find("\\x01"), std::string::npos) << r.out;
  const std::string ckpt = testing::temp_path("intmin.bin");
  {
    const std::int32_t h[7] = {8, 8, 1, 1, 1, INT32_MIN, 16};
    std::ofstream(ckpt, std::ios::binary).write(reinterpret_cast<const char*>(h), sizeof h);
  }
  expect_refused(run_cli("generate --model " + ckpt + " --tokenizer " + ckpt), "header values out of range", "INT_MIN vocab");
}

// The directory inputs under seeded mutations: a valid small dump, each copy mutated once (a file
// truncated, bytes flipped, removed, replaced by a directory; the manifest's JSON edited: a value's
// type, a key deleted, an entry duplicated, a path escaping, a huge number), then audit-stream and
// paper-check --kv. Every run must end with exit 0, 1 or 2 -- never a signal, exit 3 or a sanitizer
// report -- and a refusal is one line. 80 mutants, seeded: the same ones on every run.
TEST(Hostile, seeded_mutations_of_a_kvdump_never_crash_the_cli) {
  const std::string base = make_dump("kv_mutation_base", 24, 4, 4, 4,
                                     R"(, "queries": [{"layer": 0, "query_head": 0, "kv_head": 0, "path": "k_post.npy"}])");
  const std::vector<std::string> arrays = {"k_pre.npy", "k_post.npy", "v.npy"};
  std::mt19937_64 rng(20261201);
  int refused = 0, audited = 0;
  for (int m = 0; m < 80; ++m) {
    const std::string dir = testing::temp_path("kv_mutant");
    fs::remove_all(dir);
    fs::copy(base, dir, fs::copy_options::recursive);
    const std::string array = dir + "/" + arrays[rng() % arrays.size()];
    std::string what;
    switch (rng() % 9) {
      case 0: {  // truncate an array
        const auto size = fs::file_size(array);
        fs::resize_file(array, rng() % size);
        what = "truncated array";
        break;
      }
      case 1: {  // flip bytes of an array (header or data)
        std::fstream f(array, std::ios::in | std::ios::out | std::ios::binary);
        const auto size = static_cast<long>(fs::file_size(array));
        for (int k = 0; k < 4; ++k) {
          f.seekp(static_cast<long>(rng() % static_cast<unsigned long>(size)));
          f.put(static_cast<char>(rng()));
        }
        what = "bytes flipped";
        break;
      }
      case 2:
        fs::remove(array);
        what = "array removed";
        break;
      case 3:
        fs::remove(array);
        fs::create_directories(array);
        what = "array replaced by a directory";
        break;
      default: {  // edit the manifest's text
        std::ifstream in(dir + "/manifest.json");
        std::stringstream ss;
        ss << in.rdbuf();
        std::string j = ss.str();
        const std::vector<std::pair<std::string, std::string>> edits = {
            {"\"layer\": 0", "\"layer\": \"zero\""}, {"\"head\": 0,", ""}, {"\"path\": \"v.npy\"", "\"path\": \"/etc/passwd\""},
            {"\"path\": \"k_pre.npy\"", "\"path\": \"../k_pre.npy\""}, {"\"layer\": 0", "\"layer\": 99999999999999999999"},
            {"\"kind\": \"v\"", "\"kind\": [1, 2]"}, {"\"files\": [", "\"files\": [{\"layer\": 0, \"head\": 0, \"kind\": \"v\", \"path\": \"v.npy\"},"},
            {"\"queries\"", "\"queriez\""}, {"}", ""}, {"\"kv_head\": 0", "\"kv_head\": -1"}};
        const auto& e = edits[rng() % edits.size()];
        if (auto pos = j.find(e.first); pos != std::string::npos) j.replace(pos, e.first.size(), e.second);
        std::ofstream(dir + "/manifest.json", std::ios::trunc) << j;
        what = "manifest: " + e.first + " -> " + e.second;
      }
    }
    for (const std::string& cmd : {"audit-stream " + dir, "paper-check --quick --kv " + dir}) {
      const CliRun r = run_cli(cmd);
      EXPECT_TRUE(r.code == 0 || r.code == 1 || r.code == 2) << "mutant " << m << " (" << what << "): " << cmd << "\n" << r.out;
      EXPECT_EQ(r.out.find("internal error"), std::string::npos) << "mutant " << m << " (" << what << ")\n" << r.out;
      EXPECT_EQ(r.out.find("Sanitizer"), std::string::npos) << r.out;
      if (r.code == 2) {
        ++refused;
        EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "mutant " << m << " (" << what << ")\n" << r.out;
      } else {
        ++audited;
      }
    }
  }
  // Both outcomes occur: the mutants are neither all harmless nor all fatal.
  EXPECT_GT(refused, 20);
  EXPECT_GT(audited, 5);
}

}  // namespace
}  // namespace dpq
