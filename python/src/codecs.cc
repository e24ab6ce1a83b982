// The fast codecs in Python: ScalarCodec, TurboCodec, ProductQuantizer (encode / decode on numpy
// arrays, the GIL released while they run).
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>

#include "deltapq/app/gate.h"
#include "deltapq/app/paper_check.h"

#include "deltapq/core/design.h"
#include "deltapq/core/error.h"
#include "deltapq/reference/clip_search.h"
#include "module_support.h"

namespace dpq::py_module {
namespace {

// kappa = "auto": every coordinate's own MSE-optimal clip multiple on x itself (ref::mse_optimal_kappas
// on the design's coordinates y = (x - mu) U in double), the design's clip c_i = kappa_i sqrt(lambda_i).
void auto_clips(const pipeline::Stream& s, fast::FastDesign& d) {
  const pipeline::DesignCoordinates c = pipeline::design_coordinates(s, d);
  const std::vector<ref::KappaChoice> k = ref::mse_optimal_kappas(c.y, s.rows, c.variance, d.bits);
  const double top = *std::max_element(c.variance.begin(), c.variance.end());
  for (std::size_t i = 0; i < s.dim; ++i) d.clip[i] = static_cast<float>(matched_clip(c.variance[i], top, k[i].kappa));
}

PyScalarCodec scalar_fit(const py::handle& x, int bits, const py::object& kappa_value, const std::string& basis) {
  const NpyArray a = float_matrix(x, "ScalarCodec.fit: x");
  if (bits < 1 || bits > 8) throw Error("ScalarCodec.fit: bits = " + std::to_string(bits) + " is outside 1..8");
  const std::optional<double> fixed = kappa_arg(kappa_value, "ScalarCodec.fit: ");
  const bool kappa_auto = !fixed;
  const double kappa = fixed.value_or(3.0);
  if (a.shape[0] < 2) throw Error("ScalarCodec.fit: x has " + std::to_string(a.shape[0]) + " rows; fitting needs at least 2");
  const pipeline::Stream s = stream_of(a);
  py::gil_scoped_release release;
  const pipeline::Moments m = pipeline::moments(s);
  fast::FastDesign d;
  if (basis == "eigen") {
    d = pipeline::matched_design(m, kappa, bits, true);
  } else if (basis == "identity") {
    const std::size_t n = s.dim;
    double floor_var = 0;
    for (std::size_t j = 0; j < n; ++j) floor_var = std::max(floor_var, m.covariance[j * n + j]);
    floor_var = std::max(floor_var * 1e-12, 1e-30);
    for (std::size_t j = 0; j < n; ++j) {
      d.mean.push_back(static_cast<float>(m.mean[j]));
      d.bits.push_back(bits);
      d.clip.push_back(static_cast<float>(kappa * std::sqrt(std::max(m.covariance[j * n + j], floor_var))));
    }
  } else {
    throw Error("ScalarCodec.fit: basis = '" + basis + "' (expected 'eigen' or 'identity')");
  }
  if (kappa_auto) auto_clips(s, d);
  return {std::make_shared<fast::Codec>(d)};
}

template <class Codec>
py::array_t<std::uint8_t> encode_rows(const Codec& c, std::size_t dim, std::size_t width, const py::handle& x) {
  const F32Rows r = f32_rows(x, dim, "encode: x");
  py::array_t<std::uint8_t> out({r.rows, width});
  std::uint8_t* o = out.mutable_data();
  {
    py::gil_scoped_release release;
    c.encode(r.data(), r.rows, o);
  }
  return out;
}

template <class Codec>
py::array_t<float> decode_rows(const Codec& c, std::size_t dim, std::size_t width, const py::handle& codes) {
  const auto in = byte_rows(codes, width, "decode: codes");
  const std::size_t n = static_cast<std::size_t>(in.shape(0));
  py::array_t<float> out({n, dim});
  float* o = out.mutable_data();
  const std::uint8_t* p = in.data();
  {
    py::gil_scoped_release release;
    c.decode(p, n, o);
  }
  return out;
}

PyTurboCodec turbo_make(int dim, int bits, int qjl_rows, std::uint64_t seed, const std::string& rotation) {
  if (dim < 1) throw Error("TurboCodec: dim = " + std::to_string(dim) + " must be >= 1");
  if (bits < 1 || bits > 8) throw Error("TurboCodec: bits = " + std::to_string(bits) + " is outside 1..8");
  fast::TurboOptions o;
  o.seed = seed;
  o.qjl_rows = qjl_rows;
  if (rotation == "auto") o.rotation = fast::RotationKind::automatic;
  else if (rotation == "hadamard") o.rotation = fast::RotationKind::hadamard;
  else if (rotation == "dense") o.rotation = fast::RotationKind::dense;
  else throw Error("TurboCodec: rotation = '" + rotation + "' (expected 'auto', 'hadamard' or 'dense')");
  py::gil_scoped_release release;
  return {std::make_shared<fast::TurboCodec>(dim, bits, app::sphere_codebook(std::max(dim, 2), bits), o)};
}

}  // namespace

void bind_codecs(py::module_& m) {
  py::class_<PyScalarCodec>(m, "ScalarCodec", "The Part A codec (float32, AVX2/scalar), bit-packed codes")
      .def_static("fit", &scalar_fit, py::arg("x"), py::kw_only(), py::arg("bits") = 4, py::arg("kappa") = 3.0,
                  py::arg("basis") = "eigen",
                  "Matched design on x: clip kappa*sqrt(lambda) in the eigenbasis or per channel; kappa='auto': each "
                  "coordinate's MSE-optimal clip on x (chosen by the reference)")
      .def_property_readonly("dim", [](const PyScalarCodec& c) { return c.codec->dim(); })
      .def_property_readonly("bytes_per_row", [](const PyScalarCodec& c) { return c.codec->bytes_per_row(); })
      .def("encode", [](const PyScalarCodec& c, const py::handle& x) { return encode_rows(*c.codec, c.codec->dim(), c.codec->bytes_per_row(), x); })
      .def("decode", [](const PyScalarCodec& c, const py::handle& codes) { return decode_rows(*c.codec, c.codec->dim(), c.codec->bytes_per_row(), codes); })
      .def("design", [](const PyScalarCodec& c) { return from_json(app::gate_design_json(app::gate_design_of(c.codec->design()))); });

  py::class_<PyTurboCodec>(m, "TurboCodec", "Rotation + Lloyd-Max (+ QJL) codec with the shipped sphere codebooks")
      .def(py::init(&turbo_make), py::arg("dim"), py::arg("bits"), py::kw_only(), py::arg("qjl_rows") = 0, py::arg("seed") = 0,
           py::arg("rotation") = "auto")
      .def_property_readonly("dim", [](const PyTurboCodec& c) { return c.codec->dim(); })
      .def_property_readonly("bytes_per_row", [](const PyTurboCodec& c) { return c.codec->bytes_per_vector(); })
      .def("encode", [](const PyTurboCodec& c, const py::handle& x) {
        return encode_rows(*c.codec, static_cast<std::size_t>(c.codec->dim()), c.codec->bytes_per_vector(), x);
      })
      .def("decode", [](const PyTurboCodec& c, const py::handle& codes) {
        return decode_rows(*c.codec, static_cast<std::size_t>(c.codec->dim()), c.codec->bytes_per_vector(), codes);
      })
      .def("design", [](const PyTurboCodec& c) { return from_json(app::gate_design_json(app::gate_design_of(*c.codec))); });

  py::class_<PyPq>(m, "ProductQuantizer", "Product quantizer: M blocks of 2^bits centroids (AVX2 encoder)")
      .def(py::init([](int dim, int m, int bits) { return PyPq{std::make_shared<fast::ProductQuantizer>(dim, m, bits)}; }),
           py::arg("dim"), py::arg("m"), py::arg("bits"))
      .def("train", [](PyPq& p, const py::handle& x, int iterations, std::uint64_t seed) {
        const F32Rows r = f32_rows(x, static_cast<std::size_t>(p.pq->dim()), "train: x");
        fast::PqTrainOptions o;
        o.iterations = iterations;
        o.seed = seed;
        const float* data = r.data();
        py::gil_scoped_release release;
        p.pq->train(data, r.rows, o);
      }, py::arg("x"), py::kw_only(), py::arg("iterations") = 25, py::arg("seed") = 1234)
      .def_property_readonly("dim", [](const PyPq& p) { return p.pq->dim(); })
      .def_property_readonly("bytes_per_row", [](const PyPq& p) { return p.pq->code_size(); })
      .def("encode", [](const PyPq& p, const py::handle& x) {
        return encode_rows(*p.pq, static_cast<std::size_t>(p.pq->dim()), p.pq->code_size(), x);
      })
      .def("decode", [](const PyPq& p, const py::handle& codes) {
        return decode_rows(*p.pq, static_cast<std::size_t>(p.pq->dim()), p.pq->code_size(), codes);
      })
      .def("design", [](const PyPq& p) { return from_json(app::gate_design_json(app::gate_design_of(*p.pq))); });
}

}  // namespace dpq::py_module
