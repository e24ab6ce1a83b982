// Running the deltapq binary from a test: exit code (or -signal when it died of one) and its output.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace dpq::testing {

struct CliRun {
  int code;         // the exit code; -N when killed by signal N
  std::string out;  // stdout and stderr together
};

// `env` is prepended to the command line ("DPQ_MAX_BYTES=1000 ").
inline CliRun run_cli(const std::string& args, const std::string& env = "") {
  const std::string cmd = env + std::string(DPQ_CLI_PATH) + " " + args + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  CliRun r{-1, ""};
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  // popen runs /bin/sh -c: a child killed by a signal shows as the shell's exit code 128 + N.
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  if (r.code > 128) r.code = -(r.code - 128);
  return r;
}

}  // namespace dpq::testing
