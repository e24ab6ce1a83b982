// The paper-check command through the CLI: the paper-shaped table, the formalization choices and
// --sensitivity, and the downstream check on the shared model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cli_support.h"

namespace dpq {
namespace {

using testing::CliRun;
using testing::read_json;
using testing::run;

TEST(Cli, paper_check_quick_reports_every_finding) {
  const auto json = testing::temp_path("pc.json");
  const CliRun r = run("paper-check --quick --json " + json);
  const auto j = read_json(json);
  ASSERT_EQ(j["findings"].size(), 3u);
  bool any_fails = false;
  for (const auto& f : j["findings"]) any_fails = any_fails || f["verdict"] == "fails";
  EXPECT_EQ(r.code, any_fails ? 1 : 0) << r.out;  // the exit-code rule: a failing finding is exit 1
  for (const auto& f : j["findings"]) {
    const std::string v = f["verdict"];
    EXPECT_TRUE(v == "holds" || v == "fails") << v;
    EXPECT_FALSE(f["evidence"].get<std::string>().empty());
  }
  // 5 regimes x 2 dims x 3 budgets x 6 metrics.
  EXPECT_EQ(j["table"].size(), 180u);
  for (const auto& row : j["table"]) {
    EXPECT_GE(row["permutation_p"].get<double>(), 1.0 / 200);
    EXPECT_LE(std::fabs(row["rank_biserial_r"].get<double>()), 1.0);
    // The paper's pairs: the winner-vs-runner-up r is one of them (or KV vs QKQV) up to its sign.
    for (const char* pair : {"kqv_vs_kv", "qkqv_vs_kqv"}) {
      EXPECT_GE(row[pair]["permutation_p"].get<double>(), 1.0 / 200) << pair;
      EXPECT_LE(std::fabs(row[pair]["rank_biserial_r"].get<double>()), 1.0) << pair;
      EXPECT_GE(row[pair]["energy_distance"].get<double>(), -1e-12) << pair;
    }
    const std::string w = row["winner"], ru = row["runner_up"];
    const double r = row["rank_biserial_r"];
    if ((w == "KQV" && ru == "KV") || (w == "KV" && ru == "KQV")) {
      EXPECT_DOUBLE_EQ(r, (w == "KQV" ? 1 : -1) * row["kqv_vs_kv"]["rank_biserial_r"].get<double>());
    }
    if ((w == "QKQV" && ru == "KQV") || (w == "KQV" && ru == "QKQV")) {
      EXPECT_DOUBLE_EQ(r, (w == "QKQV" ? 1 : -1) * row["qkqv_vs_kqv"]["rank_biserial_r"].get<double>());
    }
  }
  EXPECT_EQ(run("paper-check --frobnicate").code, 2);
}

TEST(Cli, paper_check_each_formalization_choice_changes_what_it_names_and_nothing_else) {
  const auto base_json = testing::temp_path("pc_form_default.json");
  run("paper-check --quick --quiet --json " + base_json);
  const auto base = read_json(base_json);
  ASSERT_EQ(base["formalization"]["qjl"], "reconstruction");
  // Which (scheme, metric, data) medians a choice may move; every other median must stay bit-identical,
  // and at least one it may move must move (a choice that changes nothing is dead).
  struct Expect {
    std::string flag, key, value;
    std::function<bool(const std::string& scheme, const std::string& metric, const std::string& data)> may_move;
  };
  auto one_of = [](const std::string& m, std::initializer_list<const char*> names) {
    return std::any_of(names.begin(), names.end(), [&](const char* n) { return m == n; });
  };
  const std::vector<Expect> cases = {
      // Only the geometric view of the QJL sides (QKQV's K, KQV's and QKQV's V): scores and outputs use
      // the same estimate either way.
      {"--qjl estimator", "qjl", "estimator",
       [&](const std::string& s, const std::string& m, const std::string&) {
         return (s == "QKQV" && one_of(m, {"k_dir", "k_norm", "v_rel_mse", "six_d"})) ||
                (s == "KQV" && one_of(m, {"v_rel_mse", "six_d"}));
       }},
      {"--kv-codebook gaussian", "kv_codebook", "gaussian", [](const std::string& s, const std::string&, const std::string&) { return s == "KV"; }},
      {"--kv-codebook empirical", "kv_codebook", "empirical", [](const std::string& s, const std::string&, const std::string&) { return s == "KV"; }},
      // The QJL sides' sketches shrink: KQV's V (not its keys, so not its KL) and all of QKQV.
      {"--norms charged", "norms", "charged",
       [&](const std::string& s, const std::string& m, const std::string&) {
         return s == "QKQV" || (s == "KQV" && one_of(m, {"v_rel_mse", "out_dir", "six_d"}));
       }},
      {"--queries gaussian", "queries", "gaussian",
       [](const std::string&, const std::string& m, const std::string&) { return m == "kl" || m == "out_dir" || m == "six_d"; }},
      {"--low-rank noisy", "low_rank", "noisy",
       [](const std::string&, const std::string&, const std::string& d) { return d.rfind("low_rank", 0) == 0; }},
  };
  const char* schemes[] = {"KV", "KQV", "QKQV"};
  for (const Expect& c : cases) {
    const auto out = testing::temp_path("pc_form.json");
    const CliRun r = run("paper-check --quick --quiet " + c.flag + " --json " + out);
    ASSERT_TRUE(r.code == 0 || r.code == 1) << c.flag << r.out;
    const auto j = read_json(out);
    EXPECT_EQ(j["formalization"][c.key], c.value) << c.flag;
    ASSERT_EQ(j["table"].size(), base["table"].size());
    int moved = 0;
    for (std::size_t i = 0; i < j["table"].size(); ++i) {
      const auto &a = base["table"][i], &b = j["table"][i];
      for (int k = 0; k < 3; ++k) {
        const bool differs = a["median"][schemes[k]] != b["median"][schemes[k]];
        if (!c.may_move(schemes[k], a["metric"], a["data"])) {
          EXPECT_FALSE(differs) << c.flag << ": " << a.dump() << " vs " << b.dump();
        }
        moved += differs;
      }
    }
    EXPECT_GT(moved, 0) << c.flag << " changed no median";
  }
  const CliRun bad = run("paper-check --quick --qjl sometimes");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.out.find("qjl = 'sometimes' is not one of reconstruction, estimator"), std::string::npos) << bad.out;
  const CliRun both = run("paper-check --quick --sensitivity --norms charged");
  EXPECT_EQ(both.code, 2);
  EXPECT_NE(both.out.find("--sensitivity varies --norms itself"), std::string::npos) << both.out;
}

TEST(Cli, paper_check_sensitivity_reports_every_combination_and_what_flips_each_finding) {
  const auto json = testing::temp_path("pc_sensitivity.json");
  const CliRun r = run("paper-check --quick --quiet --sensitivity --json " + json);
  ASSERT_TRUE(r.code == 0 || r.code == 1) << r.out;
  const auto j = read_json(json);
  const auto& sens = j["sensitivity"];
  const auto& runs = sens["runs"];
  ASSERT_EQ(runs.size(), 48u);  // 2 x 3 x 2 x 2 x 2
  std::set<std::string> labels;
  for (const auto& run : runs) labels.insert(run["label"].get<std::string>());
  EXPECT_EQ(labels.size(), 48u);
  EXPECT_EQ(runs[0]["label"], "default");
  for (std::size_t f = 0; f < 3; ++f) {  // runs[0] is the report's own grid
    EXPECT_EQ(runs[0]["findings"][f]["verdict"], j["findings"][f]["verdict"]);
    EXPECT_EQ(runs[0]["findings"][f]["cells_agreeing"], j["findings"][f]["cells_agreeing"]);
  }
  // The robustness summary, recomputed from the runs.
  ASSERT_EQ(sens["robustness"].size(), 3u);
  for (std::size_t f = 0; f < 3; ++f) {
    const auto& rob = sens["robustness"][f];
    const std::string base = runs[0]["findings"][f]["verdict"];
    int holds = 0;
    bool robust = true;
    std::map<std::string, std::pair<int, int>> by_value;  // "choice=value" -> (runs, flips)
    for (const auto& run : runs) {
      const std::string v = run["findings"][f]["verdict"];
      holds += v == "holds";
      robust = robust && v == base;
      for (const auto& [name, value] : run["formalization"].items())
        if (value != runs[0]["formalization"][name]) {
          auto& [n, k] = by_value[name + "=" + value.get<std::string>()];
          ++n;
          k += v != base;
        }
    }
    EXPECT_EQ(rob["holds_in"], holds);
    EXPECT_EQ(rob["runs"], 48);
    EXPECT_EQ(rob["robust"], robust);
    std::vector<std::string> flips;
    for (const auto& [value, counts] : by_value)
      if (counts.second > 0)
        flips.push_back(value + ": " + std::to_string(counts.second) + " of " + std::to_string(counts.first) + " runs flip it");
    std::vector<std::string> reported = rob["flipped_by"];
    std::sort(flips.begin(), flips.end());
    std::sort(reported.begin(), reported.end());
    EXPECT_EQ(reported, flips);
  }
  EXPECT_NE(r.out.find("Sensitivity to the formalization: every combination"), std::string::npos);
}

TEST(Cli, paper_check_judges_the_findings_downstream_on_the_shared_model) {
  const auto [m, t, text] = testing::model_files();
  DPQ_REQUIRE_SHARED_MODEL(m);
  const auto json = testing::temp_path("pc_model.json");
  std::filesystem::remove(json);
  const CliRun r = run("paper-check --quick --model " + m + " --tokenizer " + t + " --text " + text + " --max-tokens 128 --json " + json);
  const auto j = read_json(json);
  ASSERT_TRUE(j.contains("downstream")) << r.out;
  const auto& ds = j["downstream"];
  EXPECT_EQ(ds["tokens"], 128);
  EXPECT_EQ(ds["head_dim"], 8);
  EXPECT_DOUBLE_EQ(ds["confidence_each"].get<double>(), 1 - 0.05 / 6);  // 2 pairs x 3 budgets, Bonferroni
  ASSERT_EQ(ds["rows"].size(), 9u);  // 3 budgets x 3 schemes
  ASSERT_EQ(ds["pairs"].size(), 6u);
  for (const auto& row : ds["rows"]) {
    EXPECT_GT(row["kl"].get<double>(), 0) << row.dump();
    ASSERT_TRUE(row["delta_nll_ci"].is_array()) << row.dump();
    EXPECT_LE(row["delta_nll_ci"][0].get<double>(), row["delta_nll_ci"][1].get<double>());
  }
  // Each pair's difference is the difference of its schemes' rows (the same fp32 pass, the same tokens).
  for (const auto& p : ds["pairs"]) {
    double a = 0, b = 0;
    for (const auto& row : ds["rows"])
      if (row["n"] == p["n"]) {
        if (row["scheme"] == p["a"]) a = row["delta_nll"];
        if (row["scheme"] == p["b"]) b = row["delta_nll"];
      }
    EXPECT_NEAR(p["nll_a_minus_b"].get<double>(), a - b, 1e-9 * (1 + std::fabs(a) + std::fabs(b))) << p.dump();
    const std::string v = p["a_worse_for_the_source"];
    const double lo = p["ci"][0], hi = p["ci"][1];
    EXPECT_EQ(v, lo > 0 ? "holds" : hi < 0 ? "fails" : "undecided") << p.dump();
  }
  ASSERT_EQ(ds["findings"].size(), 2u);
  bool fails = false;
  for (const auto& f : j["findings"]) fails = fails || f["verdict"] == "fails";
  for (const auto& f : ds["findings"]) fails = fails || f["verdict"] == "fails";
  EXPECT_EQ(r.code, fails ? 1 : 0) << r.out;
  EXPECT_NE(r.out.find("Downstream: "), std::string::npos) << r.out;

  // Bad downstream input: exit 2 before any cell runs, no report written.
  const auto none = testing::temp_path("pc_model_bad.json");
  std::filesystem::remove(none);
  const CliRun partial = run("paper-check --quick --model " + m + " --text " + text + " --json " + none);
  EXPECT_EQ(partial.code, 2);
  EXPECT_NE(partial.out.find("needs all of --model, --tokenizer and --text"), std::string::npos) << partial.out;
  const CliRun missing = run("paper-check --quick --model " + m + " --tokenizer " + t + " --text " +
                             testing::temp_path("no_such_text.txt") + " --json " + none);
  EXPECT_EQ(missing.code, 2) << missing.out;
  EXPECT_NE(missing.out.find("no_such_text.txt"), std::string::npos) << missing.out;
  EXPECT_FALSE(std::filesystem::exists(none));
}

}  // namespace
}  // namespace dpq
