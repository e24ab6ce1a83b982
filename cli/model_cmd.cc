// deltapq generate --model M --tokenizer T [--steps N]
// deltapq kvdump --model M --tokenizer T --text FILE --out DIR
#include <iostream>

#include "args.h"
#include "commands.h"
#include "deltapq/app/generate.h"
#include "deltapq/app/kvdump.h"
#include "deltapq/app/report.h"
#include "deltapq/core/error.h"
#include "deltapq/model/llama2.h"
#include "deltapq/model/tokenizer.h"

namespace dpq::cli {
namespace {

struct Loaded {
  model::Llama2 llm;
  model::Tokenizer tok;
};

Loaded load(const Args& args) {
  const auto m = args.text("--model");
  const auto t = args.text("--tokenizer");
  if (!m || !t) throw Error("needs --model FILE.bin and --tokenizer FILE.bin (llama2.c format, e.g. stories260K.bin "
                            "with tok512.bin)");
  model::Llama2 llm(*m);
  model::Tokenizer tok(*t, llm.config().vocab_size);
  return {std::move(llm), std::move(tok)};
}

}  // namespace

int run_generate(int argc, char** argv) {
  Args args(argc, argv, {"--model", "--tokenizer", "--steps", "--temperature", "--top-p", "--seed"}, {});
  if (!args.positional().empty()) throw Error("generate takes no positional argument: '" + args.positional()[0] + "'");
  app::GenerateOptions o;
  if (auto t = args.real("--temperature", false)) o.temperature = *t;
  if (auto p = args.real("--top-p", true)) o.top_p = *p;
  if (auto s = args.integer("--seed", 0, 1LL << 53)) o.seed = static_cast<std::uint64_t>(*s);
  Loaded x = load(args);
  o.steps = static_cast<int>(args.integer("--steps", 1, x.llm.config().seq_len).value_or(64));
  std::cout << app::generate(x.llm, x.tok, o) << "\n";
  return 0;
}

int run_kvdump(int argc, char** argv) {
  Args args(argc, argv, {"--model", "--tokenizer", "--text", "--out", "--max-tokens"}, {});
  if (!args.positional().empty()) throw Error("kvdump takes no positional argument: '" + args.positional()[0] + "'");
  const auto text_path = args.text("--text");
  const auto out = args.text("--out");
  if (!text_path || !out) throw Error("kvdump needs --text FILE and --out DIR");
  Loaded x = load(args);
  std::optional<int> max_tokens;
  if (auto n = args.integer("--max-tokens", 2, 1 << 30)) max_tokens = static_cast<int>(*n);
  const std::vector<int> tokens = model::tokenize_file(x.tok, *text_path, x.llm.config().seq_len, 1, max_tokens);
  app::print_text(app::dump_kv(x.llm, tokens, *args.text("--model"), *out), std::cout);
  return 0;
}

}  // namespace dpq::cli
