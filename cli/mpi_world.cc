#include "mpi_world.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "deltapq/core/error.h"

#ifdef DPQ_HAVE_MPI
#include <mpi.h>
#endif

namespace dpq::cli {
namespace {

const MpiWorld* g_world = nullptr;

// Launched by an MPI starter: Open MPI's mpirun, or a PMI / PMIx launcher such as Slurm's srun --mpi=pmix.
bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}

#ifdef DPQ_HAVE_MPI
void append_u64(std::string& s, std::uint64_t v) {
  char b[8];
  std::memcpy(b, &v, 8);
  s.append(b, 8);
}
std::uint64_t read_u64(const std::string& s, std::size_t& at) {
  if (at + 8 > s.size()) throw std::runtime_error("MPI gather: a rank's results are truncated");
  std::uint64_t v;
  std::memcpy(&v, s.data() + at, 8);
  at += 8;
  return v;
}

// Messages of at most 1 GiB (MPI counts are int), so a rank's results can be of any size.
constexpr std::size_t kChunk = std::size_t{1} << 30;

void send_bytes(const std::string& s) {
  const std::uint64_t n = s.size();
  MPI_Send(&n, 1, MPI_UINT64_T, 0, 1, MPI_COMM_WORLD);
  for (std::size_t at = 0; at < s.size(); at += kChunk)
    MPI_Send(s.data() + at, static_cast<int>(std::min(kChunk, s.size() - at)), MPI_BYTE, 0, 2, MPI_COMM_WORLD);
}

std::string receive_bytes(int from) {
  std::uint64_t n = 0;
  MPI_Recv(&n, 1, MPI_UINT64_T, from, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  std::string s(n, '\0');
  for (std::size_t at = 0; at < s.size(); at += kChunk)
    MPI_Recv(s.data() + at, static_cast<int>(std::min(kChunk, s.size() - at)), MPI_BYTE, from, 2, MPI_COMM_WORLD,
             MPI_STATUS_IGNORE);
  return s;
}

std::vector<std::string> gather(int rank, int size, const std::vector<std::pair<std::size_t, std::string>>& local,
                                std::size_t n) {
  std::string mine;
  append_u64(mine, local.size());
  for (const auto& [i, payload] : local) {
    append_u64(mine, i);
    append_u64(mine, payload.size());
    mine += payload;
  }
  if (rank != 0) {
    send_bytes(mine);
    return {};
  }
  std::vector<std::string> all(n);
  std::vector<bool> seen(n, false);
  for (int r = 0; r < size; ++r) {
    const std::string s = r == 0 ? mine : receive_bytes(r);
    std::size_t at = 0;
    const std::uint64_t count = read_u64(s, at);
    for (std::uint64_t k = 0; k < count; ++k) {
      const std::uint64_t i = read_u64(s, at), len = read_u64(s, at);
      if (i >= n || seen[i]) throw std::runtime_error("MPI gather: item " + std::to_string(i) + " from rank " + std::to_string(r) + " is out of range or twice");
      if (at + len > s.size()) throw std::runtime_error("MPI gather: a rank's results are truncated");
      all[i] = s.substr(at, len);
      seen[i] = true;
      at += len;
    }
  }
  for (std::size_t i = 0; i < n; ++i)
    if (!seen[i]) throw std::runtime_error("MPI gather: no rank returned item " + std::to_string(i));
  return all;
}
#endif

}  // namespace

MpiWorld::MpiWorld(int& argc, char**& argv) {
  g_world = this;
  if (!launched_by_mpi()) return;
#ifdef DPQ_HAVE_MPI
  int provided = 0;
  // OpenMP threads compute; only the main thread talks MPI.
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  initialised_ = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &dist_.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &dist_.size);
  const int rank = dist_.rank, size = dist_.size;
  dist_.gather = [rank, size, done = exchanged_](const std::vector<std::pair<std::size_t, std::string>>& local,
                                                  std::size_t n) {
    std::vector<std::string> all = gather(rank, size, local, n);
    *done = true;
    return all;
  };
#else
  (void)argc;
  (void)argv;
  const char* n = std::getenv("OMPI_COMM_WORLD_SIZE");
  if (n && std::string(n) != "1")
    throw Error("this deltapq was built without MPI (libopenmpi-dev was missing at configure time): run it as one process");
#endif
}

MpiWorld::~MpiWorld() {
#ifdef DPQ_HAVE_MPI
  if (initialised_) MPI_Finalize();
#endif
  g_world = nullptr;
}

const MpiWorld& mpi_world() {
  if (!g_world) throw std::logic_error("mpi_world() before main created it");
  return *g_world;
}

}  // namespace dpq::cli
