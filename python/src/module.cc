// deltapq's Python module: a thin shell over the application layer (app/), like the CLI. Reports come
// back as the dict of the CLI's JSON (app::to_json, the one writer), errors as ValueError with the
// CLI's message, and the GIL is released while the workflows and codecs run. The parts:
// workflows.cc, codecs.cc, gate.cc; the conversions they share: module_support.{h,cc}.
#include <pybind11/pybind11.h>

#include <exception>

#include "deltapq/core/error.h"
#include "module_support.h"

namespace py = pybind11;

PYBIND11_MODULE(_deltapq, m) {
  m.doc() = "deltapq: the theory of KV-cache compression, executable and checkable (C++ core)";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const dpq::Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
  dpq::py_module::bind_workflows(m);
  dpq::py_module::bind_codecs(m);
  dpq::py_module::bind_gate(m);
}
