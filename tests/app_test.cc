// The application layer: the kvdump manifest reader (types, paths, duplicates), whole-or-nothing
// directories, the shipped Lloyd-Max tables against the reference, and the scheme codec wiring.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/random/mersenne_twister.hpp>
#include <boost/random/student_t_distribution.hpp>
#include <filesystem>
#include <fstream>

#include "deltapq/app/codebook.h"
#include "deltapq/app/eval_nll.h"
#include "deltapq/app/kvdump.h"
#include "deltapq/app/paper_check.h"
#include "deltapq/app/report.h"
#include "deltapq/app/report_wire.h"
#include "deltapq/app/stream_audit.h"
#include "deltapq/core/synth.h"
#include "deltapq/core/atomic_file.h"
#include "deltapq/core/npy.h"
#include "deltapq/fast/sphere_codebooks.h"
#include "deltapq/model/tokenizer.h"
#include "deltapq/reference/attention.h"
#include "deltapq/reference/sphere.h"
#include "test_files.h"

namespace dpq {
namespace {

namespace fs = std::filesystem;
using testing::error_of;

std::string dump_dir(const std::string& name, const std::string& manifest) {
  const std::string dir = testing::temp_path(name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir + "/manifest.json") << manifest;
  return dir;
}

TEST(KvManifest, every_bad_entry_is_named) {
  const struct {
    const char* manifest;
    const char* message;
  } cases[] = {
      {R"({"files": [{"layer": 0, "head": 0, "kind": "v", "path": 5}]})", "files[0]: \"path\" = 5 is not a string"},
      {R"({"files": [{"layer": 0, "head": 0, "kind": "v"}]})", "files[0]: no \"path\""},
      {R"({"files": [{"layer": "0", "head": 0, "kind": "v", "path": "a.npy"}]})", "\"layer\" = \"0\" is not an integer"},
      {R"({"files": [{"layer": -1, "head": 0, "kind": "v", "path": "a.npy"}]})", "\"layer\" = -1 is outside"},
      {R"({"files": [{"layer": 0, "head": 0, "kind": "q", "path": "a.npy"}]})", "\"kind\" = \"q\" is not one of"},
      {R"({"files": [{"layer": 0, "head": 0, "kind": "v", "path": "/etc/passwd"}]})", "is absolute"},
      {R"({"files": [{"layer": 0, "head": 0, "kind": "v", "path": "../x.npy"}]})", "leaves the dump directory"},
      {R"({"files": [{"layer": 0, "head": 0, "kind": "v", "path": "a.npy.tmp.123"}]})", "temporary of an interrupted write"},
      {R"({"files": [{"layer": 0, "head": 0, "kind": "v", "path": "a.npy\u0000/../../etc/passwd"}]})", "control character 0"},
      {R"({"files": [{"layer": 0, "head": 0, "kind": "v", "path": "a.npy"}, {"layer": 0, "head": 0, "kind": "v", "path": "b.npy"}]})",
       "listed twice"},
      {R"({"files": [3]})", "files[0] is not an object"},
      {R"({"files": {}})", "no 'files' array"},
      {R"([1, 2])", "no 'files' array"},
      {R"({"files": []})", "'files' lists no stream"},
      {R"({"files": [{"layer": 0, "head": 0, "kind": "v", "path": "a.npy"}], "queries": 7})", "'queries' is not an array"},
      {R"({"files": [{"layer": 0, "head": 0, "kind": "v", "path": "a.npy"}], "queries": [{"layer": 0, "query_head": 0, "path": "q.npy"}]})",
       "queries[0]: no \"kv_head\""},
      {R"({"files": [{"layer": 0, "head": 0, "kind": "v", "path": "a.npy", "bytes": -4}]})", "\"bytes\" = -4 is not an unsigned"},
      {"{ nope", "not valid JSON"},
  };
  for (const auto& c : cases) {
    const std::string dir = dump_dir("manifest_case", c.manifest);
    const std::string e = error_of([&] { app::read_kv_manifest(dir); });
    EXPECT_NE(e.find(c.message), std::string::npos) << c.manifest << "\n" << e;
    EXPECT_NE(e.find("manifest.json"), std::string::npos) << e;
  }
  EXPECT_NE(error_of([] { app::read_kv_manifest(testing::temp_path("no_such_dump")); }).find("no such directory"),
            std::string::npos);
  // ".." inside a name is not a parent reference: the fuzzer's first finding was a harness that said so.
  const app::KvManifest legal = app::read_kv_manifest(
      dump_dir("manifest_dots", R"({"files": [{"layer": 0, "head": 0, "kind": "v", "path": "sub/a..npy"}]})"));
  EXPECT_EQ(legal.files.at(0).path, "sub/a..npy");
}

TEST(KvManifest, recorded_size_and_hash_are_verified) {
  const std::string dir = dump_dir("manifest_hash", "");
  const std::string bytes = npy_bytes(3, 2, {1, 2, 3, 4, 5, 6}, true);
  std::ofstream(dir + "/a.npy", std::ios::binary) << bytes;
  std::ofstream(dir + "/manifest.json") << R"({"files": [{"layer": 0, "head": 0, "kind": "v", "path": "a.npy", "bytes": )"
                                        << bytes.size() << R"(, "fnv1a64": )" << fnv1a64(bytes) << "}]}";
  const app::KvManifest m = app::read_kv_manifest(dir);
  EXPECT_EQ(app::load_stream(m, m.files[0]).rows, 3u);
  std::string changed = bytes;
  changed.back() = static_cast<char>(changed.back() ^ 1);
  std::ofstream(dir + "/a.npy", std::ios::binary) << changed;
  EXPECT_NE(error_of([&] { app::load_stream(m, m.files[0]); }).find("does not match the FNV-1a hash"), std::string::npos);
  std::ofstream(dir + "/a.npy", std::ios::binary) << bytes << "x";
  EXPECT_NE(error_of([&] { app::load_stream(m, m.files[0]); }).find("manifest.json records"), std::string::npos);
}

TEST(AtomicDirectory, appears_whole_or_not_at_all_and_replaces_only_its_own_kind) {
  const std::string target = testing::temp_path("atomic_dir");
  fs::remove_all(target);
  {
    AtomicDirectory d(target, "manifest.json");
    d.write("a.txt", "first");
    EXPECT_FALSE(fs::exists(target));  // nothing visible before commit
  }                                    // destroyed without commit: nothing left, no temporary
  EXPECT_FALSE(fs::exists(target));
  EXPECT_FALSE(fs::exists(target + ".tmp." + std::to_string(::getpid())));
  {
    AtomicDirectory d(target, "manifest.json");
    d.write("a.txt", "first");
    d.write("manifest.json", "{}");
    d.commit();
  }
  EXPECT_TRUE(fs::exists(target + "/a.txt"));
  {  // a re-dump replaces the earlier one in one step: no file of the old one survives
    AtomicDirectory d(target, "manifest.json");
    d.write("b.txt", "second");
    d.write("manifest.json", "{}");
    d.commit();
  }
  EXPECT_FALSE(fs::exists(target + "/a.txt"));
  EXPECT_TRUE(fs::exists(target + "/b.txt"));
  // A directory that is not ours is never replaced; neither is a file; nor a bad name written.
  const std::string other = testing::temp_path("not_a_dump");
  fs::create_directories(other);
  std::ofstream(other + "/precious.txt") << "x";
  EXPECT_NE(error_of([&] { AtomicDirectory d(other, "manifest.json"); }).find("refusing to replace it"), std::string::npos);
  std::ofstream(testing::temp_path("plain_file")) << "x";
  EXPECT_NE(error_of([] { AtomicDirectory d(testing::temp_path("plain_file"), "manifest.json"); }).find("not a directory"),
            std::string::npos);
  EXPECT_NE(error_of([] { AtomicDirectory d("", "manifest.json"); }).find("empty"), std::string::npos);
  EXPECT_NE(error_of([] { AtomicDirectory d("/no/such/parent/dir", "manifest.json"); }).find("does not exist"), std::string::npos);
  AtomicDirectory d(target, "manifest.json");
  EXPECT_NE(error_of([&] { d.write("../escape", "x"); }).find("is not a file name or sub/file name"), std::string::npos);
  EXPECT_NE(error_of([&] { d.write("a/b/c", "x"); }).find("is not a file name or sub/file name"), std::string::npos);
  EXPECT_NE(error_of([&] { d.write("a/", "x"); }).find("is not a file name or sub/file name"), std::string::npos);
  // One subdirectory level is allowed (the gate's corpus: one directory per case).
  d.write("case/a.npy", "x");
  d.commit();
  EXPECT_TRUE(fs::exists(target + "/case/a.npy"));
}

// B4 and C3 at points where the formula decides: mu = alpha (1 + eta)/(1 - eta) exactly on the line
// mu = 1 (alpha = 1/2, eta = 1/3) is undecided, and 5/6 at (1/2, 1/4); C3's certificate at rho = 1/4 is
// tr_u / (1 - sqrt rho)^2 = 4 tr_u exactly (the orthogonal form would give 4/3 tr_u).
TEST(Formulas, b4_mu_and_the_c3_certificate_at_deciding_points) {
  using ref::Real;
  const ref::Certified half{Real(0.5), Real(0)};
  const ref::JointCondition on_line = ref::joint_condition(half, true, Real(1) / Real(3));
  EXPECT_EQ(on_line.verdict, Verdict::undecided) << ref::to_string(on_line.mu.value);
  // eta = fl(1/3) is off by <= u/3 and d mu/d eta = 2 alpha/(1 - eta)^2 = 9/4 there: mu(fl(1/3)) is
  // within 3u/4 of 1, on top of mu's own certified error.
  const Real u = ref::unit_roundoff();
  EXPECT_LE(abs(on_line.mu.value - Real(1)), on_line.mu.error + Real(0.75) * u);
  const ref::JointCondition inside = ref::joint_condition(half, true, Real(0.25));
  EXPECT_LE(abs(inside.mu.value - Real(5) / Real(6)), inside.mu.error + u);  // + the rounding of 5/6 itself
  EXPECT_EQ(inside.verdict, Verdict::holds);
  EXPECT_EQ(ref::joint_condition(half, false, Real(0.25)).verdict, Verdict::fails);  // alpha infinite

  const pipeline::Certificate c = pipeline::certificate(1.0, 1, 1.0, 4.0);  // rho = kappa^2 4^-1 = 1/4
  ASSERT_TRUE(c.issued);
  EXPECT_EQ(c.rho, 0.25);
  EXPECT_EQ(c.bound, 4.0);
  EXPECT_EQ(c.bound_orthogonal, 1.0 / 0.75);
  EXPECT_EQ(c.verdict, Verdict::holds);  // tr Sigma_delta = 4 = the bound: <= holds
  EXPECT_EQ(pipeline::certificate(1.0, 1, 1.0, std::nextafter(4.0, 5.0)).verdict, Verdict::fails);
  EXPECT_FALSE(pipeline::certificate(2.0, 1, 1.0, 1.0).issued);  // rho = 1: no certificate
}

// What travels between MPI ranks: a stream's report, with its PQ part and source layer, comes back
// field for field (the JSON written from it is the same bytes, and so is the report re-encoded).
TEST(ReportWire, a_stream_report_round_trips_exactly_and_garbage_is_refused) {
  SyntheticStreamParams p;
  p.tokens = 160;
  p.dim = 4;
  p.rank = 2;
  const std::string file = testing::temp_path("wire_v.npy");
  write_npy(file, p.tokens, p.dim, synthetic_stream(p), true);
  app::KvLayout layout;
  layout.kind = "v";
  app::StreamAuditOptions o;
  o.pq = ref::PqShape{0, 2, 2};
  o.pq_text = "2x2";
  o.bootstrap.replicates = 50;
  app::StreamAuditReport r = app::audit_streams(app::open_kv_streams(file, layout), o);
  ASSERT_EQ(r.streams.size(), 1u);
  ASSERT_TRUE(r.streams[0].pq && r.streams[0].uncertainty);
  const std::string wire = app::to_wire(r.streams[0]);
  app::StreamAuditReport back = r;
  back.streams[0] = app::stream_report_from_wire(wire);
  EXPECT_EQ(app::to_json(back), app::to_json(r));
  EXPECT_EQ(app::to_wire(back.streams[0]), wire);
  // A Real keeps its value exactly (not just to the digits the JSON prints).
  EXPECT_EQ(back.streams[0].pq->alpha.value, r.streams[0].pq->alpha.value);
  EXPECT_EQ(back.streams[0].alpha_closed.witness, r.streams[0].alpha_closed.witness);
  EXPECT_THAT(error_of([&] { app::stream_report_from_wire(wire.substr(0, wire.size() / 2)); }),
              ::testing::HasSubstr("stream report bytes"));
  EXPECT_THAT(error_of([] { app::stream_report_from_wire("not cbor"); }), ::testing::HasSubstr("stream report bytes"));
}

TEST(SphereCodebooks, the_shipped_tables_are_the_reference_rounded_once) {
  // Spot checks here (the whole table is regenerated by the ctest fast.sphere_codebooks_regenerate):
  // every shipped centroid and threshold is the float nearest the reference's value.
  ref::set_precision_bits(192);
  for (int d : {2, 8, 128, 576})
    for (int b : {1, 3, 8}) {
      const auto shipped = fast::shipped_sphere_codebook(d, b);
      ASSERT_TRUE(shipped) << d << " " << b;
      const ref::Codebook exact = ref::lloyd_max(ref::Marginal::sphere(d), b, ref::Real("1e-45"));
      ASSERT_EQ(shipped->codebook.centroids.size(), exact.centroids.size());
      ASSERT_EQ(shipped->codebook.thresholds.size(), exact.thresholds.size());
      for (std::size_t i = 0; i < exact.centroids.size(); ++i)
        EXPECT_EQ(shipped->codebook.centroids[i], mpfr_get_flt(exact.centroids[i].backend().data(), MPFR_RNDN)) << d << " " << b << " " << i;
      for (std::size_t i = 0; i < exact.thresholds.size(); ++i)
        EXPECT_EQ(shipped->codebook.thresholds[i], mpfr_get_flt(exact.thresholds[i].backend().data(), MPFR_RNDN)) << i;
      EXPECT_EQ(shipped->mse_per_coordinate, ref::to_double(exact.mse));
    }
  EXPECT_FALSE(fast::shipped_sphere_codebook(100, 4));
  EXPECT_FALSE(fast::shipped_sphere_codebook(128, 9));
  // A dimension that is not shipped is computed by the reference, the same way.
  const fast::ScalarCodebook computed = app::sphere_codebook(100, 2);
  const ref::Codebook exact = ref::lloyd_max(ref::Marginal::sphere(100), 2, ref::Real("1e-45"));
  EXPECT_EQ(computed.centroids.back(), mpfr_get_flt(exact.centroids.back().backend().data(), MPFR_RNDN));
}

TEST(Schemes, each_side_is_the_production_codec_with_its_bits) {
  // D5: KV codes raw normalized coordinates with n bits; KQV's V side and both QKQV sides use
  // (n-1) bits + a d-bit QJL sketch (records carry it), in a rotated basis.
  const int d = 64, n = 4;
  const auto kv = app::side_codec(app::key_side(app::Scheme::kv, d, n, 1));
  EXPECT_EQ(kv.bits(), n);
  EXPECT_EQ(kv.rotation().kind(), fast::RotationKind::identity);
  EXPECT_EQ(kv.qjl(), nullptr);
  EXPECT_EQ(kv.bytes_per_vector(), 4u + d * n / 8);
  const auto v = app::side_codec(app::value_side(app::Scheme::kqv, d, n, 1));
  EXPECT_EQ(v.bits(), n - 1);
  EXPECT_EQ(v.rotation().kind(), fast::RotationKind::hadamard);
  ASSERT_NE(v.qjl(), nullptr);
  EXPECT_EQ(v.qjl()->m(), d);
  EXPECT_EQ(v.bytes_per_vector(), 4u + d * (n - 1) / 8 + 4u + d / 8);
  EXPECT_NE(error_of([] { app::side_codec(app::key_side(app::Scheme::qkqv, 8, 1, 1)); }).find("too small"), std::string::npos);
}

TEST(Schemes, the_alternative_kv_codebooks_on_known_cases) {
  // Lloyd-Max of N(0, 1/d) at 1 bit: +-sqrt(2/pi)/sqrt(d); of the sample {+-0.6, +-0.8} (rows (3, 4) and
  // (-3, -4)): the cell means +-0.7.
  const auto g = app::gaussian_codebook(4, 1);
  ASSERT_EQ(g.centroids.size(), 2u);
  EXPECT_FLOAT_EQ(g.centroids[1], static_cast<float>(std::sqrt(2 / M_PI) / 2));
  EXPECT_FLOAT_EQ(g.centroids[0], -g.centroids[1]);
  const auto e = app::empirical_codebook({3, 4, -3, -4, 0, 0}, 2, 1);  // the zero row is skipped
  ASSERT_EQ(e.centroids.size(), 2u);
  EXPECT_FLOAT_EQ(e.centroids[0], -0.7f);
  EXPECT_FLOAT_EQ(e.centroids[1], 0.7f);
  EXPECT_FLOAT_EQ(e.thresholds[0], 0.0f);
  // At 2 bits the four values are their own cells.
  const auto e2 = app::empirical_codebook({3, 4, -3, -4}, 2, 2);
  EXPECT_EQ(e2.centroids, (std::vector<float>{-0.8f, -0.6f, 0.6f, 0.8f}));
  EXPECT_NE(error_of([] { app::empirical_codebook({0, 0}, 2, 2); }).find("every row is zero"), std::string::npos);
  // Rank-1 rows z (0.3, 1.5) (the low_rank_1 regime at d = 2): the coordinates of x / ||x|| form four
  // clusters narrower than a float step, and the best 4-bit fit puts four centroids in each. After
  // rounding to float they must still be a codebook the codec accepts (centroids and float midpoints
  // strictly increasing).
  {
    std::vector<float> x;
    for (int k = 1; k <= 512; ++k) {
      const float z = (k % 2 ? 1.0f : -1.0f) * (0.01f * static_cast<float>(k) + 0.37f);
      x.insert(x.end(), {z * 0.3f, z * 1.5f});
    }
    app::SideSpec kv = app::key_side(app::Scheme::kv, 2, 4, 1);
    kv.codebook = app::empirical_codebook(x, 2, 4);
    EXPECT_NO_THROW(app::side_codec(kv));
  }
  // Heavy tails (Student-t, nu = 1.05) at d = 2 and 1024, every bit width: accepted as well.
  boost::random::mt19937_64 rng(5);
  boost::random::student_t_distribution<double> t(1.05);
  for (int d : {2, 1024}) {
    std::vector<float> x(static_cast<std::size_t>(512) * d);
    for (auto& v : x) v = static_cast<float>(t(rng));
    for (int bits = 1; bits <= 6; ++bits) {
      app::SideSpec kv = app::key_side(app::Scheme::kv, d, bits, 1);
      kv.codebook = app::empirical_codebook(x, d, bits);
      EXPECT_NO_THROW(app::side_codec(kv)) << "d " << d << ", bits " << bits;
    }
  }
}

TEST(Schemes, charged_norms_take_the_second_norm_from_the_sketch) {
  app::SideSpec v = app::value_side(app::Scheme::kqv, 128, 4, 1);
  EXPECT_EQ(v.account().sketch_bits, 128);
  EXPECT_EQ(v.account().norms, 2);
  v.qjl_rows = 96;  // what --norms charged sets: m = d - 32
  EXPECT_EQ(v.account().coordinate_bits + v.account().sketch_bits + 32 * v.account().norms, 128 * 4 + 32);
  EXPECT_EQ(app::side_codec(v).qjl()->m(), 96);
  v.qjl_rows = 0;  // d <= 32: no room for a sketch
  EXPECT_EQ(app::side_codec(v).qjl(), nullptr);
  EXPECT_EQ(v.account().norms, 1);
}

TEST(Schemes, eval_nll_stores_each_post_rope_key_and_value_through_its_side_codec) {
  // eval-nll --kv-scheme kqv at n = 3, against the cache written by hand: every post-RoPE key and value
  // of stream k (layer-major, KV head minor) round-tripped by its side's codec with seed 2026 + 16 k.
  // The NLL must agree to the last bit: the same float operations in the same order.
  const std::string models = testing::shared_models(), ckpt = models + "/stories260K.bin";
  DPQ_REQUIRE_SHARED_MODEL(ckpt);
  model::Llama2 llm(ckpt);
  const model::Tokenizer tok(models + "/tok512.bin", llm.config().vocab_size);
  std::vector<int> tokens{model::Tokenizer::kBos};
  for (int id : tok.encode("Once upon a time, there was a little girl named Lily. She loved to play outside.")) tokens.push_back(id);
  app::EvalNllOptions o;
  o.scheme = pipeline::KvScheme::kqv;
  o.bits = 3;
  o.bootstrap.enabled = false;
  const app::EvalNllReport r = app::eval_nll(llm, tokens, o);

  const auto& c = llm.config();
  const int hd = c.head_dim();
  std::vector<fast::TurboCodec> keys, values;
  for (int k = 0; k < c.n_layers * c.n_kv_heads; ++k) {
    const std::uint64_t seed = 2026 + 16 * static_cast<std::uint64_t>(k);
    keys.push_back(app::side_codec(app::key_side(app::Scheme::kqv, hd, 3, seed)));
    values.push_back(app::side_codec(app::value_side(app::Scheme::kqv, hd, 3, seed)));
  }
  model::Llama2 fresh(ckpt);
  double nll = 0;
  for (std::size_t pos = 0; pos < tokens.size(); ++pos) {
    const auto& logits = fresh.forward(tokens[pos], static_cast<int>(pos), [&](int l, int h, int, const float*, float* kr, float* v) {
      const std::size_t k = static_cast<std::size_t>(l) * c.n_kv_heads + h;
      const auto kq = app::round_trip(keys[k], std::vector<float>(kr, kr + hd));
      const auto vq = app::round_trip(values[k], std::vector<float>(v, v + hd));
      std::copy(kq.begin(), kq.end(), kr);
      std::copy(vq.begin(), vq.end(), v);
    });
    if (pos + 1 == tokens.size()) break;
    std::vector<double> lp(logits.begin(), logits.end());
    ref::log_softmax(lp);
    nll -= lp[static_cast<std::size_t>(tokens[pos + 1])];
  }
  EXPECT_EQ(r.nll, nll / static_cast<double>(tokens.size() - 1));
  EXPECT_NE(r.nll, r.nll_fp32);  // 3 bits per coordinate change the distributions
  EXPECT_GT(r.kl, 0);
}

TEST(Schemes, the_d5_schemes_refuse_budgets_their_codecs_cannot_spend) {
  const std::string models = testing::shared_models(), ckpt = models + "/stories260K.bin";
  DPQ_REQUIRE_SHARED_MODEL(ckpt);
  model::Llama2 llm(ckpt);
  const std::vector<int> tokens{model::Tokenizer::kBos, 300, 301, 302};
  app::EvalNllOptions o;
  o.bootstrap.enabled = false;
  o.scheme = pipeline::KvScheme::qkqv;
  o.bits = 1;  // one bit is the QJL sign: nothing left for Lloyd-Max
  EXPECT_NE(error_of([&] { app::eval_nll(llm, tokens, o); }).find("--bits 1 with --kv-scheme qkqv is outside 2..8"), std::string::npos);
  o.scheme = pipeline::KvScheme::direct;  // the versus scheme's budget is checked too
  o.versus = pipeline::KvScheme::kqv;
  EXPECT_NE(error_of([&] { app::eval_nll(llm, tokens, o); }).find("--bits 1 with --kv-scheme kqv is outside 2..8"), std::string::npos);
  o.scheme = pipeline::KvScheme::kv;
  o.versus.reset();
  o.bits = 9;
  EXPECT_NE(error_of([&] { app::eval_nll(llm, tokens, o); }).find("outside 1..8"), std::string::npos);
  o.bits = 1;
  EXPECT_NO_THROW(app::eval_nll(llm, tokens, o));  // KV spends all n bits on Lloyd-Max
}

}  // namespace
}  // namespace dpq

namespace dpq::app {
namespace {

// A codebook to N digits works at its own precision and leaves the caller's exactly as it was: in a
// long-lived process (Python) the next audit must run at the documented precision, not the codebook's.
TEST(Codebook, leaves_the_callers_precision_alone) {
  const int before = ref::precision_bits();
  const CodebookReport r = make_codebook(8, 2, 30);
  EXPECT_NE(r.precision_bits, before);  // it did work at another precision
  EXPECT_EQ(ref::precision_bits(), before);
  {
    const ref::PrecisionScope scope(512);
    EXPECT_GE(ref::precision_bits(), 512);
  }
  EXPECT_EQ(ref::precision_bits(), before);  // and restoring is exact (no round trip through bits)
}

}  // namespace
}  // namespace dpq::app
