// deltapq synth --out FILE.npy [--tokens T] [--dim D] [--phi P] [--nu NU] [--rank R] [--sigma S] [--seed N]
#include <iostream>

#include "args.h"
#include "commands.h"
#include "deltapq/app/generate.h"
#include "deltapq/core/error.h"

namespace dpq::cli {

int run_synth(int argc, char** argv) {
  Args args(argc, argv, {"--out", "--tokens", "--dim", "--phi", "--nu", "--rank", "--sigma", "--seed"}, {});
  if (!args.positional().empty()) throw Error("synth takes no positional argument: '" + args.positional()[0] + "'");
  const auto out = args.text("--out");
  if (!out) throw Error("synth needs --out FILE.npy");
  SyntheticStreamParams p;
  if (auto v = args.integer("--tokens", 2, 1 << 24)) p.tokens = static_cast<std::size_t>(*v);
  if (auto v = args.integer("--dim", 1, 1 << 14)) p.dim = static_cast<std::size_t>(*v);
  if (auto v = args.real("--phi", false)) p.phi = *v;
  if (auto v = args.real("--nu", true)) p.nu = *v;
  if (auto v = args.integer("--rank", 0, 1 << 14)) p.rank = static_cast<std::size_t>(*v);
  if (auto v = args.real("--sigma", false)) p.sigma = *v;
  if (auto v = args.integer("--seed", 0, (1LL << 62))) p.seed = static_cast<std::uint64_t>(*v);
  app::synth(p, *out);
  std::cout << "wrote " << *out << ": synthetic stream [T = " << p.tokens << ", d = " << p.dim << "], AR(1) phi = " << p.phi
            << ", Student-t nu = " << p.nu << " innovations, low rank " << p.rank << ", sigma = " << p.sigma
            << ", seed " << p.seed << "\n";
  return 0;
}

}  // namespace dpq::cli
