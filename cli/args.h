// A small strict command-line parser: every value is checked and every error names the option.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "deltapq/app/kv_source.h"
#include "deltapq/app/uncertainty.h"
#include "deltapq/reference/pq.h"

namespace dpq::cli {

class Args {
 public:
  // argv after the subcommand. `flags` lists the options that take a value ("--bits"), `switches`
  // those that do not ("--quick"). Anything else starting with "--" is an error; the rest are
  // positional arguments.
  // Flags in `repeatable` may be given several times (every value kept, in order); any other flag twice
  // is an error.
  Args(int argc, char** argv, const std::vector<std::string>& flags, const std::vector<std::string>& switches,
       const std::vector<std::string>& repeatable = {});

  const std::vector<std::string>& positional() const { return positional_; }
  bool has(const std::string& flag) const { return values_.count(flag) > 0; }
  bool on(const std::string& sw) const { return switches_on_.count(sw) > 0; }
  std::optional<std::string> text(const std::string& flag) const;  // a repeatable flag: its first value
  std::vector<std::string> all(const std::string& flag) const;     // every value of a repeatable flag
  // Integer in [lo, hi]; throws dpq::Error naming the option and the value otherwise.
  std::optional<long long> integer(const std::string& flag, long long lo, long long hi) const;
  // Finite real number; `positive` requires > 0.
  std::optional<double> real(const std::string& flag, bool positive) const;
  // The value of an output option (e.g. --json), checked to be writable before any work is done.
  std::optional<std::string> output(const std::string& flag) const;
  // The directory of a CSV export (--csv DIR): a new directory in an existing parent, or a previous
  // export (it holds summary.csv), checked before any work is done.
  std::optional<std::string> csv_output(const std::string& flag) const;
  // Every option given, in no particular order (for "--x needs --y" checks).
  bool any_of(const std::vector<std::string>& flags) const;

 private:
  std::vector<std::string> positional_;
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> repeated_;
  std::map<std::string, bool> switches_on_;
};

// Writes the report's JSON (--json) and its tables as CSV (--csv DIR), each whole or not at all.
void write_report(const std::optional<std::string>& json_out, const std::optional<std::string>& csv_out, const std::string& json);

// --replicates R, --confidence C, --bootstrap-seed N, --no-bootstrap (the source layer's options).
app::BootstrapOptions parse_bootstrap(const Args& args);

// --layout AXES, --kind KIND, --batch I, --keys pre|post: how a tensor file's tensors map to KV streams.
inline const std::vector<std::string> kKvLayoutFlags = {"--layout", "--kind", "--batch", "--keys"};
app::KvLayout parse_kv_layout(const Args& args);


}  // namespace dpq::cli
