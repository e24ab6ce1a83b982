// numpy <-> deltapq conversions shared by the module's parts.
#include "module_support.h"

#include <cmath>

#include "deltapq/core/error.h"

namespace dpq::py_module {

py::object from_json(const std::string& text) { return py::module_::import("json").attr("loads")(text); }
std::string to_json_text(const py::handle& obj) { return py::module_::import("json").attr("dumps")(obj).cast<std::string>(); }

std::string shape_text(const std::vector<std::size_t>& s) {
  std::string r = "(";
  for (std::size_t k = 0; k < s.size(); ++k) r += (k ? ", " : "") + std::to_string(s[k]);
  return r + (s.size() == 1 ? ",)" : ")");
}

// A float numpy array (any float dtype, any layout) as C-order doubles, every value finite (or the
// error names the index). `what` names the argument in messages.
NpyArray float_array(const py::handle& obj, const std::string& what) {
  py::array a = py::array::ensure(obj);
  if (!a) throw Error(what + ": not an array (got " + std::string(py::str(py::type::of(obj))) + ")");
  const char kind = a.dtype().kind();
  if (kind != 'f') throw Error(what + ": dtype " + std::string(py::str(a.dtype())) + " is not a float dtype (float16/32/64)");
  NpyArray out;
  for (py::ssize_t k = 0; k < a.ndim(); ++k) {
    if (a.shape(k) == 0) throw Error(what + ": shape has a zero extent (axis " + std::to_string(k) + ")");
    out.shape.push_back(static_cast<std::size_t>(a.shape(k)));
  }
  out.dtype = std::string(py::str(a.dtype()));
  auto d = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(a);
  const double* p = d.data();
  out.data.assign(p, p + d.size());
  for (std::size_t i = 0; i < out.data.size(); ++i)
    if (!std::isfinite(out.data[i])) {
      std::vector<std::size_t> at(out.shape.size());
      std::size_t rest = i;
      for (std::size_t ax = at.size(); ax-- > 0;) at[ax] = rest % out.shape[ax], rest /= out.shape[ax];
      throw Error(what + ": " + (std::isnan(out.data[i]) ? "NaN" : "Inf") + " at " +
                  (at.size() == 2 ? "row " + std::to_string(at[0]) + ", column " + std::to_string(at[1]) : "index " + shape_text(at)));
    }
  return out;
}

NpyArray float_matrix(const py::handle& obj, const std::string& what) {
  NpyArray a = float_array(obj, what);
  if (a.shape.size() != 2) throw Error(what + ": shape " + shape_text(a.shape) + " is not [rows, dim] (rank 2)");
  return a;
}

F32Rows f32_rows(const py::handle& obj, std::size_t dim, const std::string& what) {
  py::array a = py::array::ensure(obj);
  if (!a) throw Error(what + ": not an array");
  if (a.dtype().kind() != 'f') throw Error(what + ": dtype " + std::string(py::str(a.dtype())) + " is not a float dtype");
  if (a.ndim() != 2) throw Error(what + ": rank " + std::to_string(a.ndim()) + "; expected [rows, " + std::to_string(dim) + "]");
  if (static_cast<std::size_t>(a.shape(1)) != dim)
    throw Error(what + ": " + std::to_string(a.shape(1)) + " columns; the codec has dim " + std::to_string(dim));
  F32Rows r;
  r.arr = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a);
  r.rows = static_cast<std::size_t>(a.shape(0));
  r.dim = dim;
  return r;
}

py::array_t<std::uint8_t> byte_rows(const py::handle& obj, std::size_t width, const std::string& what) {
  py::array a = py::array::ensure(obj);
  if (!a || a.dtype().kind() != 'u' || a.dtype().itemsize() != 1 || a.ndim() != 2 || static_cast<std::size_t>(a.shape(1)) != width)
    throw Error(what + ": expected a uint8 array [rows, " + std::to_string(width) + "] (what encode returns)");
  return py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>::ensure(a);
}

pipeline::Stream stream_of(const NpyArray& a) {
  pipeline::Stream s{a.shape[0], a.shape[1], {}};
  s.data.reserve(a.data.size());
  for (double v : a.data) {
    const float f = static_cast<float>(v);
    if (!std::isfinite(f)) throw Error("value " + std::to_string(v) + " overflows float32");
    s.data.push_back(f);
  }
  return s;
}

std::optional<double> kappa_arg(const py::object& kappa, const std::string& what) {
  if (py::isinstance<py::str>(kappa)) {
    if (kappa.cast<std::string>() != "auto")
      throw Error(what + "kappa = '" + kappa.cast<std::string>() + "' must be 'auto' or a positive number");
    return std::nullopt;
  }
  double k = 0;
  try {
    k = kappa.cast<double>();
  } catch (const py::cast_error&) {
    throw Error(what + "kappa must be 'auto' or a positive number");
  }
  if (!(k > 0) || !std::isfinite(k)) throw Error(what + "kappa must be positive and finite");
  return k;
}

}  // namespace dpq::py_module
