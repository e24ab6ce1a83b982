// Tensor-file reader (.npy, .npz, safetensors): any bytes must give tensors whose values fill their
// shapes and are finite, or a dpq::Error; and mapping them to KV streams must give streams or an Error.
#include <cmath>
#include <cstdlib>
#include <memory>

#include "deltapq/app/kv_source.h"
#include "deltapq/core/error.h"
#include "deltapq/core/tensor_file.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = dpq::fuzz::write_scratch("t.bin", data, size);
  try {
    dpq::TensorFile tf = dpq::read_tensor_file(path);
    if (tf.tensors.empty()) std::abort();
    for (const auto& t : tf.tensors) {
      std::size_t n = 1;
      for (std::size_t e : t.array.shape) n *= e;
      if (n != t.array.data.size()) std::abort();
      for (double v : t.array.data)
        if (!std::isfinite(v)) std::abort();
    }
    auto tensors = std::make_shared<const std::vector<dpq::NamedTensor>>(std::move(tf.tensors));
    dpq::app::KvLayout layout;
    layout.kind = "v";
    try {
      const dpq::app::KvStreams s = dpq::app::kv_streams(tensors, path, layout);
      for (const auto& f : s.files) {
        const auto st = s.load(f);
        if (st.data.size() != st.rows * st.dim) std::abort();
      }
    } catch (const dpq::Error&) {
    }
  } catch (const dpq::Error&) {
  }
  return 0;
}
