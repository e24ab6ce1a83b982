// Internal to the Python module: numpy <-> deltapq conversions shared by its parts, the codec
// objects, and each part's binding function.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "deltapq/core/npy.h"
#include "deltapq/fast/codec.h"
#include "deltapq/fast/pq.h"
#include "deltapq/fast/turbo_codec.h"
#include "deltapq/pipeline/pipeline.h"

namespace dpq::py_module {

namespace py = pybind11;

// A report's JSON text as the dict json.loads gives, and back.
py::object from_json(const std::string& text);
std::string to_json_text(const py::handle& obj);
std::string shape_text(const std::vector<std::size_t>& s);

// A float numpy array (any float dtype, any layout) as C-order doubles, every value finite (or the
// error names the index). `what` names the argument in messages. float_matrix: rank 2.
NpyArray float_array(const py::handle& obj, const std::string& what);
NpyArray float_matrix(const py::handle& obj, const std::string& what);
// A `kappa=` argument: nullopt for "auto", else a positive finite number; anything else is dpq::Error
// (ValueError) naming `what`.
std::optional<double> kappa_arg(const py::object& kappa, const std::string& what);

// float32 rows for the codecs: no copy when the array is float32 and C-contiguous. Non-finite values
// are passed on (the codecs refuse them naming the row).
struct F32Rows {
  py::array_t<float, py::array::c_style> arr;
  std::size_t rows = 0, dim = 0;
  const float* data() const { return arr.data(); }
};
F32Rows f32_rows(const py::handle& obj, std::size_t dim, const std::string& what);
py::array_t<std::uint8_t> byte_rows(const py::handle& obj, std::size_t width, const std::string& what);
// [T, d] as a float32 stream (a value beyond float32 is an error).
pipeline::Stream stream_of(const NpyArray& a);

// The codec objects Python holds (shared, so a design can be taken from them while they live).
struct PyScalarCodec {
  std::shared_ptr<fast::Codec> codec;
};
struct PyTurboCodec {
  std::shared_ptr<fast::TurboCodec> codec;
};
struct PyPq {
  std::shared_ptr<fast::ProductQuantizer> pq;
};

void bind_workflows(py::module_& m);
void bind_codecs(py::module_& m);
void bind_gate(py::module_& m);

}  // namespace dpq::py_module
