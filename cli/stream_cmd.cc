// deltapq audit-stream DIR|FILE [--layout AXES] [--kind K] [--batch I] [--keys pre|post] [--bits B] [--kappa K] [--half-life H] [--theta T] [--eta auto|E] [--pq MxBITS] [--json OUT]
// deltapq eval-nll --model M --tokenizer T --text FILE --kv-scheme S [--bits B] [--kappa K] [--eta auto|E] [--json OUT]
#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "mpi_world.h"
#include "progress.h"
#include "deltapq/app/eval_nll.h"
#include "deltapq/app/report.h"
#include "deltapq/app/stream_audit.h"
#include "deltapq/core/atomic_file.h"
#include "deltapq/core/error.h"
#include "deltapq/model/tokenizer.h"

namespace dpq::cli {
namespace {

app::EtaChoice parse_eta(const Args& args) {
  const auto text = args.text("--eta");
  if (!text || *text == "auto") return {};
  char* end = nullptr;
  const double v = std::strtod(text->c_str(), &end);
  if (end == text->c_str() || *end != '\0' || !(v >= 0 && v < 1))
    throw Error("--eta = '" + *text + "' must be 'auto' or a number in [0, 1)");
  return {false, v};
}

pipeline::MonitorOptions parse_monitor(const Args& args) {
  pipeline::MonitorOptions mon;
  mon.half_life = args.real("--half-life", true).value_or(64.0);
  mon.theta = args.real("--theta", true).value_or(0.8);
  return mon;
}

}  // namespace

int run_audit_stream(int argc, char** argv) {
  Args args(argc, argv, {"--bits", "--kappa", "--json", "--csv", "--half-life", "--theta", "--eta", "--pq", "--replicates", "--confidence",
                         "--bootstrap-seed", "--layout", "--kind", "--batch", "--keys", "--jobs", "--precision"},
            {"--no-bootstrap", "--quiet"});
  const auto json_out = args.output("--json");
  const auto csv_out = args.csv_output("--csv");
  if (args.positional().size() != 1) throw Error("audit-stream takes one kvdump directory or tensor file (.npy, .npz, .safetensors)");
  app::StreamAuditOptions opt;
  // --precision BITS: the full MPFR path at that precision for every alpha* (no double first pass).
  if (auto p = args.integer("--precision", 64, 16384)) {
    ref::set_precision_bits(static_cast<int>(*p));
    opt.full_precision = true;
  }
  opt.eta = parse_eta(args);
  opt.bits = static_cast<int>(args.integer("--bits", 1, 8).value_or(4));
  if (args.text("--kappa") == std::optional<std::string>("auto"))
    opt.kappa_auto = true;  // per stream, chosen by the reference (ref::mse_optimal_kappa)
  else
    opt.kappa = args.real("--kappa", true).value_or(3.0);
  opt.monitor = parse_monitor(args);
  opt.bootstrap = parse_bootstrap(args);
  if (auto pq = args.text("--pq")) {
    // The text is checked here; whether M divides a stream's dimension, per stream (app::audit_streams).
    const auto [blocks, bits] = ref::parse_pq_text(*pq, "--pq");
    opt.pq = ref::PqShape{0, blocks, bits};
    opt.pq_text = *pq;
  }
  opt.jobs = static_cast<int>(args.integer("--jobs", 1, 1024).value_or(app::default_jobs()));
  const app::KvStreams streams = app::open_kv_streams(args.positional()[0], parse_kv_layout(args));
  opt.distribution = mpi_world().distribution();
  app::StreamAuditReport report;
  {
    // Under MPI the line is rank 0's own streams; the other ranks stay quiet.
    Progress progress("audit-stream", "streams", args.on("--quiet") || mpi_world().rank() != 0);
    if (progress.enabled()) opt.progress = [&progress](std::size_t done, std::size_t total) { progress.update(done, total); };
    report = app::audit_streams(streams, opt);
  }
  if (!report.complete) return 0;  // an MPI rank other than 0: its streams are in rank 0's report
  app::print_text(report, std::cout);
  write_report(json_out, csv_out, app::to_json(report));
  return 0;
}

namespace {
// A comma-separated list of distinct integers in [lo, hi] ("--layers 0,2,4", "--bits 2,3,4").
std::vector<int> int_list(const Args& args, const std::string& flag, int lo, int hi, const char* what, const char* example) {
  std::vector<int> out;
  const auto text = args.text(flag);
  if (!text) return out;
  std::size_t at = 0;
  while (at <= text->size()) {
    const std::size_t comma = std::min(text->find(',', at), text->size());
    const std::string item = text->substr(at, comma - at);
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < lo || v > hi)
      throw Error(flag + " = '" + *text + "': '" + item + "' is not " + what + " (e.g. " + flag + " " + example + ")");
    if (std::find(out.begin(), out.end(), static_cast<int>(v)) != out.end())
      throw Error(flag + " = '" + *text + "' names " + item + " twice");
    out.push_back(static_cast<int>(v));
    at = comma + 1;
  }
  return out;
}
}  // namespace

int run_eval_nll(int argc, char** argv) {
  Args args(argc, argv, {"--model", "--tokenizer", "--text", "--kv-scheme", "--bits", "--kappa", "--json", "--csv", "--theta", "--half-life", "--eta",
                         "--replicates", "--confidence", "--bootstrap-seed", "--versus", "--max-tokens", "--part", "--layers", "--jobs"},
            {"--no-bootstrap", "--quiet"}, {"--text"});
  const auto json_out = args.output("--json");
  const auto csv_out = args.csv_output("--csv");
  app::EvalNllOptions opt;
  opt.eta = parse_eta(args);
  const auto m = args.text("--model"), t = args.text("--tokenizer");
  const std::vector<std::string> texts = args.all("--text");
  if (!m || !t || texts.empty()) throw Error("eval-nll needs --model, --tokenizer and --text");
  opt.scheme = pipeline::parse_kv_scheme(args.text("--kv-scheme").value_or("fp32"));
  if (opt.scheme == pipeline::KvScheme::fp32)
    for (const char* f : {"--bits", "--kappa"})
      if (args.has(f)) throw Error(std::string(f) + " has no meaning with --kv-scheme fp32 (the cache is not quantized)");
  std::vector<int> bits = int_list(args, "--bits", 1, 8, "a bit width in 1..8", "2,3,4");
  if (bits.empty()) bits.push_back(4);
  opt.bits = bits.front();
  opt.kappa = args.real("--kappa", true).value_or(3.0);
  if (auto vs = args.text("--versus")) opt.versus = pipeline::parse_kv_scheme(*vs);
  {  // kappa is the clip of the Part C designs; fp32 and the D5 schemes (sphere-marginal codebooks) have none
    auto clipped = [](pipeline::KvScheme s) { return s != pipeline::KvScheme::fp32 && !pipeline::is_d5_scheme(s); };
    if (args.has("--kappa") && !clipped(opt.scheme) && !(opt.versus && clipped(*opt.versus)))
      throw Error(std::string("--kappa has no meaning with --kv-scheme ") + pipeline::to_string(opt.scheme) +
                  " (the D5 schemes kv, kqv, qkqv use the sphere-marginal Lloyd-Max codebook, with no clip)");
  }
  opt.monitor = parse_monitor(args);
  opt.bootstrap = parse_bootstrap(args);
  if (auto part = args.text("--part")) app::set_part(opt, *part, "--part =");
  opt.layers = int_list(args, "--layers", 0, 1 << 20, "a layer index", "0,2,4");
  std::optional<int> max_tokens;
  if (auto n = args.integer("--max-tokens", 2, 1 << 30)) max_tokens = static_cast<int>(*n);
  const int jobs = static_cast<int>(args.integer("--jobs", 1, 1024).value_or(app::default_jobs()));

  if (texts.size() == 1 && bits.size() == 1 && !mpi_world().distribution()) {  // one run
    app::EvalNllReport report;
    {
      Progress progress("eval-nll", "steps (forward passes, eta estimates)", args.on("--quiet"));
      if (progress.enabled()) opt.progress = [&progress](std::size_t done, std::size_t total) { progress.update(done, total); };
      report = app::eval_nll_files(*m, *t, texts.front(), max_tokens, opt);
    }
    app::print_text(report, std::cout);
    write_report(json_out, csv_out, app::to_json(report));
    return 0;
  }
  // A sweep over texts x bit widths: runs on threads (--jobs) and MPI ranks; rank 0 writes it all.
  app::EvalNllSweepOptions sweep_opt;
  sweep_opt.base = opt;
  sweep_opt.bits = bits;
  sweep_opt.max_tokens = max_tokens;
  sweep_opt.jobs = jobs;
  sweep_opt.distribution = mpi_world().distribution();
  app::EvalNllSweep sweep;
  {
    Progress progress("eval-nll", "runs (text x bits)", args.on("--quiet") || mpi_world().rank() != 0);
    if (progress.enabled()) sweep_opt.progress = [&progress](std::size_t done, std::size_t total) { progress.update(done, total); };
    sweep = app::eval_nll_sweep(*m, *t, texts, sweep_opt);
  }
  if (!sweep.complete) return 0;  // an MPI rank other than 0: its runs are in rank 0's report
  app::print_text(sweep, std::cout);
  write_report(json_out, csv_out, app::to_json(sweep));
  return 0;
}

}  // namespace dpq::cli
