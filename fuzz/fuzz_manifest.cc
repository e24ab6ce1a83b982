// kvdump manifest reader: any manifest.json must give entries with in-range fields and paths inside
// the directory, or a dpq::Error; loading each listed array must give finite rows or a dpq::Error.
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "deltapq/app/kvdump.h"
#include "deltapq/core/error.h"
#include "deltapq/core/npy.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string dir = [] {
    const std::string d = dpq::fuzz::scratch("dump");
    std::filesystem::create_directories(d);
    dpq::write_npy(d + "/a.npy", 4, 2, {1, 2, 3, 4, 5, 6, 7, 8}, true);  // one real array to point at
    return d;
  }();
  std::ofstream(dir + "/manifest.json", std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  try {
    const dpq::app::KvManifest m = dpq::app::read_kv_manifest(dir);
    for (const auto& f : m.files) {
      // The oracle is the contract, not a stricter guess: "a..npy" is a legal name, a ".." component is not.
      const std::filesystem::path p(f.path);
      if (f.path.empty() || p.is_absolute() || f.path.find('\0') != std::string::npos) std::abort();
      for (const auto& part : p)
        if (part == "..") std::abort();
      try {
        const auto s = dpq::app::load_stream(m, f);
        for (float v : s.data)
          if (!std::isfinite(v)) std::abort();
      } catch (const dpq::Error&) {
      }
    }
  } catch (const dpq::Error&) {
  }
  return 0;
}
