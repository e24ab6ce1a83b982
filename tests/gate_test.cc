// The gate (issue: "deltapq checks other people's quantizer kernels"): the checker on the corpus and on
// mutated outputs, the plugin runner on the example plugins (deltapq's own fast path and plain C++
// kernels must pass; each shipped bug must be caught, shrunk to a minimal batch), and plugins that
// crash, hang, fail or violate the ABI.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "cli_run.h"
#include "deltapq/app/gate.h"
#include "deltapq/app/gate_plugin_runner.h"
#include "deltapq/core/atomic_file.h"
#include "deltapq/core/error.h"
#include "deltapq/core/npy.h"

namespace fs = std::filesystem;
using dpq::app::GateFamily;
using dpq::testing::run_cli;

namespace {

std::string plugin(const std::string& name) { return std::string(DPQ_GATE_PLUGIN_DIR) + "/" + name + ".so"; }
std::string test_plugin(const std::string& name) { return std::string(DPQ_GATE_TEST_PLUGIN_DIR) + "/" + name + ".so"; }

dpq::app::GatePluginReport run(const std::string& lib, int cases = 100, std::uint64_t seed = 20261201, int max_batch = 64, int timeout = 20) {
  dpq::app::GatePluginOptions o;
  o.seed = seed;
  o.cases = cases;
  o.max_batch = max_batch;
  o.timeout_seconds = timeout;
  return dpq::app::run_gate_plugin(lib, o);
}

fs::path scratch(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("dpq_gate_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p;
}

dpq::NpyArray load(const fs::path& p) {
  dpq::NpyReadOptions o;
  o.integers = true;
  o.allow_non_finite = true;
  return dpq::read_npy_array(p.string(), o);
}

void save(const fs::path& p, const dpq::NpyArray& a, const std::string& dtype) {
  dpq::write_file_atomically(p.string(), dpq::npy_bytes_typed(a.shape, a.data, dtype));
}

// A perfect kernel's outputs for every case of the corpus: the reference's own expected values, every
// row the status marks refused (1 must, 2 may) refused.
void write_perfect_outputs(const fs::path& vectors, const fs::path& outputs) {
  for (const auto& c : dpq::app::gate_vector_cases()) {
    const fs::path in = vectors / c.name, out = outputs / c.name;
    fs::create_directories(out);
    save(out / "codes.npy", load(in / "expected.npy"), "<i4");
    save(out / "decoded.npy", load(in / "expected_decoded.npy"), "<f4");
    dpq::NpyArray st = load(in / "status.npy");
    for (double& v : st.data) v = v != 0;
    save(out / "refused.npy", st, "|u1");
    if (c.design.family == GateFamily::turbo) {
      save(out / "norms.npy", load(in / "expected_norms.npy"), "<f4");
      if (c.design.qjl_rows()) {
        save(out / "signs.npy", load(in / "expected_signs.npy"), "|u1");
        save(out / "residual_norms.npy", load(in / "expected_residual_norms.npy"), "<f4");
      }
    }
  }
}

}  // namespace

// ---- the checker ----

TEST(GateChecker, TheReferencesOwnExpectationsPassEveryCase) {
  const fs::path v = scratch("v1"), o = scratch("o1");
  dpq::app::write_gate_vectors(v.string());
  write_perfect_outputs(v, o);
  const auto r = dpq::app::check_gate_corpus(v.string(), o.string());
  EXPECT_EQ(r.cases.size(), dpq::app::gate_vector_cases().size());
  for (const auto& [name, c] : r.cases) {
    EXPECT_TRUE(c.passes()) << name << ": " << dpq::app::to_json(c);
    EXPECT_GT(c.codes.exact, 0u) << name;
    EXPECT_EQ(c.unchecked_non_finite, 0u) << name;
  }
  fs::remove_all(v);
  fs::remove_all(o);
}

TEST(GateChecker, EachMutationOfAPerfectKernelIsCaughtWhereItIs) {
  const fs::path v = scratch("v2"), o = scratch("o2");
  dpq::app::write_gate_vectors(v.string());
  write_perfect_outputs(v, o);
  // One code moved out of its acceptable set, in a case with exact boundaries.
  const fs::path c1 = o / "scalar_d80_b4";
  dpq::NpyArray codes = load(c1 / "codes.npy");
  const dpq::NpyArray lo = load(v / "scalar_d80_b4" / "acceptable_lo.npy"), hi = load(v / "scalar_d80_b4" / "acceptable_hi.npy");
  const std::size_t row = 5, col = 17, k = row * 80 + col;
  codes.data[k] = hi.data[k] < 15 ? hi.data[k] + 1 : lo.data[k] - 1;
  save(c1 / "codes.npy", codes, "<i4");
  // A non-finite row accepted (turbo) and a valid row refused (pq).
  dpq::NpyArray ref_turbo = load(o / "turbo_d96_b2_dense" / "refused.npy");
  const dpq::NpyArray st = load(v / "turbo_d96_b2_dense" / "status.npy");
  std::size_t nan_row = 0;
  while (st.data[nan_row] != 1) ++nan_row;
  ref_turbo.data[nan_row] = 0;
  save(o / "turbo_d96_b2_dense" / "refused.npy", ref_turbo, "|u1");
  dpq::NpyArray ref_pq = load(o / "pq_d7_m1_b3" / "refused.npy");
  ref_pq.data[0] = 1;
  save(o / "pq_d7_m1_b3" / "refused.npy", ref_pq, "|u1");
  // A reconstruction off by 1e-3 (far beyond its float32 bound).
  dpq::NpyArray dec = load(o / "scalar_d96_basis" / "decoded.npy");
  dec.data[3 * 96 + 4] += 1e-3;
  save(o / "scalar_d96_basis" / "decoded.npy", dec, "<f4");

  const auto r = dpq::app::check_gate_corpus(v.string(), o.string());
  EXPECT_FALSE(r.passes());
  for (const auto& [name, c] : r.cases) {
    if (name == "scalar_d80_b4") {
      EXPECT_EQ(c.codes.wrong, 1u);
      ASSERT_FALSE(c.worst.empty());
      EXPECT_EQ(c.worst[0].what, "code");
      EXPECT_EQ(c.worst[0].row, row);
      EXPECT_EQ(c.worst[0].column, col);
    } else if (name == "turbo_d96_b2_dense") {
      EXPECT_EQ(c.refusals_wrong, 1u);
      EXPECT_EQ(c.worst.at(0).row, nan_row);
    } else if (name == "pq_d7_m1_b3") {
      EXPECT_EQ(c.refusals_wrong, 1u);
      EXPECT_EQ(c.worst.at(0).expected, "accepted (a valid row)");
    } else if (name == "scalar_d96_basis") {
      EXPECT_EQ(c.decoded_wrong, 1u);
      EXPECT_EQ(c.worst.at(0).row, 3u);
      EXPECT_EQ(c.worst.at(0).column, 4u);
    } else {
      EXPECT_TRUE(c.passes()) << name;
    }
  }
  fs::remove_all(v);
  fs::remove_all(o);
}

TEST(GateChecker, OutOfRangeAndUnwrittenOutputsAreWrongNotCrashes) {
  dpq::Design<float> ds;
  ds.bits = {2, 2};
  ds.clip = {1.0f, 1.0f};
  const auto g = dpq::app::gate_design_of(ds);
  const std::vector<float> x{0.1f, -0.3f, 0.6f, 0.2f};
  dpq::app::GateOutputs o;
  o.rows = 2;
  o.codes = {2, 1, 9, -2147483648LL};
  const auto r = dpq::app::check_gate(g, x.data(), 2, o);
  EXPECT_EQ(r.codes.exact, 2u);
  EXPECT_EQ(r.codes.wrong, 2u);
  EXPECT_EQ(r.worst.at(0).what, "code out of range");
  // A shape mismatch is bad input (dpq::Error), not a finding.
  o.codes.pop_back();
  EXPECT_THROW(dpq::app::check_gate(g, x.data(), 2, o), dpq::Error);
}

TEST(GateChecker, AnExactTieMustGoToItsTieRuleCell) {
  // Per channel, clip 1, 2 bits (step 1/2, exact): x = 0 is on the boundary between cells 1 and 2
  // and the float arithmetic is exact there, so only the upper cell is right.
  dpq::Design<float> ds;
  ds.bits = {2};
  ds.clip = {1.0f};
  const auto g = dpq::app::gate_design_of(ds);
  const float x = 0.0f;
  dpq::app::GateOutputs o;
  o.rows = 1;
  o.codes = {1};
  EXPECT_EQ(dpq::app::check_gate(g, &x, 1, o).codes.wrong, 1u);
  o.codes = {2};
  EXPECT_EQ(dpq::app::check_gate(g, &x, 1, o).codes.exact, 1u);
  // A clip that is not a power of two makes the same point inexact: both cells acceptable.
  ds.clip = {0.7f};
  const auto g2 = dpq::app::gate_design_of(ds);
  const float x2 = std::nextafter(0.0f, 1.0f);
  o.codes = {1};
  const auto r = dpq::app::check_gate(g2, &x2, 1, o);
  EXPECT_EQ(r.codes.wrong + r.codes.exact, 0u) << "1 ulp above 0 with an inexact step is an acceptable set";
}

// ---- the plugin runner ----

TEST(GatePlugins, DeltapqsOwnFastPathPassesItsOwnGate) {
  for (const char* p : {"gate_correct_fast_scalar_channel", "gate_correct_fast_scalar_eigen", "gate_correct_fast_turbo",
                        "gate_correct_fast_turbo_qjl", "gate_correct_fast_turbo_dense", "gate_correct_fast_pq"}) {
    const auto r = run(plugin(p));
    EXPECT_TRUE(r.passes()) << p << ": " << dpq::app::to_json(r);
    EXPECT_EQ(r.cases, 100) << p;
    EXPECT_GT(r.codes.exact, 1000u) << p;
    EXPECT_TRUE(r.decode_checked) << p;
  }
}

TEST(GatePlugins, ThePlainUserKernelsPassSoTheirBugVariantsFailOnlyForTheBug) {
  for (const char* p : {"gate_correct_user_turbo", "gate_correct_user_scalar"}) {
    const auto r = run(plugin(p));
    EXPECT_TRUE(r.passes()) << p << ": " << dpq::app::to_json(r);
  }
}

TEST(GatePlugins, EveryShippedBugIsCaughtAndShrunkToOneRow) {
  struct Expect {
    const char* name;
    bool codes_wrong, decoded_wrong;
  };
  for (const Expect& e : {Expect{"gate_bug_lloydmax_narrow", true, true}, Expect{"gate_bug_thresholds_as_centroids", true, true},
                          Expect{"gate_bug_qjl_no_sqrt_d", false, true}, Expect{"gate_bug_boundary_lower", true, false},
                          Expect{"gate_bug_zero_nan", false, true}}) {
    const auto r = run(plugin(e.name));
    ASSERT_FALSE(r.passes()) << e.name << " was not caught";
    const auto& f = *r.failure;
    EXPECT_EQ(f.what, "wrong outputs") << e.name;
    EXPECT_EQ(f.row_kinds.size(), 1u) << e.name << ": the counterexample is not minimal";
    EXPECT_EQ(f.report.codes.wrong > 0, e.codes_wrong) << e.name;
    if (e.decoded_wrong) {
      EXPECT_GT(f.report.decoded_wrong, 0u) << e.name;
    }
  }
}

TEST(GatePlugins, TheBugsAreCaughtOnTheirOwnKindOfRow) {
  // NaN on the zero vector: the minimal row is one a float kernel sees as zero.
  const auto z = run(plugin("gate_bug_zero_nan"));
  ASSERT_FALSE(z.passes());
  const std::string kind = z.failure->row_kinds.at(0);
  EXPECT_TRUE(kind == "zero" || kind == "signed zeros" || kind == "subnormal") << kind;
  EXPECT_GT(z.failure->report.residual_wrong, 0u);
  // Ties to the lower cell: only a value exactly on a boundary shows it.
  const auto b = run(plugin("gate_bug_boundary_lower"));
  ASSERT_FALSE(b.passes());
  for (const auto& o : b.failure->report.worst) {
    const std::size_t col = o.column;
    const float v = b.failure->rows.at(col);
    const float c = std::ldexp(1.0f, static_cast<int>(col % 4) - 1), mu = static_cast<float>(static_cast<int>(col % 5) - 2) * 0.25f;
    const double t = (static_cast<double>(v) - mu + c) / (c / 4);
    EXPECT_EQ(t, std::floor(t)) << "a wrong code off a boundary: column " << col << ", value " << v;
  }
}

TEST(GatePlugins, TheSeedReproducesTheRun) {
  const auto a = run(plugin("gate_bug_lloydmax_narrow"), 100, 77), b = run(plugin("gate_bug_lloydmax_narrow"), 100, 77);
  EXPECT_EQ(dpq::app::to_json(a), dpq::app::to_json(b));
  const auto c = run(plugin("gate_correct_fast_turbo"), 50, 5), d = run(plugin("gate_correct_fast_turbo"), 50, 5);
  EXPECT_EQ(c.rows_checked, d.rows_checked);
  EXPECT_EQ(c.codes.acceptable, d.codes.acceptable);
}

TEST(GatePlugins, ACrashAHangAndAnErrorStatusAreFailuresOfTheirBatch) {
  const auto crash = run(test_plugin("gate_test_crash_on_nan"));
  ASSERT_FALSE(crash.passes());
  EXPECT_EQ(crash.failure->what, "encode crashed (SIGSEGV)");
  ASSERT_EQ(crash.failure->row_kinds.size(), 1u);
  EXPECT_EQ(crash.failure->row_kinds[0], "NaN (must be refused)");

  const auto hang = run(test_plugin("gate_test_hang_on_zero"), 30, 3, 4, 1);
  ASSERT_FALSE(hang.passes());
  EXPECT_EQ(hang.failure->what, "encode did not return within 1 s");
  ASSERT_EQ(hang.failure->row_kinds.size(), 1u);
  const std::string k = hang.failure->row_kinds[0];
  EXPECT_TRUE(k == "zero" || k == "signed zeros") << k;

  const auto status = run(test_plugin("gate_test_status_on_big"));
  ASSERT_FALSE(status.passes());
  EXPECT_EQ(status.failure->what, "encode returned 7");
  EXPECT_EQ(status.failure->row_kinds.size(), 4u) << "the smallest batch the plugin fails on";

  const auto skip = run(test_plugin("gate_test_skips_last_row"));
  ASSERT_FALSE(skip.passes());
  EXPECT_EQ(skip.failure->row_kinds.size(), 1u);
  EXPECT_EQ(skip.failure->report.worst.at(0).what, "code out of range");
}

TEST(GatePlugins, ABIViolationsAreBadInputBeforeAnyCall) {
  auto message = [](const std::string& lib) {
    try {
      run(lib, 1);
    } catch (const dpq::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(test_plugin("gate_test_bad_abi")).find("ABI version 99"), std::string::npos);
  EXPECT_NE(message(test_plugin("gate_test_dim_mismatch")).find("declares dim 9"), std::string::npos);
  EXPECT_NE(message(test_plugin("gate_test_no_encode")).find("dpq_gate_encode_v1"), std::string::npos);
  EXPECT_NE(message("/nonexistent/plugin.so").find("cannot load the plugin"), std::string::npos);
}

// ---- the CLI ----

TEST(GateCli, PluginModeExitCodesAndReproduceLine) {
  const auto ok = run_cli("gate --plugin " + plugin("gate_correct_fast_turbo") + " --seed 3 --cases 30");
  EXPECT_EQ(ok.code, 0) << ok.out;
  EXPECT_NE(ok.out.find("verdict: passes"), std::string::npos) << ok.out;
  EXPECT_EQ(ok.out.find("Using configuration"), std::string::npos) << "RapidCheck's own banner leaks: " << ok.out;
  const auto bad = run_cli("gate --plugin " + plugin("gate_bug_lloydmax_narrow") + " --seed 3 --cases 30");
  EXPECT_EQ(bad.code, 1) << bad.out;
  EXPECT_NE(bad.out.find("--seed 3"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("minimal counterexample"), std::string::npos) << bad.out;
}

TEST(GateCli, FileModeOnOneDesign) {
  const fs::path v = scratch("cli_v");
  ASSERT_EQ(run_cli("vectors --out " + v.string()).code, 0);
  const fs::path c = v / "turbo_d128_b4_hadamard";
  const fs::path o = scratch("cli_o");
  fs::create_directories(o);
  save(o / "codes.npy", load(c / "expected.npy"), "<i4");
  save(o / "norms.npy", load(c / "expected_norms.npy"), "<f4");
  dpq::NpyArray st = load(c / "status.npy");
  for (double& s : st.data) s = s != 0;
  save(o / "refused.npy", st, "|u1");
  const std::string base = "gate --design " + (c / "design.json").string() + " --input " + (c / "input.npy").string() + " --codes " +
                           (o / "codes.npy").string() + " --norms " + (o / "norms.npy").string();
  const auto pass = run_cli(base + " --refused " + (o / "refused.npy").string() + " --json " + (o / "r.json").string());
  EXPECT_EQ(pass.code, 0) << pass.out;
  EXPECT_TRUE(fs::exists(o / "r.json"));
  // Without the refusal mask the non-finite rows are reported unchecked, not failed (the rows that may
  // be refused are dropped here: without a mask they are checked, and their norms overflow float32).
  {
    const dpq::NpyArray x = load(c / "input.npy"), codes = load(o / "codes.npy"), norms = load(o / "norms.npy");
    dpq::NpyArray xs{{0, 128}, "", {}}, cs{{0, 128}, "", {}}, ns{{0}, "", {}};
    for (std::size_t r = 0; r < st.data.size(); ++r) {
      if (load(c / "status.npy").data[r] == 2) continue;
      xs.data.insert(xs.data.end(), x.data.begin() + static_cast<std::ptrdiff_t>(r * 128), x.data.begin() + static_cast<std::ptrdiff_t>((r + 1) * 128));
      cs.data.insert(cs.data.end(), codes.data.begin() + static_cast<std::ptrdiff_t>(r * 128), codes.data.begin() + static_cast<std::ptrdiff_t>((r + 1) * 128));
      ns.data.push_back(norms.data[r]);
      ++xs.shape[0];
      ++cs.shape[0];
      ++ns.shape[0];
    }
    save(o / "x_some.npy", xs, "<f4");
    save(o / "codes_some.npy", cs, "<i4");
    save(o / "norms_some.npy", ns, "<f4");
  }
  const auto unchecked = run_cli("gate --design " + (c / "design.json").string() + " --input " + (o / "x_some.npy").string() + " --codes " +
                                 (o / "codes_some.npy").string() + " --norms " + (o / "norms_some.npy").string());
  EXPECT_EQ(unchecked.code, 0) << unchecked.out;
  EXPECT_NE(unchecked.out.find("non-finite rows unchecked"), std::string::npos) << unchecked.out;
  // Bad input: exit 2 with the file named.
  const auto no_norms = run_cli("gate --design " + (c / "design.json").string() + " --input " + (c / "input.npy").string() + " --codes " +
                                (o / "codes.npy").string());
  EXPECT_EQ(no_norms.code, 2) << no_norms.out;
  EXPECT_NE(no_norms.out.find("norms"), std::string::npos) << no_norms.out;
  const auto wrong_shape = run_cli("gate --design " + (v / "scalar_d7_mixed" / "design.json").string() + " --input " +
                                   (c / "input.npy").string() + " --codes " + (o / "codes.npy").string());
  EXPECT_EQ(wrong_shape.code, 2) << wrong_shape.out;
  EXPECT_NE(wrong_shape.out.find("input.npy"), std::string::npos) << wrong_shape.out;
  const auto no_outputs = run_cli("gate --vectors " + v.string() + " --outputs " + o.string());
  EXPECT_EQ(no_outputs.code, 2) << no_outputs.out;
  dpq::write_file_atomically((o / "bad.json").string(), "{\"family\": \"turbo\", \"dim\": 4, \"bits\": 9}");
  const auto bad_design = run_cli("gate --design " + (o / "bad.json").string() + " --input " + (c / "input.npy").string() + " --codes " +
                                  (o / "codes.npy").string());
  EXPECT_EQ(bad_design.code, 2) << bad_design.out;
  EXPECT_NE(bad_design.out.find("\"bits\" = 9"), std::string::npos) << bad_design.out;
  fs::remove_all(v);
  fs::remove_all(o);
}
