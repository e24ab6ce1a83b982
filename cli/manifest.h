// Reading a kvdump manifest.json (shared by audit-stream and paper-check --kv).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

namespace dpq::cli {

// Throws dpq::Error naming the file when it is missing, not JSON, or has no "files" array.
nlohmann::json read_manifest(const std::filesystem::path& dir);

}  // namespace dpq::cli
