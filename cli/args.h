// A small strict command-line parser: every value is checked and every error names the option.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dpq::cli {

class Args {
 public:
  // argv after the subcommand. `flags` lists the options that take a value ("--bits"), `switches`
  // those that do not ("--quick"). Anything else starting with "--" is an error; the rest are
  // positional arguments.
  Args(int argc, char** argv, const std::vector<std::string>& flags, const std::vector<std::string>& switches);

  const std::vector<std::string>& positional() const { return positional_; }
  bool has(const std::string& flag) const { return values_.count(flag) > 0; }
  bool on(const std::string& sw) const { return switches_on_.count(sw) > 0; }
  std::optional<std::string> text(const std::string& flag) const;
  // Integer in [lo, hi]; throws dpq::Error naming the option and the value otherwise.
  std::optional<long long> integer(const std::string& flag, long long lo, long long hi) const;
  // Finite real number; `positive` requires > 0.
  std::optional<double> real(const std::string& flag, bool positive) const;

 private:
  std::vector<std::string> positional_;
  std::map<std::string, std::string> values_;
  std::map<std::string, bool> switches_on_;
};

}  // namespace dpq::cli
