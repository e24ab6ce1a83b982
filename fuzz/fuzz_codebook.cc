// Codebook table reader and audit: input = [1 byte: bits 1..4][JSON table]; any table must be audited
// (defects, an excess MSE, a verdict) or refused with a dpq::Error.
#include <cstdlib>

#include "deltapq/app/codebook.h"
#include "deltapq/core/error.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const int bits = 1 + data[0] % 4;
  const std::string path = dpq::fuzz::write_scratch("table.json", data + 1, size - 1);
  try {
    const dpq::app::CodebookCheckReport r = dpq::app::check_codebook_file(path, 16, bits, 1.0);
    if (r.audit.scored && !(r.audit.mse >= 0)) std::abort();
  } catch (const dpq::Error&) {
  }
  return 0;
}
