// The MPI world of one deltapq run. Under mpirun / srun (Open MPI's or PMIx's environment is set) the
// process joins MPI and `distribution()` deals work over the ranks; otherwise it is a single process
// and MPI is never initialised. Finalises on destruction.
#pragma once

#include <memory>

#include "deltapq/app/distribute.h"

namespace dpq::cli {

class MpiWorld {
 public:
  MpiWorld(int& argc, char**& argv);
  ~MpiWorld();
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;
  int rank() const { return dist_.rank; }
  int size() const { return dist_.size; }
  // Null for a single process.
  const app::Distribution* distribution() const { return dist_.distributed() ? &dist_ : nullptr; }
  // Whether this rank's part of the exchange is over (sent, or at rank 0 everything received).
  bool exchanged() const { return *exchanged_; }

 private:
  app::Distribution dist_;
  bool initialised_ = false;
  std::shared_ptr<bool> exchanged_ = std::make_shared<bool>(false);
};

// The run's world (set by main), for the commands that distribute work.
const MpiWorld& mpi_world();

}  // namespace dpq::cli
