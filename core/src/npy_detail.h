// Shared by the array readers (.npy, .npz members, safetensors): one element type and one decoder of
// raw bytes to C-order doubles, with the non-finite check naming the index.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace dpq::detail {


struct Dtype {
  char kind = 'f';     // f (IEEE float), i (signed), u (unsigned), b (bfloat16 bits, by request)
  std::size_t size = 4;
  bool big_endian = false;
};

// `raw` holds prod(shape) elements of type t (in Fortran order when `fortran`); returns them in C order.
// A NaN or Inf is an error "<path>: NaN at row r, column c" (rank 2) or "... at index (i, j, k)" unless
// allow_non_finite.
std::vector<double> decode_values(const unsigned char* raw, const std::vector<std::size_t>& shape, const Dtype& t,
                                  bool fortran, const std::string& path, bool allow_non_finite);

// "(2, 3)", "(4,)".
std::string shape_text(const std::vector<std::size_t>& shape);

}  // namespace dpq::detail
