// deltapq's Python module: a thin shell over the application layer (app/), like the CLI. Reports come
// back as the dict of the CLI's JSON (app::to_json, the one writer), errors as ValueError with the
// CLI's message, and the GIL is released while the workflows and codecs run.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "deltapq/app/audit.h"
#include "deltapq/app/codebook.h"
#include "deltapq/app/gate.h"
#include "deltapq/app/kv_source.h"
#include "deltapq/app/paper_check.h"
#include "deltapq/app/report.h"
#include "deltapq/app/stream_audit.h"
#include "deltapq/core/error.h"
#include "deltapq/core/tensor_file.h"
#include "deltapq/fast/codec.h"
#include "deltapq/fast/pq.h"
#include "deltapq/fast/turbo_codec.h"
#include "deltapq/pipeline/pipeline.h"
#include "deltapq/reference/pq.h"

namespace py = pybind11;
using namespace dpq;

namespace {

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

// float32 rows for the codecs: no copy when the array is float32 and C-contiguous. Non-finite values
// are passed on (the codecs refuse them naming the row).
struct F32Rows {
  py::array_t<float, py::array::c_style> arr;
  std::size_t rows = 0, dim = 0;
  const float* data() const { return arr.data(); }
};
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

app::BootstrapOptions bootstrap_options(bool enabled, std::optional<int> replicates, std::optional<double> confidence,
                                        std::optional<std::uint64_t> seed) {
  app::BootstrapOptions o;
  o.enabled = enabled;
  if (replicates) o.replicates = *replicates;
  if (confidence) o.confidence = *confidence;
  if (seed) o.seed = *seed;
  app::validate(o);
  return o;
}

std::pair<int, int> pq_text(const std::string& text) {
  const auto x = text.find('x');
  auto digits = [](const std::string& s) {
    return !s.empty() && s.size() < 6 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (x == std::string::npos || !digits(text.substr(0, x)) || !digits(text.substr(x + 1)))
    throw Error("pq = '" + text + "': expected 'MxBITS', e.g. '16x8'");
  return {std::stoi(text.substr(0, x)), std::stoi(text.substr(x + 1))};
}

// ---- workflows ----------------------------------------------------------------------------------

py::object audit(const py::handle& array, int bits, double kappa, std::optional<int> budget, std::optional<std::string> pq,
                 std::string pq_transform, std::optional<double> zca_eps, std::optional<std::uint64_t> seed, bool small_sample,
                 bool bootstrap, std::optional<int> replicates, std::optional<double> confidence,
                 std::optional<std::uint64_t> bootstrap_seed, std::optional<int> precision) {
  const NpyArray a = float_matrix(array, "audit: array");
  app::AuditOptions o;
  o.bits = bits;
  o.kappa = ref::Real(kappa);
  o.budget = budget;
  o.allow_small_sample = small_sample;
  o.bootstrap = bootstrap_options(bootstrap, replicates, confidence, bootstrap_seed);
  if (pq) {
    ref::PqOptions po;
    const auto [m, b] = pq_text(*pq);
    try {
      po.shape = ref::make_pq_shape(static_cast<int>(a.shape[1]), m, b);
    } catch (const Error& e) {
      throw Error("pq = '" + *pq + "': " + e.what());
    }
    bool known = false;
    for (auto t : {ref::PqTransform::identity, ref::PqTransform::eigenbasis, ref::PqTransform::soft_zca})
      if (pq_transform == ref::to_string(t)) po.transform = t, known = true;
    if (!known) throw Error("pq_transform = '" + pq_transform + "' (expected identity, eigenbasis or soft-zca)");
    if (zca_eps) po.zca_eps_rel = ref::Real(*zca_eps);
    if (seed) po.kmeans.seed = *seed;
    o.pq = po;
  }
  if (precision) {
    if (*precision < 64 || *precision > 16384) throw Error("precision = " + std::to_string(*precision) + " is outside 64..16384");
    ref::set_precision_bits(*precision);
  }
  std::string json;
  {
    py::gil_scoped_release release;
    json = app::to_json(app::run_audit(a.data, a.shape[0], a.shape[1], o, "<array>"));
  }
  return from_json(json);
}

app::KvStreams streams_of(const py::handle& cache, const app::KvLayout& layout) {
  if (py::isinstance<py::str>(cache)) return app::open_kv_streams(cache.cast<std::string>(), layout);
  if (py::isinstance<py::dict>(cache)) {
    const py::dict d = cache.cast<py::dict>();
    if (d.size() == 0) throw Error("audit_stream: the mapping is empty");
    bool tuple_keys = false, str_keys = false;
    for (auto item : d) (py::isinstance<py::tuple>(item.first) ? tuple_keys : str_keys) = true;
    if (tuple_keys && str_keys) throw Error("audit_stream: keys must be all names (str) or all (layer, head, kind) tuples");
    if (str_keys) {
      auto tensors = std::make_shared<std::vector<NamedTensor>>();
      for (auto item : d) {
        const std::string name = item.first.cast<std::string>();
        tensors->push_back({name, float_array(item.second, "audit_stream: '" + name + "'")});
      }
      return app::kv_streams(tensors, "<arrays>", layout);
    }
    // {(layer, head, kind): [T, d]}
    auto data = std::make_shared<std::map<std::string, pipeline::Stream>>();
    app::KvStreams s;
    s.input = "<arrays>";
    for (auto item : d) {
      const py::tuple k = item.first.cast<py::tuple>();
      if (k.size() != 3) throw Error("audit_stream: key " + std::string(py::repr(k)) + " is not (layer, head, kind)");
      app::KvFile f;
      f.layer = k[0].cast<int>();
      f.head = k[1].cast<int>();
      f.kind = k[2].cast<std::string>();
      if (f.kind != "k_pre" && f.kind != "k_post" && f.kind != "v")
        throw Error("audit_stream: key " + std::string(py::repr(k)) + ": kind '" + f.kind + "' is not one of k_pre, k_post, v");
      if (f.layer < 0 || f.head < 0) throw Error("audit_stream: key " + std::string(py::repr(k)) + ": negative layer or head");
      f.path = "<arrays>[" + std::to_string(f.layer) + ", " + std::to_string(f.head) + ", " + f.kind + "]";
      if (s.find(f.layer, f.head, f.kind)) throw Error("audit_stream: key " + std::string(py::repr(k)) + " given twice");
      (*data)[f.path] = stream_of(float_matrix(item.second, "audit_stream: " + f.path));
      s.files.push_back(f);
    }
    s.load = [data](const app::KvFile& f) { return data->at(f.path); };
    return s;
  }
  auto tensors = std::make_shared<std::vector<NamedTensor>>();
  tensors->push_back({"", float_array(cache, "audit_stream: cache")});
  return app::kv_streams(tensors, "<array>", layout);
}

app::KvLayout layout_of(std::optional<std::string> layout, std::optional<std::string> kind, std::optional<std::size_t> batch,
                        const std::string& keys) {
  app::KvLayout l;
  l.axes = layout;
  l.kind = kind;
  l.batch = batch;
  if (keys != "pre" && keys != "post") throw Error("keys = '" + keys + "' must be 'pre' or 'post'");
  l.keys_pre = keys == "pre";
  return l;
}

py::object audit_stream(const py::handle& cache, std::optional<std::string> layout, std::optional<std::string> kind,
                        std::optional<std::size_t> batch, std::string keys, int bits, double kappa, double half_life, double theta,
                        py::object eta, std::optional<std::string> pq, bool bootstrap, std::optional<int> replicates,
                        std::optional<double> confidence, std::optional<std::uint64_t> bootstrap_seed, std::optional<int> jobs) {
  app::StreamAuditOptions o;
  o.jobs = jobs.value_or(app::default_jobs());
  if (bits < 1 || bits > 8) throw Error("bits = " + std::to_string(bits) + " is outside 1..8");
  o.bits = bits;
  if (!(kappa > 0) || !std::isfinite(kappa)) throw Error("kappa must be positive and finite");
  o.kappa = kappa;
  if (!(half_life > 0) || !(theta > 0)) throw Error("half_life and theta must be positive");
  o.monitor.half_life = half_life;
  o.monitor.theta = theta;
  if (!(py::isinstance<py::str>(eta) && eta.cast<std::string>() == "auto")) {
    const double e = eta.cast<double>();
    if (!(e >= 0 && e < 1)) throw Error("eta = " + std::to_string(e) + " must be 'auto' or a number in [0, 1)");
    o.eta = {false, e};
  }
  if (pq) {
    const auto [m, b] = pq_text(*pq);
    o.pq = ref::PqShape{0, m, b};
    o.pq_text = *pq;
  }
  o.bootstrap = bootstrap_options(bootstrap, replicates, confidence, bootstrap_seed);
  const app::KvStreams streams = streams_of(cache, layout_of(layout, kind, batch, keys));
  std::string json;
  {
    py::gil_scoped_release release;
    json = app::to_json(app::audit_streams(streams, o));
  }
  return from_json(json);
}

py::object paper_check(bool quick, std::uint64_t seed, std::optional<std::string> kv, std::optional<std::string> layout,
                       std::optional<std::string> kind, std::optional<std::size_t> batch, std::string keys) {
  app::PaperCheckOptions o;
  o.quick = quick;
  o.seed = seed;
  o.kv_dir = kv;
  o.kv_layout = layout_of(layout, kind, batch, keys);
  std::string json;
  {
    py::gil_scoped_release release;
    json = app::to_json(app::paper_check(o));
  }
  return from_json(json);
}

py::object codebook(int dim, int bits, int digits) {
  std::string json;
  {
    py::gil_scoped_release release;
    json = app::to_json(app::make_codebook(dim, bits, digits));
  }
  return from_json(json);
}

std::vector<ref::Real> reals(const py::handle& seq, const std::string& what) {
  std::vector<ref::Real> out;
  for (auto v : seq) {
    if (py::isinstance<py::str>(v)) {
      try {
        out.emplace_back(v.cast<std::string>());
      } catch (const std::exception&) {
        throw Error(what + ": '" + v.cast<std::string>() + "' is not a number");
      }
    } else {
      const double x = v.cast<double>();
      if (!std::isfinite(x)) throw Error(what + ": a non-finite entry");
      out.emplace_back(x);
    }
  }
  return out;
}

py::object codebook_check(const py::handle& table, int dim, int bits, double max_excess) {
  py::object centroids, thresholds;
  if (py::isinstance<py::dict>(table)) {
    const py::dict d = table.cast<py::dict>();
    if (!d.contains("centroids") || !d.contains("thresholds"))
      throw Error("codebook_check: the table needs 'centroids' and 'thresholds'");
    centroids = d["centroids"];
    thresholds = d["thresholds"];
  } else {
    throw Error("codebook_check: table must be a dict {'centroids': [...], 'thresholds': [...]}");
  }
  const auto c = reals(centroids, "codebook_check: centroids"), t = reals(thresholds, "codebook_check: thresholds");
  std::string json;
  {
    py::gil_scoped_release release;
    json = app::to_json(app::check_codebook(c, t, dim, bits, max_excess, "<table>"));
  }
  return from_json(json);
}

// ---- codecs -------------------------------------------------------------------------------------

struct PyScalarCodec {
  std::shared_ptr<fast::Codec> codec;
};

PyScalarCodec scalar_fit(const py::handle& x, int bits, double kappa, const std::string& basis) {
  const NpyArray a = float_matrix(x, "ScalarCodec.fit: x");
  if (bits < 1 || bits > 8) throw Error("ScalarCodec.fit: bits = " + std::to_string(bits) + " is outside 1..8");
  if (!(kappa > 0) || !std::isfinite(kappa)) throw Error("ScalarCodec.fit: kappa must be positive and finite");
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

struct PyTurboCodec {
  std::shared_ptr<fast::TurboCodec> codec;
};
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

struct PyPq {
  std::shared_ptr<fast::ProductQuantizer> pq;
};

// ---- gate ---------------------------------------------------------------------------------------

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

PYBIND11_MODULE(_deltapq, m) {
  m.doc() = "deltapq: the theory of KV-cache compression, executable and checkable (C++ core)";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const dpq::Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });

  m.def("audit", &audit, py::arg("array"), py::kw_only(), py::arg("bits") = 4, py::arg("kappa") = 3.0, py::arg("budget") = py::none(),
        py::arg("pq") = py::none(), py::arg("pq_transform") = "soft-zca", py::arg("zca_eps") = py::none(), py::arg("seed") = py::none(),
        py::arg("small_sample") = false, py::arg("bootstrap") = true, py::arg("replicates") = py::none(),
        py::arg("confidence") = py::none(), py::arg("bootstrap_seed") = py::none(), py::arg("precision") = py::none(),
        "Part A (and with pq='MxBITS' Part B) on a stream [T, d]; the dict of `deltapq audit --json`.");
  m.def("audit_stream", &audit_stream, py::arg("cache"), py::kw_only(), py::arg("layout") = py::none(), py::arg("kind") = py::none(),
        py::arg("batch") = py::none(), py::arg("keys") = "post", py::arg("bits") = 4, py::arg("kappa") = 3.0,
        py::arg("half_life") = 64.0, py::arg("theta") = 0.8, py::arg("eta") = py::str("auto"), py::arg("pq") = py::none(),
        py::arg("bootstrap") = true, py::arg("replicates") = py::none(), py::arg("confidence") = py::none(),
        py::arg("bootstrap_seed") = py::none(), py::arg("jobs") = py::none(),
        "Part C on every stream of a KV cache: an N-D array with layout='L,H,T,D' (and kind=), a dict "
        "{name: array} or {(layer, head, kind): [T, d]}, or a path (kvdump directory or tensor file).");
  m.def("paper_check", &paper_check, py::kw_only(), py::arg("quick") = true, py::arg("seed") = 2026, py::arg("kv") = py::none(),
        py::arg("layout") = py::none(), py::arg("kind") = py::none(), py::arg("batch") = py::none(), py::arg("keys") = "post",
        "The TurboQuant paper's findings on the D8 grid (or a kvdump / tensor file with kv=PATH).");
  m.def("codebook", &codebook, py::arg("dim"), py::arg("bits"), py::arg("digits") = 20,
        "The certified Lloyd-Max codebook of the sphere marginal; the dict of `deltapq codebook --json`.");
  m.def("codebook_check", &codebook_check, py::arg("table"), py::arg("dim"), py::arg("bits"), py::arg("max_excess") = 1.0,
        "Audit a third-party table {'centroids', 'thresholds'}: excess MSE over the optimum, defects.");

  py::class_<PyScalarCodec>(m, "ScalarCodec", "The Part A codec (float32, AVX2/scalar), bit-packed codes")
      .def_static("fit", &scalar_fit, py::arg("x"), py::kw_only(), py::arg("bits") = 4, py::arg("kappa") = 3.0,
                  py::arg("basis") = "eigen", "Matched design on x: clip kappa*sqrt(lambda) in the eigenbasis or per channel")
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

  m.def("gate_check", &gate_check, py::arg("design"), py::arg("x"), py::arg("codes"), py::kw_only(), py::arg("decoded") = py::none(),
        py::arg("norms") = py::none(), py::arg("signs") = py::none(), py::arg("residual_norms") = py::none(),
        py::arg("refused") = py::none(),
        "Check a kernel's outputs on x against the reference: per entry exact / acceptable / wrong (dict of `deltapq gate --json`).");
  m.def("gate_kernel", &gate_kernel, py::arg("encode"), py::arg("design"), py::kw_only(), py::arg("decode") = py::none(),
        py::arg("batches") = 50, py::arg("rows") = 64, py::arg("seed") = 1,
        "Drive a Python kernel encode(x) with batches of random and edge rows; the first failure is reduced to one row.");
}
