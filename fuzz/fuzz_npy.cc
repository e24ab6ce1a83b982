// .npy reader: any bytes must give a matrix of finite values of the promised shape, or a dpq::Error.
#include <cmath>
#include <cstdlib>

#include "deltapq/core/error.h"
#include "deltapq/core/npy.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = dpq::fuzz::write_scratch("x.npy", data, size);
  try {
    const dpq::NpyMatrix m = dpq::read_npy(path);
    if (m.data.size() != m.rows * m.cols || m.rows == 0 || m.cols == 0) std::abort();
    for (double v : m.data)
      if (!std::isfinite(v)) std::abort();
  } catch (const dpq::Error&) {
  }
  return 0;
}
