#include "deltapq/app/kvdump.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>

#include "deltapq/core/atomic_file.h"
#include "deltapq/core/error.h"
#include "deltapq/core/npy.h"
#include "json_input.h"

namespace dpq::app {
namespace {

namespace fs = std::filesystem;

std::string manifest_path(const std::string& dir) { return (fs::path(dir) / "manifest.json").string(); }

// A relative path inside the dump: not absolute, no "..", no temporary of an interrupted write.
void check_relative(const std::string& where, const std::string& path) {
  if (path.empty()) throw Error(where + ": path is empty");
  // A NUL would make the file opened differ from the path checked here (the OS stops at it).
  for (const unsigned char c : path)
    if (c < 0x20 || c == 0x7f) throw Error(where + ": path contains control character " + std::to_string(int(c)));
  const fs::path p(path);
  if (p.is_absolute()) throw Error(where + ": path '" + path + "' is absolute; paths are relative to the dump directory");
  for (const auto& part : p)
    if (part == "..") throw Error(where + ": path '" + path + "' leaves the dump directory");
  if (is_temporary_path(path)) throw Error(where + ": path '" + path + "' names a temporary of an interrupted write");
}

int int_field(const nlohmann::json& e, const std::string& where, const char* key, int lo, int hi) {
  if (!e.contains(key)) throw Error(where + ": no \"" + key + "\"");
  const auto& v = e.at(key);
  if (!v.is_number_integer()) throw Error(where + ": \"" + key + "\" = " + v.dump() + " is not an integer");
  const auto x = v.get<long long>();
  if (x < lo || x > hi)
    throw Error(where + ": \"" + key + "\" = " + std::to_string(x) + " is outside " + std::to_string(lo) + ".." + std::to_string(hi));
  return static_cast<int>(x);
}

std::string string_field(const nlohmann::json& e, const std::string& where, const char* key) {
  if (!e.contains(key)) throw Error(where + ": no \"" + key + "\"");
  const auto& v = e.at(key);
  if (!v.is_string()) throw Error(where + ": \"" + key + "\" = " + v.dump() + " is not a string");
  return v.get<std::string>();
}

constexpr int kMaxIndex = 1 << 20;

void read_array_fields(const nlohmann::json& e, const std::string& where, KvArray& a) {
  a.path = string_field(e, where, "path");
  check_relative(where, a.path);
  for (const char* key : {"bytes", "fnv1a64"})
    if (e.contains(key)) {
      if (!e.at(key).is_number_unsigned()) throw Error(where + ": \"" + key + "\" = " + e.at(key).dump() + " is not an unsigned integer");
      (std::string(key) == "bytes" ? a.bytes : a.fnv1a64) = e.at(key).get<std::uint64_t>();
    }
}

}  // namespace

std::string KvManifest::resolve(const std::string& relative) const { return (fs::path(dir) / relative).string(); }

const KvFile* KvManifest::find(int layer, int head, const std::string& kind) const {
  for (const KvFile& f : files)
    if (f.layer == layer && f.head == head && f.kind == kind) return &f;
  return nullptr;
}

KvManifest read_kv_manifest(const std::string& dir) {
  const std::string path = manifest_path(dir);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(dir + ": no such directory (run deltapq kvdump first)");
  const nlohmann::json j = detail::read_json_file(path, "no manifest (run deltapq kvdump first)");
  if (!j.is_object() || !j.contains("files") || !j.at("files").is_array()) throw Error(path + ": no 'files' array");
  KvManifest m;
  m.dir = dir;
  std::set<std::tuple<int, int, std::string>> seen;
  for (std::size_t i = 0; i < j.at("files").size(); ++i) {
    const auto& e = j.at("files")[i];
    const std::string where = path + ": files[" + std::to_string(i) + "]";
    if (!e.is_object()) throw Error(where + " is not an object");
    KvFile f;
    f.layer = int_field(e, where, "layer", 0, kMaxIndex);
    f.head = int_field(e, where, "head", 0, kMaxIndex);
    f.kind = string_field(e, where, "kind");
    if (f.kind != "k_pre" && f.kind != "k_post" && f.kind != "v")
      throw Error(where + ": \"kind\" = \"" + f.kind + "\" is not one of k_pre, k_post, v");
    read_array_fields(e, where, f);
    if (!seen.insert({f.layer, f.head, f.kind}).second)
      throw Error(where + ": layer " + std::to_string(f.layer) + ", head " + std::to_string(f.head) + ", kind " + f.kind +
                  " is listed twice");
    m.files.push_back(f);
  }
  if (m.files.empty()) throw Error(path + ": 'files' lists no stream: nothing to audit");
  if (j.contains("queries")) {
    if (!j.at("queries").is_array()) throw Error(path + ": 'queries' is not an array");
    m.has_queries = true;
    for (std::size_t i = 0; i < j.at("queries").size(); ++i) {
      const auto& e = j.at("queries")[i];
      const std::string where = path + ": queries[" + std::to_string(i) + "]";
      if (!e.is_object()) throw Error(where + " is not an object");
      KvQuery q;
      q.layer = int_field(e, where, "layer", 0, kMaxIndex);
      q.query_head = int_field(e, where, "query_head", 0, kMaxIndex);
      q.kv_head = int_field(e, where, "kv_head", 0, kMaxIndex);
      read_array_fields(e, where, q);
      m.queries.push_back(q);
    }
  }
  return m;
}

pipeline::Stream load_stream(const KvManifest& manifest, const KvArray& array) {
  const std::string path = manifest.resolve(array.path);
  if (array.bytes || array.fnv1a64) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": listed in manifest.json but cannot be read");
    std::ostringstream ss;
    ss << in.rdbuf();
    const std::string bytes = ss.str();
    if (array.bytes && bytes.size() != *array.bytes)
      throw Error(path + ": has " + std::to_string(bytes.size()) + " bytes but manifest.json records " +
                  std::to_string(*array.bytes) + " (the dump was changed or is incomplete)");
    if (array.fnv1a64 && fnv1a64(bytes) != *array.fnv1a64)
      throw Error(path + ": content does not match the FNV-1a hash in manifest.json (the dump was changed)");
  }
  const NpyMatrix a = read_npy(path);
  pipeline::Stream s{a.rows, a.cols, {}};
  s.data.assign(a.data.begin(), a.data.end());
  return s;
}

}  // namespace dpq::app
