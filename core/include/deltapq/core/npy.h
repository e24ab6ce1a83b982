// NumPy .npy files: rank 2 ([rows, cols]) float streams for the audits (read_npy), any rank and
// integer dtypes for the gate and the array readers (read_npy_array).
//
// read_npy validates magic, header version (1.0, 2.0, 3.0), header dictionary, dtype, fortran_order
// (both orders are accepted; values are returned row-major), shape, and that the file holds exactly
// rows*cols values; it rejects NaN and Inf naming row and column. It never reads past the file.
// write_npy writes to a temporary next to the target and renames it, so no half-written file is
// ever left behind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
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

// The general reader: any rank, float16/32/64 of either byte order, and on request integers (int8..64,
// uint8..64; values must be exact in double) or bfloat16 stored as 16-bit integers. Values returned in C
// order; non-finite values are an error naming their index unless allow_non_finite.
struct NpyReadOptions {
  bool integers = false;
  bool bf16 = false;
  bool allow_non_finite = false;
  bool stream = false;  // require rank 2 ([T, d]) before reading values
};
struct NpyArray {
  std::vector<std::size_t> shape;
  std::string dtype;
  std::vector<double> data;
};
NpyArray read_npy_array(const std::string& path, const NpyReadOptions& options);
// The same on a stream of exactly `size` bytes (an .npz member, a buffer); `name` is used in errors.
NpyArray read_npy_from(std::istream& in, std::uint64_t size, const std::string& name, const NpyReadOptions& options);
// The bytes of a .npy of any shape in a little-endian dtype: "<f4", "<f8", "<i1".."<i8", "|u1", "<u2".. .
std::string npy_bytes_typed(const std::vector<std::size_t>& shape, const std::vector<double>& data, const std::string& dtype);

// The bytes of a .npy v1.0 file of float32 ("<f4") or float64 ("<f8") data, row-major [rows, cols].
std::string npy_bytes(std::size_t rows, std::size_t cols, const std::vector<double>& data, bool as_float32);
// Writes float32 ("<f4") or float64 ("<f8") data, row-major [rows, cols].
void write_npy(const std::string& path, std::size_t rows, std::size_t cols,
               const std::vector<double>& data, bool as_float32);

// IEEE binary16 bits to double, exact (subnormals, infinities and NaN included).
double half_to_double(unsigned short bits);

}  // namespace dpq
