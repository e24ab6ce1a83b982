#include "manifest.h"

#include <fstream>

#include "deltapq/core/error.h"

namespace dpq::cli {

nlohmann::json read_manifest(const std::filesystem::path& dir) {
  const std::string path = (dir / "manifest.json").string();
  std::ifstream in(path);
  if (!in) throw Error(path + ": no manifest (run deltapq kvdump first)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw Error(path + ": not valid JSON: " + e.what());
  }
  if (!j.contains("files") || !j["files"].is_array()) throw Error(path + ": no 'files' array");
  return j;
}

}  // namespace dpq::cli
