// The one documented limit on memory whose size comes from an input (a shape in a header, a
// checkpoint's sizes, a command-line count): every such allocation is checked here before it
// happens, so a small hostile file can never request gigabytes. The limit is 4 GiB by default and
// the environment variable DPQ_MAX_BYTES (a byte count, e.g. 17179869184) changes it; data that a
// file actually holds is bounded by the file's size as well (each reader checks that first).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

namespace dpq {

inline constexpr std::uint64_t kDefaultMaxBytes = std::uint64_t{4} << 30;

// DPQ_MAX_BYTES if set (throws dpq::Error when it is not a positive integer), else 4 GiB.
std::uint64_t max_bytes();
// Throws dpq::Error "WHAT needs N bytes, above the limit of M bytes (DPQ_MAX_BYTES)" when bytes > max_bytes().
void require_bytes(std::uint64_t bytes, const std::string& what);
// The product of the factors, or a dpq::Error naming `what` when it overflows 64 bits.
std::uint64_t checked_product(std::initializer_list<std::uint64_t> factors, const std::string& what);

}  // namespace dpq
