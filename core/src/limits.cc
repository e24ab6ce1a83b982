#include "deltapq/core/limits.h"

#include <cstdlib>

#include "deltapq/core/error.h"

namespace dpq {

std::uint64_t max_bytes() {
  const char* env = std::getenv("DPQ_MAX_BYTES");
  if (!env || !*env) return kDefaultMaxBytes;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(env, &end, 10);
  if (*end != '\0' || v == 0 || env[0] == '-')
    throw Error(std::string("DPQ_MAX_BYTES = '") + env + "' is not a positive byte count");
  return v;
}

void require_bytes(std::uint64_t bytes, const std::string& what) {
  const std::uint64_t limit = max_bytes();
  if (bytes > limit)
    throw Error(what + " needs " + std::to_string(bytes) + " bytes, above the limit of " + std::to_string(limit) +
                " bytes (set DPQ_MAX_BYTES to allow more)");
}

std::uint64_t checked_product(std::initializer_list<std::uint64_t> factors, const std::string& what) {
  std::uint64_t p = 1;
  for (std::uint64_t f : factors) {
    if (f != 0 && p > UINT64_MAX / f) throw Error(what + ": the size overflows 64 bits");
    p *= f;
  }
  return p;
}

}  // namespace dpq
