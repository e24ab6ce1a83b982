// deltapq vectors --out DIR
// deltapq gate --design D.json --input X.npy --codes C.npy [--decoded Y.npy [--bf16]] [--norms N.npy]
//              [--signs S.npy] [--residual-norms R.npy] [--refused M.npy] [--json OUT]
// deltapq gate --vectors DIR --outputs DIR2 [--json OUT]
// deltapq gate --plugin LIB.so [--design D.json] [--seed N] [--cases N] [--max-batch N] [--timeout S]
//              [--no-fork] [--json OUT]
#include <iostream>

#include "args.h"
#include "commands.h"
#include "deltapq/app/gate.h"
#include "deltapq/app/gate_plugin_runner.h"
#include "deltapq/core/atomic_file.h"
#include "deltapq/core/error.h"
#include "deltapq/core/npy.h"

namespace dpq::cli {

int run_vectors(int argc, char** argv) {
  Args args(argc, argv, {"--out"}, {});
  if (!args.positional().empty()) throw Error("vectors takes no positional argument: '" + args.positional()[0] + "'");
  const auto out = args.text("--out");
  if (!out) throw Error("vectors needs --out DIR");
  app::write_gate_vectors(*out);
  const auto cases = app::gate_vector_cases();
  std::size_t rows = 0;
  for (const auto& c : cases) rows += c.rows;
  std::cout << "wrote " << cases.size() << " cases (" << rows << " rows) to " << *out << " (format deltapq-gate-vectors, version "
            << app::kGateVectorsVersion << "; vectors.json describes every file)\n";
  return 0;
}

int run_gate(int argc, char** argv) {
  Args args(argc, argv,
            {"--design", "--input", "--codes", "--decoded", "--norms", "--signs", "--residual-norms", "--refused", "--json", "--csv", "--vectors",
             "--outputs", "--plugin", "--seed", "--cases", "--max-batch", "--timeout"},
            {"--bf16", "--no-fork"});
  if (!args.positional().empty()) throw Error("gate takes no positional argument: '" + args.positional()[0] + "'");
  const auto json_out = args.output("--json");
  const auto csv_out = args.csv_output("--csv");
  const std::vector<std::string> file_opts{"--input", "--codes", "--decoded", "--norms", "--signs", "--residual-norms", "--refused"};
  const std::vector<std::string> plugin_opts{"--seed", "--cases", "--max-batch", "--timeout", "--no-fork"};
  if (auto lib = args.text("--plugin")) {
    if (args.any_of(file_opts) || args.has("--vectors") || args.has("--outputs"))
      throw Error("gate --plugin takes --design, --seed, --cases, --max-batch, --timeout, --no-fork and --json only");
    app::GatePluginOptions o;
    o.design_path = args.text("--design");
    if (auto s = args.integer("--seed", 0, std::numeric_limits<long long>::max())) o.seed = static_cast<std::uint64_t>(*s);
    o.cases = static_cast<int>(args.integer("--cases", 1, 1000000).value_or(o.cases));
    o.max_batch = static_cast<int>(args.integer("--max-batch", 1, 100000).value_or(o.max_batch));
    o.timeout_seconds = static_cast<int>(args.integer("--timeout", 1, 3600).value_or(o.timeout_seconds));
    o.fork = !args.on("--no-fork");
    const app::GatePluginReport r = app::run_gate_plugin(*lib, o);
    app::print_text(r, std::cout);
    write_report(json_out, csv_out, app::to_json(r));
    return r.passes() ? 0 : 1;
  }
  for (const auto& p : plugin_opts)
    if (args.has(p) || args.on(p)) throw Error("gate: " + p + " needs --plugin LIB.so");
  if (args.has("--vectors") || args.has("--outputs")) {
    const auto vectors = args.text("--vectors"), outputs = args.text("--outputs");
    if (!vectors || !outputs) throw Error("gate --vectors DIR needs --outputs DIR2 (your kernel's outputs, one directory per case)");
    if (args.any_of(file_opts) || args.has("--design")) throw Error("gate --vectors takes --outputs and --json only");
    const app::GateCorpusReport r = app::check_gate_corpus(*vectors, *outputs);
    app::print_text(r, std::cout);
    write_report(json_out, csv_out, app::to_json(r));
    return r.passes() ? 0 : 1;
  }
  const auto design = args.text("--design"), input = args.text("--input"), codes = args.text("--codes");
  if (!design || !input || !codes)
    throw Error("gate needs --design D.json --input X.npy --codes C.npy, or --vectors DIR --outputs DIR2, or --plugin LIB.so");
  if (args.on("--bf16") && !args.has("--decoded")) throw Error("gate: --bf16 describes --decoded, which is missing");
  const app::GateDesign g = app::read_gate_design(*design);
  NpyReadOptions f;
  f.allow_non_finite = true;  // non-finite rows are cases the kernel must refuse
  const NpyArray x = read_npy_array(*input, f);
  if (x.dtype.size() >= 2 && x.dtype.substr(1) == "f8")
    throw Error(*input + ": dtype float64; the gate checks float32 kernels on float32 inputs (save the rows your kernel saw, as float32)");
  if (x.shape.size() != 2 || x.shape[1] != static_cast<std::size_t>(g.dim()))
    throw Error(*input + ": shape must be [n, " + std::to_string(g.dim()) + "] (the design's dim)");
  const app::GateOutputs o =
      app::read_gate_outputs(g, x.shape[0], *codes, args.text("--decoded").value_or(""), args.on("--bf16"), args.text("--norms").value_or(""),
                             args.text("--signs").value_or(""), args.text("--residual-norms").value_or(""), args.text("--refused").value_or(""));
  const std::vector<float> xf(x.data.begin(), x.data.end());
  const app::GateReport r = app::check_gate(g, xf.data(), x.shape[0], o);
  app::print_text(r, "gate " + *codes, std::cout);
  write_report(json_out, csv_out, app::to_json(r));
  return r.passes() ? 0 : 1;
}

}  // namespace dpq::cli
