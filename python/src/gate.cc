// The gate in Python: gate_check on a kernel's arrays, gate_kernel driving a Python callable.
#include <pybind11/stl.h>

#include <algorithm>
#include <iterator>

#include "deltapq/app/gate.h"

#include "deltapq/core/error.h"
#include "module_support.h"

namespace dpq::py_module {
namespace {

app::GateDesign design_of(const py::handle& design) {
  if (py::isinstance<PyScalarCodec>(design)) return app::gate_design_of(design.cast<PyScalarCodec&>().codec->design());
  if (py::isinstance<PyTurboCodec>(design)) return app::gate_design_of(*design.cast<PyTurboCodec&>().codec);
  if (py::isinstance<PyPq>(design)) return app::gate_design_of(*design.cast<PyPq&>().pq);
  if (py::isinstance<py::str>(design)) return app::parse_gate_design(design.cast<std::string>(), "design");
  if (py::isinstance<py::dict>(design)) return app::parse_gate_design(to_json_text(design), "design");
  throw Error("design: expected a deltapq-design dict or JSON text, or a ScalarCodec / TurboCodec / ProductQuantizer");
}

// The kernel's outputs from numpy arrays (None: absent).
app::GateOutputs outputs_of(const app::GateDesign& d, std::size_t rows, const py::handle& codes, const py::handle& decoded,
                            const py::handle& norms, const py::handle& signs, const py::handle& residual_norms,
                            const py::handle& refused) {
  app::GateOutputs o;
  o.rows = rows;
  const std::size_t c = static_cast<std::size_t>(d.codes_per_row());
  {
    py::array a = py::array::ensure(codes);
    if (!a || (a.dtype().kind() != 'i' && a.dtype().kind() != 'u'))
      throw Error("gate: codes must be an integer array [rows, " + std::to_string(c) + "] (unpacked, one code per entry)");
    if (a.ndim() != 2 || static_cast<std::size_t>(a.shape(0)) != rows || static_cast<std::size_t>(a.shape(1)) != c)
      throw Error("gate: codes have shape " + std::string(py::str(a.attr("shape"))) + "; expected (" + std::to_string(rows) + ", " +
                  std::to_string(c) + ")");
    auto v = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(a);
    o.codes.assign(v.data(), v.data() + v.size());
  }
  auto floats = [&](const py::handle& h, std::size_t cols, const char* what) -> std::optional<std::vector<float>> {
    if (h.is_none()) return std::nullopt;
    py::array a = py::array::ensure(h);
    if (!a || a.dtype().kind() != 'f') throw Error(std::string("gate: ") + what + " must be a float array");
    const std::size_t want = rows * cols;
    if (static_cast<std::size_t>(a.size()) != want || a.shape(0) != static_cast<py::ssize_t>(rows))
      throw Error(std::string("gate: ") + what + " has shape " + std::string(py::str(a.attr("shape"))) + "; expected " +
                  std::to_string(rows) + (cols > 1 ? " x " + std::to_string(cols) : std::string()) + " values");
    auto v = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a);
    return std::vector<float>(v.data(), v.data() + v.size());
  };
  auto bytes = [&](const py::handle& h, std::size_t cols, const char* what) -> std::optional<std::vector<std::uint8_t>> {
    if (h.is_none()) return std::nullopt;
    py::array a = py::array::ensure(h);
    if (!a || (a.dtype().kind() != 'b' && a.dtype().kind() != 'u' && a.dtype().kind() != 'i'))
      throw Error(std::string("gate: ") + what + " must be a bool or integer array of 0/1");
    if (static_cast<std::size_t>(a.size()) != rows * cols || a.shape(0) != static_cast<py::ssize_t>(rows))
      throw Error(std::string("gate: ") + what + " has shape " + std::string(py::str(a.attr("shape"))) + "; expected " +
                  std::to_string(rows) + (cols > 1 ? " x " + std::to_string(cols) : std::string()) + " values");
    auto v = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(a);
    std::vector<std::uint8_t> out;
    for (py::ssize_t i = 0; i < v.size(); ++i) {
      const auto x = v.data()[i];
      if (x != 0 && x != 1) throw Error(std::string("gate: ") + what + " entry " + std::to_string(i) + " = " + std::to_string(x) + " is not 0 or 1");
      out.push_back(static_cast<std::uint8_t>(x));
    }
    return out;
  };
  o.decoded = floats(decoded, static_cast<std::size_t>(d.dim()), "decoded");
  o.norms = floats(norms, 1, "norms");
  o.residual_norms = floats(residual_norms, 1, "residual_norms");
  o.signs = bytes(signs, static_cast<std::size_t>(d.qjl_rows()), "signs");
  if (auto r = bytes(refused, 1, "refused")) o.refused = std::vector<bool>(r->begin(), r->end());
  return o;
}

py::object gate_check(const py::handle& design, const py::handle& x, const py::handle& codes, const py::handle& decoded,
                      const py::handle& norms, const py::handle& signs, const py::handle& residual_norms, const py::handle& refused) {
  const app::GateDesign d = design_of(design);
  py::array a = py::array::ensure(x);
  if (!a || a.dtype().kind() != 'f' || a.ndim() != 2 || a.shape(1) != d.dim())
    throw Error("gate: x must be a float array [rows, " + std::to_string(d.dim()) + "]");
  auto xf = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a);
  const std::size_t rows = static_cast<std::size_t>(a.shape(0));
  const app::GateOutputs o = outputs_of(d, rows, codes, decoded, norms, signs, residual_norms, refused);
  std::string json;
  {
    const float* p = xf.data();
    py::gil_scoped_release release;
    json = app::to_json(app::check_gate(d, p, rows, o));
  }
  return from_json(json);
}

// The kernel a Python callable implements: encode(x) -> codes array, or a dict with "codes" and
// optionally "norms", "signs", "residual_norms", "refused"; decode(that) -> float rows.
app::GateOutputs call_kernel(const app::GateDesign& d, const py::function& encode, const py::object& decode,
                             const std::vector<float>& x, std::size_t rows) {
  py::array_t<float> xa({rows, static_cast<std::size_t>(d.dim())});
  std::copy(x.begin(), x.end(), xa.mutable_data());
  py::object r = encode(xa);
  py::object codes = r, norms = py::none(), signs = py::none(), res = py::none(), refused = py::none();
  if (py::isinstance<py::dict>(r)) {
    const py::dict dd = r.cast<py::dict>();
    if (!dd.contains("codes")) throw Error("gate_kernel: encode returned a dict without 'codes'");
    codes = dd["codes"];
    if (dd.contains("norms")) norms = dd["norms"];
    if (dd.contains("signs")) signs = dd["signs"];
    if (dd.contains("residual_norms")) res = dd["residual_norms"];
    if (dd.contains("refused")) refused = dd["refused"];
  }
  py::object decoded = py::none();
  if (!decode.is_none()) decoded = decode(r);
  else if (py::isinstance<py::dict>(r) && r.cast<py::dict>().contains("decoded")) decoded = r.cast<py::dict>()["decoded"];
  return outputs_of(d, rows, codes, decoded, norms, signs, res, refused);
}

py::object gate_kernel(const py::function& encode, const py::handle& design, const py::object& decode, int batches, int rows,
                       std::uint64_t seed) {
  const app::GateDesign d = design_of(design);
  if (batches < 1 || batches > 100000) throw Error("gate_kernel: batches = " + std::to_string(batches) + " is outside 1..100000");
  if (rows < 1 || rows > 100000) throw Error("gate_kernel: rows = " + std::to_string(rows) + " is outside 1..100000");
  const std::size_t dim = static_cast<std::size_t>(d.dim());
  constexpr app::GateRowKind kinds[] = {
      app::GateRowKind::random,      app::GateRowKind::boundary,     app::GateRowKind::boundary_up, app::GateRowKind::boundary_down,
      app::GateRowKind::clip_high,   app::GateRowKind::clip_low,     app::GateRowKind::clip_beyond, app::GateRowKind::zero,
      app::GateRowKind::signed_zeros, app::GateRowKind::subnormal,   app::GateRowKind::near_flt_max, app::GateRowKind::huge_norm,
      app::GateRowKind::nan,         app::GateRowKind::inf};
  std::size_t checked = 0;
  for (int b = 0; b < batches; ++b) {
    std::vector<float> x;
    std::vector<std::string> kind_of;
    for (int i = 0; i < rows; ++i) {
      // Half random rows, half edge rows cycling through every kind.
      const app::GateRowKind k = (i % 2 == 0) ? app::GateRowKind::random : kinds[static_cast<std::size_t>(i / 2 + b) % std::size(kinds)];
      const std::vector<float> r = app::gate_row(d, k, seed + static_cast<std::uint64_t>(b) * 1000003u, i);
      x.insert(x.end(), r.begin(), r.end());
      kind_of.push_back(app::to_string(k));
    }
    const app::GateOutputs out = call_kernel(d, encode, decode, x, static_cast<std::size_t>(rows));
    const app::GateReport rep = app::check_gate(d, x.data(), static_cast<std::size_t>(rows), out);
    checked += rep.checked_rows;
    if (rep.passes()) continue;
    // The counterexample: the first offending row alone, re-run through the kernel (the check is per
    // row, so a failing row fails on its own unless the kernel depends on its batch -- then say so).
    const std::size_t row = rep.worst.empty() ? 0 : rep.worst.front().row;
    const std::vector<float> one(x.begin() + static_cast<std::ptrdiff_t>(row * dim), x.begin() + static_cast<std::ptrdiff_t>((row + 1) * dim));
    const app::GateOutputs out1 = call_kernel(d, encode, decode, one, 1);
    const app::GateReport rep1 = app::check_gate(d, one.data(), 1, out1);
    py::dict result;
    result["passes"] = false;
    result["batches_passed"] = b;
    result["rows_checked"] = checked;
    result["failing_batch"] = from_json(app::to_json(rep));
    py::dict ce;
    ce["row"] = row;
    ce["kind"] = kind_of[row];
    py::array_t<float> xr(static_cast<py::ssize_t>(dim));
    std::copy(one.begin(), one.end(), xr.mutable_data());
    ce["x"] = xr;
    ce["fails_alone"] = !rep1.passes();
    ce["report"] = from_json(app::to_json(rep1));
    result["counterexample"] = ce;
    result["seed"] = seed;
    return result;
  }
  py::dict result;
  result["passes"] = true;
  result["batches_passed"] = batches;
  result["rows_checked"] = checked;
  result["seed"] = seed;
  return result;
}

}  // namespace

void bind_gate(py::module_& m) {
  m.def("gate_check", &gate_check, py::arg("design"), py::arg("x"), py::arg("codes"), py::kw_only(), py::arg("decoded") = py::none(),
        py::arg("norms") = py::none(), py::arg("signs") = py::none(), py::arg("residual_norms") = py::none(),
        py::arg("refused") = py::none(),
        "Check a kernel's outputs on x against the reference: per entry exact / acceptable / wrong (dict of `deltapq gate --json`).");
  m.def("gate_kernel", &gate_kernel, py::arg("encode"), py::arg("design"), py::kw_only(), py::arg("decode") = py::none(),
        py::arg("batches") = 50, py::arg("rows") = 64, py::arg("seed") = 1,
        "Drive a Python kernel encode(x) with batches of random and edge rows; the first failure is reduced to one row.");
}

}  // namespace dpq::py_module
