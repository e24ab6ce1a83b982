// The tensor files users hold: .npy (any rank, float16/32/64 of either byte order), .npz (numpy's zip
// of .npy members, stored or deflated) and safetensors (8-byte little-endian header length, a JSON
// header {name: {"dtype", "shape", "data_offsets"}}, raw little-endian data; F64, F32, F16, BF16).
// The format is recognized by content, not by extension. Every reader names the file, the tensor
// and the value or field that is wrong, never reads past the file and allocates only what the file
// can hold (a deflated .npz member is bounded by deflate's 1032:1 ratio before anything is read).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "deltapq/core/npy.h"

namespace dpq {

enum class TensorFormat { npy, npz, safetensors };
const char* format_name(TensorFormat f);

struct NamedTensor {
  std::string name;  // "" for a .npy; the member name without ".npy" for .npz; the key for safetensors
  NpyArray array;    // values in C order; dtype as the file names it ("<f4", "BF16", ...)
};

struct TensorFile {
  std::string path;
  TensorFormat format = TensorFormat::npy;
  std::vector<NamedTensor> tensors;  // in file order (npz: archive order; safetensors: by data offset)
  const NamedTensor* find(const std::string& name) const;
  // "k: (4, 8, 128), v: (4, 8, 128)" -- for error messages.
  std::string listing() const;
};

// Throws dpq::Error naming the file (and the tensor) for anything malformed. options.integers admits
// integer dtypes (the gate's codes); options.stream is ignored here (see read_stream_tensor).
TensorFile read_tensor_file(const std::string& path, const NpyReadOptions& options = {});

// The one [T, d] stream of a file: `tensor` names it, or the file must hold exactly one tensor of
// rank 2. The error lists what the file holds and says how to choose.
NpyMatrix read_stream_tensor(const std::string& path, const std::optional<std::string>& tensor = std::nullopt);

// The bytes of a safetensors file of float32 ("F32") or float64 ("F64") tensors (tests, examples).
struct SafetensorsEntry {
  std::string name;
  std::vector<std::size_t> shape;
  std::vector<double> data;
  std::string dtype = "F32";  // F32, F64, F16 or BF16 (rounded to nearest even)
};
std::string safetensors_bytes(const std::vector<SafetensorsEntry>& entries);

}  // namespace dpq
