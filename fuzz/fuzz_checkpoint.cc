// llama2.c checkpoint reader and forward pass: a checkpoint that loads must run three positions to
// finite logits, or refuse with a dpq::Error (e.g. weights that overflow float32).
#include <cmath>
#include <cstdlib>

#include "deltapq/core/error.h"
#include "deltapq/model/llama2.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = dpq::fuzz::write_scratch("model.bin", data, size);
  try {
    dpq::model::Llama2 m(path);
    const int positions = std::min(3, m.config().seq_len);
    for (int pos = 0; pos < positions; ++pos) {
      const auto& logits = m.forward(pos % m.config().vocab_size, pos);
      for (float v : logits)
        if (!std::isfinite(v)) std::abort();
    }
  } catch (const dpq::Error&) {
  }
  return 0;
}
