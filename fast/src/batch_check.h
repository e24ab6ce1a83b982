// Internal: the fast path's one wording for a non-finite input value (E2): "NaN in the batch at row r,
// column c" (or Inf), optionally prefixed with the operation.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>

#include "deltapq/core/error.h"

namespace dpq::fast::detail {

// flat = row * d + column of the offending value x[flat].
[[noreturn]] inline void throw_non_finite(const std::string& what, const float* x, std::size_t flat, std::size_t d) {
  throw Error((what.empty() ? std::string() : what + ": ") + (std::isnan(x[flat]) ? "NaN" : "Inf") +
              " in the batch at row " + std::to_string(flat / d) + ", column " + std::to_string(flat % d));
}

// Throws on the first non-finite value of the n x d row-major batch x.
inline void require_finite_batch(const std::string& what, const float* x, std::size_t n, std::size_t d) {
  for (std::size_t k = 0; k < n * d; ++k)
    if (!std::isfinite(x[k])) throw_non_finite(what, x, k, d);
}

}  // namespace dpq::fast::detail
