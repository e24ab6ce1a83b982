// deltapq audit FILE [--tensor NAME] [--bits B] [--budget TOTAL] [--kappa K] [--precision BITS] [--small-sample] [--json OUT]
//                [--pq MxBITS [--pq-transform identity|eigenbasis|soft-zca] [--zca-eps REL] [--seed N]]
#include <iostream>

#include "args.h"
#include "commands.h"
#include "progress.h"
#include "deltapq/app/audit.h"
#include "deltapq/app/report.h"
#include "deltapq/app/stream_audit.h"
#include "deltapq/core/atomic_file.h"
#include "deltapq/core/error.h"
#include "deltapq/core/npy.h"
#include "deltapq/core/tensor_file.h"

namespace dpq::cli {

int run_audit(int argc, char** argv) {
  Args args(argc, argv, {"--tensor", "--bits", "--budget", "--kappa", "--precision", "--json", "--csv", "--pq", "--pq-transform", "--zca-eps", "--seed",
                         "--replicates", "--confidence", "--bootstrap-seed", "--jobs"},
            {"--small-sample", "--no-bootstrap", "--quiet"});
  const auto json_out = args.output("--json");
  const auto csv_out = args.csv_output("--csv");
  if (args.positional().size() != 1) throw Error("audit takes exactly one input FILE (.npy, .npz or .safetensors)");
  const std::string input = args.positional()[0];
  app::AuditOptions opt;
  // --precision BITS: every certified quantity on the full MPFR path at that precision (no double first pass).
  if (auto p = args.integer("--precision", 64, 16384)) {
    ref::set_precision_bits(static_cast<int>(*p));
    opt.full_precision = true;
  }
  opt.allow_small_sample = args.on("--small-sample");
  opt.bootstrap = parse_bootstrap(args);
  if (auto b = args.integer("--bits", 0, kMaxBits)) opt.bits = static_cast<int>(*b);
  if (args.text("--kappa") == std::optional<std::string>("auto"))
    opt.kappa_auto = true;  // chosen on V's eigen-coordinates by the reference (ref::mse_optimal_kappa)
  else if (auto k = args.real("--kappa", true))
    opt.kappa = ref::Real(*k);
  const NpyMatrix m = read_stream_tensor(input, args.text("--tensor"));
  if (auto b = args.integer("--budget", 0, static_cast<long long>(kMaxBits * m.cols))) opt.budget = static_cast<int>(*b);
  if (m.rows < 2) throw Error(input + ": T = " + std::to_string(m.rows) + " rows; the delta stream needs T >= 2");
  if (auto pq = args.text("--pq")) {
    ref::PqOptions po;
    po.shape = ref::parse_pq_shape(*pq, static_cast<int>(m.cols), "--pq");
    if (auto t = args.text("--pq-transform")) po.transform = ref::parse_pq_transform(*t);
    if (auto e = args.real("--zca-eps", true)) po.zca_eps_rel = ref::Real(*e);
    if (auto s = args.integer("--seed", 0, 1LL << 53)) po.kmeans.seed = static_cast<std::uint64_t>(*s);
    if (m.rows - 1 < static_cast<std::size_t>(po.shape.centroids()))
      throw Error(input + ": " + std::to_string(m.rows - 1) + " delta rows, but --pq " + *pq + " needs at least 2^" +
                  std::to_string(po.shape.bits) + " = " + std::to_string(po.shape.centroids()) + " rows per source");
    opt.pq = po;
  } else {
    for (const char* f : {"--pq-transform", "--zca-eps", "--seed"})
      if (args.has(f)) throw Error(std::string(f) + " needs --pq MxBITS");
  }

  opt.jobs = static_cast<int>(args.integer("--jobs", 1, 1024).value_or(app::default_jobs()));
  app::AuditReport report;
  {
    Progress progress("audit", "% of the estimated work", args.on("--quiet"));
    if (progress.enabled()) opt.progress = [&progress](std::size_t done, std::size_t total) { progress.update(done, total); };
    report = app::run_audit(m.data, m.rows, m.cols, opt, input);
  }
  app::print_text(report, std::cout);
  write_report(json_out, csv_out, app::to_json(report));
  return report.claim_fails() ? 1 : 0;
}

}  // namespace dpq::cli
