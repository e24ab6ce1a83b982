// Shared by the libFuzzer harnesses: the readers take paths, so each input is written to a per-process
// scratch file first. A dpq::Error is the expected outcome of most inputs (a clear refusal); anything
// else -- a crash, a sanitizer report, another exception escaping -- is a finding.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

namespace dpq::fuzz {

inline std::string scratch(const std::string& name) {
  return "/tmp/dpq_fuzz_" + std::to_string(static_cast<long>(::getpid())) + "_" + name;
}

inline std::string write_scratch(const std::string& name, const std::uint8_t* data, std::size_t size) {
  const std::string path = scratch(name);
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                static_cast<std::streamsize>(size));
  return path;
}

}  // namespace dpq::fuzz
