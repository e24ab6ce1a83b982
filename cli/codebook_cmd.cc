// deltapq codebook --dim D --bits B [--digits N] [--json OUT]
// deltapq codebook --check TABLE.json --dim D --bits B [--max-excess PCT] [--json OUT]
#include <iostream>

#include "args.h"
#include "commands.h"
#include "deltapq/app/codebook.h"
#include "deltapq/app/report.h"
#include "deltapq/core/atomic_file.h"
#include "deltapq/core/error.h"

namespace dpq::cli {

int run_codebook(int argc, char** argv) {
  Args args(argc, argv, {"--dim", "--bits", "--digits", "--json", "--csv", "--check", "--max-excess"}, {});
  const auto json_out = args.output("--json");
  const auto csv_out = args.csv_output("--csv");
  if (!args.positional().empty()) throw Error("codebook takes no positional argument: '" + args.positional()[0] + "'");
  const auto dim = args.integer("--dim", 2, 1 << 20);
  const auto bits = args.integer("--bits", 1, 8);
  if (!dim || !bits) throw Error("codebook needs --dim D (>= 2) and --bits B (1..8)");
  const int digits = static_cast<int>(args.integer("--digits", 1, 200).value_or(40));
  if (auto table = args.text("--check")) {
    const double max_excess = args.real("--max-excess", false).value_or(1.0);
    const app::CodebookCheckReport r =
        app::check_codebook_file(*table, static_cast<int>(*dim), static_cast<int>(*bits), max_excess);
    app::print_text(r, std::cout);
    write_report(json_out, csv_out, app::to_json(r));
    return r.fails ? 1 : 0;
  }
  const app::CodebookReport r = app::make_codebook(static_cast<int>(*dim), static_cast<int>(*bits), digits);
  app::print_text(r, std::cout);
  write_report(json_out, csv_out, app::to_json(r));
  return 0;
}

}  // namespace dpq::cli
