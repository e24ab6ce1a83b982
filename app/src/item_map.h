// Internal: a workflow's independent items (audit-stream's streams, paper-check's cells) computed on
// OpenMP threads and, under MPI, over ranks -- the one place that deals, exchanges and orders them.
// Rank 0 (or the single process) gets every result in item order; the first failure in item order is
// rethrown, as one thread would (each worker stops after its own first failure, which cannot hide an
// earlier one); other ranks get nullopt. Results travel as encode(result) / decode(bytes); a
// dpq::Error stays a dpq::Error (bad input, exit 2), anything else an internal error.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "deltapq/app/distribute.h"
#include "deltapq/core/error.h"

namespace dpq::app::detail {

template <class R, class Compute, class Encode, class Decode>
std::optional<std::vector<R>> map_items(std::size_t n, int jobs, const Distribution* distribution, Compute compute,
                                        Encode encode, Decode decode,
                                        const std::function<void(std::size_t, std::size_t)>& progress) {
  const Distribution* dist = distribution && distribution->distributed() ? distribution : nullptr;
  std::vector<std::size_t> mine;  // the items this process computes, in item order
  for (std::size_t i = 0; i < n; ++i)
    if (!dist || dist->mine(i)) mine.push_back(i);
  std::vector<std::optional<R>> results(n);
  std::vector<std::exception_ptr> errors(n);
  std::atomic<std::size_t> done{0};
  std::mutex progress_mutex;
  const std::size_t m = mine.size();
  const int threads = static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(static_cast<std::size_t>(std::max(jobs, 1)), m)));
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (std::size_t k = 0; k < m; ++k) {
    const std::size_t i = mine[k];
    bool skip = false;
    for (std::size_t j = 0; j < i && !skip; ++j) skip = errors[j] != nullptr;  // an earlier item failed
    if (skip) continue;
    try {
      results[i] = compute(i);
    } catch (...) {
      errors[i] = std::current_exception();
    }
    const std::size_t c = ++done;
    if (progress) {
      const std::lock_guard<std::mutex> lock(progress_mutex);
      progress(c, m);
    }
  }
  if (dist) {
    // 'R' + the result, 'E' + a dpq::Error's message, 'I' + any other exception's, 'S' skipped.
    std::vector<std::pair<std::size_t, std::string>> local;
    for (std::size_t i : mine) {
      if (errors[i]) {
        try {
          std::rethrow_exception(errors[i]);
        } catch (const Error& e) {
          local.emplace_back(i, std::string("E") + e.what());
        } catch (const std::exception& e) {
          local.emplace_back(i, std::string("I") + e.what());
        }
      } else {
        local.emplace_back(i, results[i] ? "R" + encode(*results[i]) : std::string("S"));
      }
    }
    const std::vector<std::string> all = dist->gather(local, n);
    if (dist->rank != 0) return std::nullopt;
    for (std::size_t i = 0; i < n; ++i) {
      const std::string& p = all.at(i);
      if (p.empty()) throw std::runtime_error("item " + std::to_string(i) + ": no result from its rank");
      if (p[0] == 'E') errors[i] = std::make_exception_ptr(Error(p.substr(1)));
      if (p[0] == 'I') errors[i] = std::make_exception_ptr(std::runtime_error(p.substr(1)));
      if (p[0] == 'R') results[i] = decode(p.substr(1));
    }
  }
  for (std::size_t i = 0; i < n; ++i)
    if (errors[i]) std::rethrow_exception(errors[i]);
  std::vector<R> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(std::move(*results[i]));
  return out;
}

}  // namespace dpq::app::detail
