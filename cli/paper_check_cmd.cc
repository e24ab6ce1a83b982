// deltapq paper-check [--quick] [--seed N] [--kv DIR|FILE [--layout AXES] ...] [--model M --tokenizer T --text FILE]
// [--json OUT]: the D8 grid, the paper's findings, and (with a model) the schemes downstream.
#include <iostream>

#include "args.h"
#include "commands.h"
#include "mpi_world.h"
#include "progress.h"
#include "deltapq/app/paper_check.h"
#include "deltapq/app/report.h"
#include "deltapq/app/stream_audit.h"
#include "deltapq/core/atomic_file.h"
#include "deltapq/core/error.h"

namespace dpq::cli {

int run_paper_check(int argc, char** argv) {
  Args args(argc, argv,
            {"--json", "--csv", "--seed", "--kv", "--layout", "--kind", "--batch", "--keys", "--jobs", "--model", "--tokenizer",
             "--text", "--max-tokens", "--qjl", "--kv-codebook", "--norms", "--queries", "--low-rank"},
            {"--quick", "--quiet", "--sensitivity"});
  const auto json_out = args.output("--json");
  const auto csv_out = args.csv_output("--csv");
  if (!args.positional().empty()) throw Error("paper-check takes no positional argument: '" + args.positional()[0] + "'");
  app::PaperCheckOptions opt;
  opt.quick = args.on("--quick");
  opt.seed = static_cast<std::uint64_t>(args.integer("--seed", 0, 1LL << 62).value_or(2026));
  opt.kv_dir = args.text("--kv");
  opt.kv_layout = parse_kv_layout(args);
  if (!opt.kv_dir && (opt.kv_layout.axes || opt.kv_layout.kind || opt.kv_layout.batch || opt.kv_layout.keys_pre))
    throw Error("--layout, --kind, --batch and --keys describe the tensor file of --kv; there is none");
  {
    const auto m = args.text("--model"), t = args.text("--tokenizer"), text = args.text("--text");
    const auto max_tokens = args.integer("--max-tokens", 2, 1 << 30);
    if (m || t || text || max_tokens) {
      if (!m || !t || !text) throw Error("paper-check: the downstream check needs all of --model, --tokenizer and --text");
      opt.model = app::PaperCheckOptions::ModelInput{*m, *t, *text, {}};
      if (max_tokens) opt.model->max_tokens = static_cast<int>(*max_tokens);
    }
  }
  for (const auto& [flag, name] : {std::pair<const char*, const char*>{"--qjl", "qjl"}, {"--kv-codebook", "kv_codebook"},
                                   {"--norms", "norms"}, {"--queries", "queries"}, {"--low-rank", "low_rank"}})
    if (auto v = args.text(flag)) {
      if (args.on("--sensitivity"))
        throw Error(std::string("paper-check: --sensitivity varies ") + flag + " itself; leave it out");
      app::set_choice(opt.form, name, *v);
    }
  opt.sensitivity = args.on("--sensitivity");
  opt.jobs = static_cast<int>(args.integer("--jobs", 1, 1024).value_or(app::default_jobs()));
  opt.distribution = mpi_world().distribution();
  app::PaperCheckReport r;
  {
    Progress progress("paper-check", "cells", args.on("--quiet") || mpi_world().rank() != 0);
    if (progress.enabled()) opt.progress = [&progress](std::size_t done, std::size_t total) { progress.update(done, total); };
    r = app::paper_check(opt);
  }
  if (!r.complete) return 0;  // an MPI rank other than 0: its cells are in rank 0's report
  app::print_text(r, std::cout);
  write_report(json_out, csv_out, app::to_json(r));
  // Exit codes as everywhere: 1 when a claim whose premises hold fails -- here a finding of the paper
  // on the grid it defines.
  for (const auto& f : r.findings)
    if (!f.holds) return 1;
  if (r.downstream)  // downstream, a finding fails only when the intervals decide it
    for (const auto& f : r.downstream->findings)
      if (f.verdict == Verdict::fails) return 1;
  return 0;
}

}  // namespace dpq::cli
