// Tokenizer file reader and BPE: input = [1 byte: text length n][n bytes of text][tokenizer file]. A
// file that loads must encode the text to ids inside the vocabulary (and the heap merge must agree with
// llama2.c's quadratic loop), decode every id, or refuse with a dpq::Error.
#include <cstdlib>

#include "deltapq/core/error.h"
#include "deltapq/model/tokenizer.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t n = std::min<std::size_t>(data[0], size - 1);
  const std::string text(reinterpret_cast<const char*>(data + 1), n);
  const std::string path = dpq::fuzz::write_scratch("tok.bin", data + 1 + n, size - 1 - n);
  try {
    const dpq::model::Tokenizer tok(path, 0);
    const std::vector<int> ids = tok.encode(text);
    for (int id : ids) {
      if (id < 0 || id >= tok.size()) std::abort();
      (void)tok.decode(dpq::model::Tokenizer::kBos, id);
    }
    std::vector<int> bytes;
    for (unsigned char c : text) bytes.push_back(c + 3);
    if (tok.merge(bytes) != tok.merge_quadratic(bytes)) std::abort();
  } catch (const dpq::Error&) {
  }
  return 0;
}
