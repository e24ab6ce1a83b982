// Work split over the processes of one run: MPI ranks under mpirun / srun, or a single process. The
// workflows take a Distribution and compute only their items; `gather` brings every item's result (as
// bytes: app/report_wire.h) to rank 0, which assembles the same report a single process would.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace dpq::app {

struct Distribution {
  int rank = 0, size = 1;
  // Collective: every rank passes the (item index, payload) pairs it computed; rank 0 receives all n
  // payloads in item order (each index 0..n-1 exactly once, or dpq::Error), the other ranks an empty vector.
  std::function<std::vector<std::string>(const std::vector<std::pair<std::size_t, std::string>>&, std::size_t n)> gather;
  // Items are dealt round-robin: item i belongs to rank i mod size.
  bool mine(std::size_t item) const { return static_cast<int>(item % static_cast<std::size_t>(size)) == rank; }
  bool distributed() const { return size > 1; }
};

}  // namespace dpq::app
