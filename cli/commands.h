// Subcommands of the deltapq CLI. Each returns the process exit code and throws dpq::Error on bad
// input (main turns that into one line on stderr and exit code 2).
#pragma once

namespace dpq::cli {

int run_audit(int argc, char** argv);
int run_synth(int argc, char** argv);
int run_generate(int argc, char** argv);
int run_kvdump(int argc, char** argv);
int run_audit_stream(int argc, char** argv);
int run_eval_nll(int argc, char** argv);
int run_codebook(int argc, char** argv);
int run_paper_check(int argc, char** argv);
int run_vectors(int argc, char** argv);
int run_gate(int argc, char** argv);

}  // namespace dpq::cli
