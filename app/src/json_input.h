// Internal: reading a JSON input file of the application layer (manifests, codebook tables, designs)
// with one wording for its errors.
#pragma once

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "deltapq/core/error.h"
#include "deltapq/core/limits.h"

namespace dpq::app::detail {

// Throws dpq::Error "PATH: <missing>" when the file cannot be opened, "PATH: not valid JSON: ..." when
// it does not parse.
inline nlohmann::json read_json_file(const std::string& path, const std::string& missing) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec) require_bytes(size * 16, path + ": parsing " + std::to_string(size) + " bytes of JSON");  // the parse tree
  std::ifstream in(path);
  if (!in) throw Error(path + ": " + missing);
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw Error(path + ": not valid JSON: " + e.what());
  }
}

}  // namespace dpq::app::detail
