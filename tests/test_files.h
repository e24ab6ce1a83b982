// Helpers to write well-formed and deliberately broken .npy files for the tests.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <functional>

#include "deltapq/core/error.h"
#include <cstring>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace dpq::testing {

inline std::string temp_path(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("deltapq_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

// A raw .npy v1.0 file with the given header dictionary and payload bytes.
inline void write_raw_npy(const std::string& path, const std::string& dict, const std::vector<unsigned char>& payload,
                          const std::string& magic = "\x93NUMPY") {
  std::string header = dict;
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(magic.data(), static_cast<std::streamsize>(magic.size()));
  const unsigned char ver[4] = {1, 0, static_cast<unsigned char>(header.size() & 0xff),
                                static_cast<unsigned char>(header.size() >> 8)};
  out.write(reinterpret_cast<const char*>(ver), 4);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(payload.data()), static_cast<std::streamsize>(payload.size()));
}

// The message of the dpq::Error that f throws, or "" when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const dpq::Error& e) {
    return e.what();
  }
  return "";
}

// The folder holding the shared model: DPQ_MODELS, else ../shared/models next to the repository.
inline std::string shared_models() {
  const char* env = std::getenv("DPQ_MODELS");
  return env && *env ? env : std::string(DPQ_SOURCE_DIR) + "/../shared/models";
}

// In a test body: the shared model must be there. Locally its absence skips the test with a message
// saying so; under CI (CI set in the environment, as .ci/run has it) it is a failure, so the
// real-model tests can never pass by not running.
#define DPQ_REQUIRE_SHARED_MODEL(path)                                                               \
  if (!std::filesystem::exists(path)) {                                                              \
    const std::string dpq_missing_ = std::string("the shared model is absent: no ") + (path) +        \
                                     " (set DPQ_MODELS to the folder holding stories260K.bin)";       \
    if (std::getenv("CI")) FAIL() << dpq_missing_;                                                   \
    GTEST_SKIP() << dpq_missing_;                                                                    \
  }

inline std::vector<unsigned char> f8_bytes(const std::vector<double>& v) {
  std::vector<unsigned char> b(v.size() * 8);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

}  // namespace dpq::testing
