// A progress line on stderr for long commands: "audit-stream: 12/40 streams, 0:35 elapsed, ETA 1:10",
// redrawn in place. Only on a terminal and without --quiet: logs and pipes get nothing extra.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>

namespace dpq::cli {

class Progress {
 public:
  Progress(std::string label, std::string unit, bool quiet)
      : label_(std::move(label)), unit_(std::move(unit)), on_(!quiet && ::isatty(STDERR_FILENO)),
        start_(std::chrono::steady_clock::now()) {}
  ~Progress() {
    if (on_ && drawn_) std::fputs("\n", stderr);
  }
  bool enabled() const { return on_; }
  void update(std::size_t done, std::size_t total) {
    if (!on_) return;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double eta = done ? s / static_cast<double>(done) * static_cast<double>(total - done) : 0;
    std::fprintf(stderr, "\r%s: %zu/%zu %s, %s elapsed, ETA %s   ", label_.c_str(), done, total, unit_.c_str(), clock(s).c_str(),
                 done ? clock(eta).c_str() : "?");
    std::fflush(stderr);
    drawn_ = true;
  }

 private:
  static std::string clock(double seconds) {
    const long t = static_cast<long>(seconds + 0.5);
    char buf[32];
    if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
    return buf;
  }
  std::string label_, unit_;
  bool on_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace dpq::cli
