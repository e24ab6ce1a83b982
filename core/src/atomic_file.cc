#include "deltapq/core/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "deltapq/core/error.h"

namespace dpq {
namespace {

namespace fs = std::filesystem;

struct Dirent64 {  // the kernel's linux_dirent64
  std::uint64_t d_ino;
  std::int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[1];
};

// Registered temporaries, removed by the signal handler. Fixed storage: the handler may only call
// async-signal-safe functions (unlink, rmdir, open/read of nothing else), so it walks this table.
constexpr int kSlots = 64;
constexpr int kPathMax = 4096;
struct Slot {
  std::atomic<bool> used{false};
  bool directory = false;
  char path[kPathMax];
};
Slot g_slots[kSlots];
std::mutex g_register;
std::once_flag g_handlers;

// The temporary directories hold plain files and at most one level of subdirectories of plain files
// (AtomicDirectory::write accepts "name" and "sub/name"). opendir and readdir allocate, so the handler
// lists directories with the getdents64 system call itself.
void clear_dir_signal_safe(int fd, int depth) {
  alignas(8) char buf[4096];
  for (;;) {
    const long n = ::syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      const auto* e = reinterpret_cast<const Dirent64*>(buf + off);
      off += e->d_reclen;
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      if (::unlinkat(fd, e->d_name, 0) == 0 || depth == 0) continue;
      const int sub = ::openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      if (sub >= 0) {
        clear_dir_signal_safe(sub, depth - 1);
        ::close(sub);
        ::unlinkat(fd, e->d_name, AT_REMOVEDIR);
      }
    }
  }
}

void remove_tree_signal_safe(const char* dir) {
  const int fd = ::open(dir, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    clear_dir_signal_safe(fd, 1);
    ::close(fd);
  }
  ::rmdir(dir);
}

void on_signal(int sig) {
  for (Slot& s : g_slots)
    if (s.used.load()) {
      if (!s.directory) ::unlink(s.path);
    }
  for (Slot& s : g_slots)
    if (s.used.load() && s.directory) remove_tree_signal_safe(s.path);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void install_handlers() {
  std::call_once(g_handlers, [] {
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
      struct sigaction old {};
      ::sigaction(sig, nullptr, &old);
      if (old.sa_handler != SIG_DFL) continue;  // respect a handler the embedding program installed
      struct sigaction sa {};
      sa.sa_handler = on_signal;
      sigemptyset(&sa.sa_mask);
      ::sigaction(sig, &sa, nullptr);
    }
  });
}

int register_temporary(const std::string& path, bool directory) {
  install_handlers();
  if (path.size() >= kPathMax) return -1;
  const std::lock_guard<std::mutex> lock(g_register);
  for (int i = 0; i < kSlots; ++i)
    if (!g_slots[i].used.load()) {
      std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
      g_slots[i].directory = directory;
      g_slots[i].used.store(true);
      return i;
    }
  return -1;  // table full: the temporary is still removed on every error path, only not on a signal
}

void unregister_temporary(int slot) {
  if (slot >= 0) g_slots[slot].used.store(false);
}

std::string temporary_name(const std::string& target) {
  return target + ".tmp." + std::to_string(static_cast<long>(::getpid()));
}

// Removes TARGET.tmp.N left by processes that no longer run (SIGKILL, power loss).
void remove_stale_temporaries(const std::string& target) {
  std::error_code ec;
  const fs::path t(target);
  const fs::path parent = t.has_parent_path() ? t.parent_path() : fs::path(".");
  const std::string prefix = t.filename().string() + ".tmp.";
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string pid = name.substr(prefix.size());
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    const long p = std::stol(pid);
    if (p == static_cast<long>(::getpid()) || ::kill(static_cast<pid_t>(p), 0) == 0 || errno == EPERM) continue;
    std::error_code rm;
    fs::remove_all(it->path(), rm);
  }
}

void write_bytes(const std::string& path, const std::string& content, const std::string& target) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(target + ": cannot open for writing");
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.flush();
  if (!out) throw Error(target + ": write failed (disk full?)");
}

}  // namespace

void check_output_path(const std::string& path) {
  if (path.empty()) throw Error("output path is empty");
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw Error(path + ": is a directory, not a file to write");
  const fs::path p(path);
  const fs::path parent = p.has_parent_path() ? p.parent_path() : fs::path(".");
  if (!fs::is_directory(parent, ec)) throw Error(path + ": the directory " + parent.string() + " does not exist");
}

void write_file_atomically(const std::string& path, const std::string& content) {
  check_output_path(path);
  std::error_code ec;
  const std::string tmp = temporary_name(path);
  const int slot = register_temporary(tmp, false);
  try {
    write_bytes(tmp, content, path);
  } catch (...) {
    std::remove(tmp.c_str());
    unregister_temporary(slot);
    throw;
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    unregister_temporary(slot);
    throw Error(path + ": cannot move the finished file into place: " + ec.message());
  }
  unregister_temporary(slot);
}

AtomicDirectory::AtomicDirectory(const std::string& target, const std::string& marker)
    : target_(target), marker_(marker) {
  if (target.empty()) throw Error("output directory name is empty");
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(target, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) throw Error(target + ": exists and is not a directory");
    if (!fs::is_empty(target, ec) && !fs::exists(fs::path(target) / marker))
      throw Error(target + ": exists, is not empty and holds no " + marker +
                  " (not an earlier output of this command; refusing to replace it)");
  }
  const fs::path t(target);
  const fs::path parent = t.has_parent_path() ? t.parent_path() : fs::path(".");
  if (!fs::is_directory(parent, ec)) throw Error(target + ": the parent directory " + parent.string() + " does not exist");
  remove_stale_temporaries(target);
  tmp_ = temporary_name(target);
  fs::remove_all(tmp_, ec);
  if (!fs::create_directory(tmp_, ec) || ec)
    throw Error(target + ": cannot create the temporary directory " + tmp_ + ": " + ec.message());
  register_temporary(tmp_, true);
}

AtomicDirectory::~AtomicDirectory() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(tmp_, ec);
  for (Slot& s : g_slots)
    if (s.used.load() && tmp_ == s.path) s.used.store(false);
}

void AtomicDirectory::write(const std::string& name, const std::string& content) {
  // "file" or "sub/file": one level of subdirectory, plain names (no ".", "..", empty parts).
  const std::size_t slash = name.find('/');
  auto plain = [](const std::string& part) { return !part.empty() && part != "." && part != ".." && part.find('/') == std::string::npos; };
  const bool ok = slash == std::string::npos ? plain(name) : plain(name.substr(0, slash)) && plain(name.substr(slash + 1));
  if (!ok) throw Error(target_ + ": '" + name + "' is not a file name or sub/file name");
  if (slash != std::string::npos) {
    std::error_code ec;
    fs::create_directory(fs::path(tmp_) / name.substr(0, slash), ec);
    if (ec) throw Error(target_ + ": cannot create '" + name.substr(0, slash) + "': " + ec.message());
  }
  // Not registered one by one: the signal handler empties the registered directory itself.
  write_bytes((fs::path(tmp_) / name).string(), content, (fs::path(target_) / name).string());
}

void AtomicDirectory::commit() {
  if (committed_) return;
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(target_, ec);
  if (fs::exists(st) && !fs::is_empty(target_, ec)) {
    // Swap the finished directory with the earlier one in one step, then remove the earlier one.
    if (::renameat2(AT_FDCWD, tmp_.c_str(), AT_FDCWD, target_.c_str(), RENAME_EXCHANGE) != 0)
      throw Error(target_ + ": cannot swap the finished directory into place: " + std::strerror(errno));
  } else {
    if (fs::exists(st)) fs::remove(target_, ec);  // an empty directory
    fs::rename(tmp_, target_, ec);
    if (ec) throw Error(target_ + ": cannot move the finished directory into place: " + ec.message());
  }
  committed_ = true;
  fs::remove_all(tmp_, ec);  // the earlier directory, now at the temporary name (or nothing)
  for (Slot& s : g_slots)
    if (s.used.load() && tmp_ == s.path) s.used.store(false);
}

std::uint64_t fnv1a64(const std::string& bytes) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

bool is_temporary_path(const std::string& path) {
  const auto pos = path.rfind(".tmp.");
  if (pos == std::string::npos) return false;
  const std::string rest = path.substr(pos + 5);
  const auto slash = rest.find('/');
  const std::string digits = rest.substr(0, slash);
  return !digits.empty() && digits.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace dpq
