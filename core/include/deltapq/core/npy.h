// NumPy .npy files of rank 2 ([rows, cols]) in float16/32/64 little-endian.
//
// read_npy validates magic, header version (1.0, 2.0, 3.0), header dictionary, dtype, fortran_order
// (both orders are accepted; values are returned row-major), shape, and that the file holds exactly
// rows*cols values; it rejects NaN and Inf naming row and column. It never reads past the file.
// write_npy writes to a temporary next to the target and renames it, so no half-written file is
// ever left behind.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace dpq {

struct NpyMatrix {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::string dtype;         // "<f2", "<f4" or "<f8" as found in the file
  std::vector<double> data;  // row-major, rows * cols, every value finite

  double at(std::size_t r, std::size_t c) const { return data[r * cols + c]; }
};

// Throws dpq::Error naming the file and what is wrong with it.
NpyMatrix read_npy(const std::string& path);

// The bytes of a .npy v1.0 file of float32 ("<f4") or float64 ("<f8") data, row-major [rows, cols].
std::string npy_bytes(std::size_t rows, std::size_t cols, const std::vector<double>& data, bool as_float32);
// Writes float32 ("<f4") or float64 ("<f8") data, row-major [rows, cols].
void write_npy(const std::string& path, std::size_t rows, std::size_t cols,
               const std::vector<double>& data, bool as_float32);

// IEEE binary16 bits to double, exact (subnormals, infinities and NaN included).
double half_to_double(unsigned short bits);

}  // namespace dpq
