// Outputs that appear whole or not at all (E2): a file is written to a temporary next to its target
// and renamed into place when every byte is written; a directory is built as a temporary sibling and
// swapped into place in one step (renameat2 RENAME_EXCHANGE when it replaces an earlier one).
//
// Temporaries are named TARGET.tmp.PID. While one exists it is registered, so SIGINT, SIGTERM and
// SIGHUP remove it before the process dies (SIGKILL cannot be caught: a later run of any deltapq
// command never reads a *.tmp.* path, and replacing that target removes stale temporaries of dead
// processes).
#pragma once

#include <cstdint>
#include <string>

namespace dpq {

// Throws dpq::Error naming the path when it cannot write or rename.
void write_file_atomically(const std::string& path, const std::string& content);
// Checks, before any work, that `path` could be written: not empty, not a directory, in an existing
// directory. Throws dpq::Error naming the path otherwise.
void check_output_path(const std::string& path);

// A directory that appears complete or not at all.
//   AtomicDirectory out("kv");          // refuses a target that is a file, or a non-empty directory
//   out.write("a.npy", bytes);          //   without `marker` (the file that says it is ours)
//   out.commit();                       // swaps it into place; the destructor discards uncommitted work
class AtomicDirectory {
 public:
  // target: the final directory. marker: a file name whose presence marks an existing target as a
  // previous output of the same kind, which commit() may replace (e.g. "manifest.json").
  AtomicDirectory(const std::string& target, const std::string& marker);
  ~AtomicDirectory();
  AtomicDirectory(const AtomicDirectory&) = delete;
  AtomicDirectory& operator=(const AtomicDirectory&) = delete;

  const std::string& temporary() const { return tmp_; }
  // Writes one file into the temporary directory: a plain name, or "sub/name" (one subdirectory level).
  void write(const std::string& name, const std::string& content);
  void commit();

 private:
  std::string target_, marker_, tmp_;
  bool committed_ = false;
};

// 64-bit FNV-1a of a byte string (the kvdump manifest records it per file; readers verify it).
std::uint64_t fnv1a64(const std::string& bytes);

// Whether a path names a temporary of write_file_atomically / AtomicDirectory (".tmp.<digits>").
bool is_temporary_path(const std::string& path);

}  // namespace dpq
