#include "args.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "deltapq/app/report_csv.h"
#include "deltapq/core/atomic_file.h"
#include "deltapq/core/error.h"

namespace dpq::cli {

Args::Args(int argc, char** argv, const std::vector<std::string>& flags, const std::vector<std::string>& switches,
           const std::vector<std::string>& repeatable) {
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--", 0) == 0) {
      if (std::find(switches.begin(), switches.end(), a) != switches.end()) {
        switches_on_[a] = true;
      } else if (std::find(flags.begin(), flags.end(), a) != flags.end()) {
        if (i + 1 >= argc) throw Error("option " + a + " needs a value");
        const bool again = std::find(repeatable.begin(), repeatable.end(), a) != repeatable.end();
        if (values_.count(a) && !again) throw Error("option " + a + " given twice");
        repeated_[a].push_back(argv[++i]);
        values_.emplace(a, repeated_[a].back());
      } else {
        throw Error("unknown option " + a);
      }
    } else {
      positional_.push_back(a);
    }
  }
}

std::optional<std::string> Args::text(const std::string& flag) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Args::all(const std::string& flag) const {
  auto it = repeated_.find(flag);
  return it == repeated_.end() ? std::vector<std::string>{} : it->second;
}

std::optional<long long> Args::integer(const std::string& flag, long long lo, long long hi) const {
  auto t = text(flag);
  if (!t) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(t->c_str(), &end, 10);
  if (t->empty() || *end != '\0' || errno == ERANGE)
    throw Error(flag + " = '" + *t + "' is not an integer");
  if (v < lo || v > hi)
    throw Error(flag + " = " + *t + " is outside " + std::to_string(lo) + ".." + std::to_string(hi));
  return v;
}

std::optional<double> Args::real(const std::string& flag, bool positive) const {
  auto t = text(flag);
  if (!t) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(t->c_str(), &end);
  if (t->empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v))
    throw Error(flag + " = '" + *t + "' is not a finite number");
  if (positive && !(v > 0)) throw Error(flag + " = " + *t + " must be > 0");
  return v;
}

std::optional<std::string> Args::output(const std::string& flag) const {
  auto t = text(flag);
  if (t) {
    try {
      check_output_path(*t);
    } catch (const Error& e) {
      throw Error(flag + ": " + e.what());
    }
  }
  return t;
}

std::optional<std::string> Args::csv_output(const std::string& flag) const {
  auto t = text(flag);
  if (!t) return t;
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path p(*t);
  if (t->empty()) throw Error(flag + ": empty directory name");
  if (fs::exists(p, ec)) {
    if (!fs::is_directory(p, ec)) throw Error(flag + " " + *t + ": exists and is not a directory");
    if (!fs::is_empty(p, ec) && !fs::exists(p / "summary.csv", ec))
      throw Error(flag + " " + *t + ": a non-empty directory that is not a previous CSV export (no summary.csv); not replaced");
  } else {
    const fs::path parent = p.has_parent_path() ? p.parent_path() : fs::path(".");
    if (!fs::is_directory(parent, ec)) throw Error(flag + " " + *t + ": the parent directory " + parent.string() + " does not exist");
  }
  return t;
}

void write_report(const std::optional<std::string>& json_out, const std::optional<std::string>& csv_out, const std::string& json) {
  if (json_out) write_file_atomically(*json_out, json);
  if (csv_out) app::write_csv_tables(*csv_out, json);
}

bool Args::any_of(const std::vector<std::string>& flags) const {
  for (const auto& f : flags)
    if (has(f) || on(f)) return true;
  return false;
}

app::BootstrapOptions parse_bootstrap(const Args& args) {
  app::BootstrapOptions o;
  o.enabled = !args.on("--no-bootstrap");
  if (auto r = args.integer("--replicates", 20, 100000)) o.replicates = static_cast<int>(*r);
  if (auto c = args.real("--confidence", true)) o.confidence = *c;
  if (auto s = args.integer("--bootstrap-seed", 0, 1LL << 62)) o.seed = static_cast<std::uint64_t>(*s);
  app::validate(o);
  return o;
}

app::KvLayout parse_kv_layout(const Args& args) {
  app::KvLayout l;
  l.axes = args.text("--layout");
  l.kind = args.text("--kind");
  if (auto b = args.integer("--batch", 0, 1LL << 30)) l.batch = static_cast<std::size_t>(*b);
  if (auto k = args.text("--keys")) {
    if (*k != "pre" && *k != "post") throw Error("--keys '" + *k + "' must be pre or post");
    l.keys_pre = *k == "pre";
  }
  return l;
}

}  // namespace dpq::cli
