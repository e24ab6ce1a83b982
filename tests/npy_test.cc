// The .npy reader: every validation it promises, and round trips.
#include <gtest/gtest.h>

#include <algorithm>

#include <cmath>
#include <limits>

#include "deltapq/core/error.h"
#include "deltapq/core/npy.h"
#include "test_files.h"

namespace dpq {
namespace {

using testing::f8_bytes;
using testing::temp_path;
using testing::write_raw_npy;

std::string error_of(const std::string& path) {
  return testing::error_of([&] { read_npy(path); });
}

TEST(Npy, round_trip_float32_and_float64) {
  const std::vector<double> v = {1.5, -2.25, 0.0, 3e-5, 7, 8};
  for (bool f32 : {true, false}) {
    const auto p = temp_path(f32 ? "rt32.npy" : "rt64.npy");
    write_npy(p, 3, 2, v, f32);
    const NpyMatrix m = read_npy(p);
    EXPECT_EQ(m.rows, 3u);
    EXPECT_EQ(m.cols, 2u);
    EXPECT_EQ(m.dtype, f32 ? "<f4" : "<f8");
    for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(m.data[i], f32 ? double(float(v[i])) : v[i]);
  }
}

TEST(Npy, float16_decoding_is_exact) {
  EXPECT_EQ(half_to_double(0x3c00), 1.0);
  EXPECT_EQ(half_to_double(0xc000), -2.0);
  EXPECT_EQ(half_to_double(0x7bff), 65504.0);
  EXPECT_EQ(half_to_double(0x0001), std::ldexp(1.0, -24));  // smallest subnormal
  EXPECT_TRUE(std::signbit(half_to_double(0x8000)));
  EXPECT_TRUE(std::isinf(half_to_double(0x7c00)));
  EXPECT_TRUE(std::isnan(half_to_double(0x7e00)));
  const auto p = temp_path("f2.npy");
  write_raw_npy(p, "{'descr': '<f2', 'fortran_order': False, 'shape': (1, 2), }", {0x00, 0x3c, 0x00, 0xc0});
  const NpyMatrix m = read_npy(p);
  EXPECT_EQ(m.data, (std::vector<double>{1.0, -2.0}));
}

TEST(Npy, fortran_order_is_transposed_to_row_major) {
  const auto p = temp_path("fortran.npy");
  // Column-major [2, 3]: columns (1,4), (2,5), (3,6) -> rows (1,2,3), (4,5,6).
  write_raw_npy(p, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", f8_bytes({1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(read_npy(p).data, (std::vector<double>{1, 2, 3, 4, 5, 6}));
}

TEST(E2, npy_bad_inputs_name_the_problem) {
  const std::string ok_dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }";
  auto p = temp_path("trunc.npy");
  write_raw_npy(p, ok_dict, f8_bytes({1, 2, 3}));  // one value short
  EXPECT_NE(error_of(p).find("truncated"), std::string::npos) << error_of(p);

  p = temp_path("magic.npy");
  write_raw_npy(p, ok_dict, f8_bytes({1, 2, 3, 4}), "\x93NUMPZ");
  EXPECT_NE(error_of(p).find("wrong magic"), std::string::npos);

  p = temp_path("dtype.npy");
  write_raw_npy(p, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }", std::vector<unsigned char>(16));
  EXPECT_NE(error_of(p).find("unsupported dtype '<i4'"), std::string::npos) << error_of(p);
  write_raw_npy(p, "{'descr': '<c8', 'fortran_order': False, 'shape': (2, 2), }", std::vector<unsigned char>(32));
  EXPECT_NE(error_of(p).find("unsupported dtype '<c8'"), std::string::npos) << error_of(p);
  {  // big-endian floats are read (numpy writes them on request): 1, 2, 3, 4 byte-swapped
    std::vector<unsigned char> be = f8_bytes({1, 2, 3, 4});
    for (std::size_t k = 0; k < be.size(); k += 8) std::reverse(be.begin() + static_cast<long>(k), be.begin() + static_cast<long>(k) + 8);
    write_raw_npy(p, "{'descr': '>f8', 'fortran_order': False, 'shape': (2, 2), }", be);
    const NpyMatrix m = read_npy(p);
    EXPECT_EQ(m.data, (std::vector<double>{1, 2, 3, 4}));
  }
  {  // integers when asked for, with the index of a bad value named for N-D arrays
    write_raw_npy(p, "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 1, 2), }", {1, 0, 0xff, 0xff, 3, 0, 4, 0});
    NpyReadOptions o;
    o.integers = true;
    const NpyArray a = read_npy_array(p, o);
    EXPECT_EQ(a.shape, (std::vector<std::size_t>{2, 1, 2}));
    EXPECT_EQ(a.data, (std::vector<double>{1, -1, 3, 4}));
    write_raw_npy(p, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1, 2), }", f8_bytes({1, 2, std::nan(""), 4}));
    EXPECT_NE(error_of(p).find("rank 3"), std::string::npos);
    EXPECT_NE(testing::error_of([&] { read_npy_array(p, {}); }).find("NaN at index (1, 0, 0)"), std::string::npos);
  }

  p = temp_path("rank.npy");
  write_raw_npy(p, "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", f8_bytes({1, 2, 3, 4}));
  EXPECT_NE(error_of(p).find("rank 1"), std::string::npos) << error_of(p);
  write_raw_npy(p, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2, 2), }", f8_bytes({1, 2, 3, 4}));
  EXPECT_NE(error_of(p).find("rank 3"), std::string::npos) << error_of(p);

  p = temp_path("nan.npy");
  write_raw_npy(p, ok_dict, f8_bytes({1, 2, std::numeric_limits<double>::quiet_NaN(), 4}));
  EXPECT_NE(error_of(p).find("NaN at row 1, column 0"), std::string::npos) << error_of(p);
  write_raw_npy(p, ok_dict, f8_bytes({1, std::numeric_limits<double>::infinity(), 3, 4}));
  EXPECT_NE(error_of(p).find("Inf at row 0, column 1"), std::string::npos) << error_of(p);

  p = temp_path("d0.npy");
  write_raw_npy(p, "{'descr': '<f8', 'fortran_order': False, 'shape': (5, 0), }", {});
  EXPECT_NE(error_of(p).find("d = 0"), std::string::npos) << error_of(p);

  p = temp_path("extra.npy");
  write_raw_npy(p, ok_dict, f8_bytes({1, 2, 3, 4, 5}));
  EXPECT_NE(error_of(p).find("beyond the data"), std::string::npos) << error_of(p);

  p = temp_path("header.npy");
  write_raw_npy(p, ok_dict, {});
  {  // header length claims more than the file holds
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8);
    const unsigned char big[2] = {0xff, 0xff};
    f.write(reinterpret_cast<const char*>(big), 2);
  }
  EXPECT_NE(error_of(p).find("truncated"), std::string::npos) << error_of(p);

  EXPECT_NE(error_of(temp_path("does_not_exist.npy")).find("no such file"), std::string::npos);
}

}  // namespace
}  // namespace dpq
