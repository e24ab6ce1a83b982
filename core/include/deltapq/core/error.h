// The one exception type of deltapq. Its message names the bad value and where it came from
// (file, row, column, argument); the CLI prints it on one line and exits with code 2.
#pragma once

#include <stdexcept>
#include <string>

namespace dpq {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace dpq
