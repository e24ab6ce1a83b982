// The workflows in Python: audit, audit_stream, eval_nll, paper_check, codebook, codebook_check. Each returns
// the dict of the CLI's JSON report (app::to_json) and releases the GIL while it runs.
#include <pybind11/stl.h>

#include <cmath>
#include <map>

#include "deltapq/app/audit.h"
#include "deltapq/app/codebook.h"
#include "deltapq/app/eval_nll.h"
#include "deltapq/app/kv_source.h"
#include "deltapq/app/paper_check.h"
#include "deltapq/app/report.h"
#include "deltapq/app/stream_audit.h"
#include "deltapq/reference/pq.h"

#include "deltapq/core/error.h"
#include "module_support.h"

namespace dpq::py_module {
namespace {

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

// The zone monitor's options (audit_stream, eval_nll): half_life, theta, and eta 'auto' or a number.
template <class Options>
void set_monitor(Options& o, double half_life, double theta, const py::object& eta) {
  if (!(half_life > 0) || !(theta > 0)) throw Error("half_life and theta must be positive");
  o.monitor.half_life = half_life;
  o.monitor.theta = theta;
  if (!(py::isinstance<py::str>(eta) && eta.cast<std::string>() == "auto")) {
    const double e = eta.cast<double>();
    if (!(e >= 0 && e < 1)) throw Error("eta = " + std::to_string(e) + " must be 'auto' or a number in [0, 1)");
    o.eta = {false, e};
  }
}

// precision= for one call: the full MPFR path at that many bits, the previous precision restored afterwards.
struct CallPrecision {
  std::optional<ref::PrecisionScope> scope;
  explicit CallPrecision(std::optional<int> bits) {
    if (!bits) return;
    if (*bits < 64 || *bits > 16384) throw Error("precision = " + std::to_string(*bits) + " is outside 64..16384");
    scope.emplace(*bits);
  }
  bool active() const { return scope.has_value(); }
};

py::object audit(const py::handle& array, int bits, const py::object& kappa, std::optional<int> budget, std::optional<std::string> pq,
                 std::string pq_transform, std::optional<double> zca_eps, std::optional<std::uint64_t> seed, bool small_sample,
                 bool bootstrap, std::optional<int> replicates, std::optional<double> confidence,
                 std::optional<std::uint64_t> bootstrap_seed, std::optional<int> precision, std::optional<int> jobs) {
  const NpyArray a = float_matrix(array, "audit: array");
  app::AuditOptions o;
  o.jobs = jobs.value_or(app::default_jobs());
  o.bits = bits;
  if (const std::optional<double> k = kappa_arg(kappa, ""))
    o.kappa = ref::Real(*k);
  else
    o.kappa_auto = true;
  o.budget = budget;
  o.allow_small_sample = small_sample;
  o.bootstrap = bootstrap_options(bootstrap, replicates, confidence, bootstrap_seed);
  if (pq) {
    ref::PqOptions po;
    po.shape = ref::parse_pq_shape(*pq, static_cast<int>(a.shape[1]), "pq =");
    po.transform = ref::parse_pq_transform(pq_transform);
    if (zca_eps) po.zca_eps_rel = ref::Real(*zca_eps);
    if (seed) po.kmeans.seed = *seed;
    o.pq = po;
  }
  const CallPrecision scope(precision);
  o.full_precision = scope.active();  // an explicit precision: the full MPFR path for everything
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
                        std::optional<std::size_t> batch, std::string keys, int bits, const py::object& kappa, double half_life, double theta,
                        py::object eta, std::optional<std::string> pq, bool bootstrap, std::optional<int> replicates,
                        std::optional<double> confidence, std::optional<std::uint64_t> bootstrap_seed, std::optional<int> precision,
                        std::optional<int> jobs) {
  app::StreamAuditOptions o;
  const CallPrecision scope(precision);
  o.full_precision = scope.active();
  o.jobs = jobs.value_or(app::default_jobs());
  if (bits < 1 || bits > 8) throw Error("bits = " + std::to_string(bits) + " is outside 1..8");
  o.bits = bits;
  if (const std::optional<double> k = kappa_arg(kappa, ""))
    o.kappa = *k;
  else
    o.kappa_auto = true;
  set_monitor(o, half_life, theta, eta);
  if (pq) {
    const auto [m, b] = ref::parse_pq_text(*pq, "pq =");
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

// A str or a list of str / a single int or a list of int.
template <class T>
std::vector<T> one_or_list(const py::handle& v, const std::string& what) {
  if (py::isinstance<py::list>(v) || py::isinstance<py::tuple>(v)) {
    std::vector<T> out;
    for (auto e : v) out.push_back(e.cast<T>());
    if (out.empty()) throw Error(what + " is an empty list");
    return out;
  }
  return {v.cast<T>()};
}

py::object eval_nll(const std::string& model, const std::string& tokenizer, const py::handle& text, std::string kv_scheme,
                    const py::handle& bits, std::optional<std::string> versus, double kappa, std::string part,
                    std::optional<std::vector<int>> layers, std::optional<int> max_tokens, double half_life, double theta,
                    py::object eta, bool bootstrap, std::optional<int> replicates, std::optional<double> confidence,
                    std::optional<std::uint64_t> bootstrap_seed, std::optional<int> jobs) {
  app::EvalNllOptions o;
  o.scheme = pipeline::parse_kv_scheme(kv_scheme);
  if (versus) o.versus = pipeline::parse_kv_scheme(*versus);
  const std::vector<std::string> texts = one_or_list<std::string>(text, "text");
  const std::vector<int> widths = one_or_list<int>(bits, "bits");
  for (int b : widths)
    if (b < 1 || b > 8) throw Error("bits = " + std::to_string(b) + " is outside 1..8");
  o.bits = widths.front();
  if (!(kappa > 0) || !std::isfinite(kappa)) throw Error("kappa must be positive and finite");
  o.kappa = kappa;
  app::set_part(o, part, "part =");
  if (layers) o.layers = *layers;
  if (max_tokens && *max_tokens < 2) throw Error("max_tokens = " + std::to_string(*max_tokens) + " is below 2");
  set_monitor(o, half_life, theta, eta);
  o.bootstrap = bootstrap_options(bootstrap, replicates, confidence, bootstrap_seed);
  auto is_list = [](const py::handle& v) { return py::isinstance<py::list>(v) || py::isinstance<py::tuple>(v); };
  const bool sweep = is_list(text) || is_list(bits);
  std::string json;
  {
    py::gil_scoped_release release;
    if (!sweep) {
      json = app::to_json(app::eval_nll_files(model, tokenizer, texts.front(), max_tokens, o));
    } else {
      app::EvalNllSweepOptions so;
      so.base = o;
      so.bits = widths;
      so.max_tokens = max_tokens;
      so.jobs = jobs.value_or(app::default_jobs());
      if (so.jobs < 1 || so.jobs > 1024) throw Error("jobs = " + std::to_string(so.jobs) + " is outside 1..1024");
      json = app::to_json(app::eval_nll_sweep(model, tokenizer, texts, so));
    }
  }
  return from_json(json);
}

py::object paper_check(bool quick, std::uint64_t seed, std::optional<std::string> kv, std::optional<std::string> layout,
                       std::optional<std::string> kind, std::optional<std::size_t> batch, std::string keys,
                       std::optional<int> jobs, std::optional<std::string> model, std::optional<std::string> tokenizer,
                       std::optional<std::string> text, std::optional<int> max_tokens) {
  app::PaperCheckOptions o;
  if (model || tokenizer || text || max_tokens) {
    if (!model || !tokenizer || !text) throw Error("paper_check: the downstream check needs all of model, tokenizer and text");
    if (max_tokens && *max_tokens < 2) throw Error("max_tokens = " + std::to_string(*max_tokens) + " is below 2");
    o.model = app::PaperCheckOptions::ModelInput{*model, *tokenizer, *text, max_tokens};
  }
  o.jobs = jobs.value_or(app::default_jobs());
  if (o.jobs < 1 || o.jobs > 1024) throw Error("jobs = " + std::to_string(o.jobs) + " is outside 1..1024");
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

}  // namespace

void bind_workflows(py::module_& m) {
  m.def("audit", &audit, py::arg("array"), py::kw_only(), py::arg("bits") = 4, py::arg("kappa") = 3.0, py::arg("budget") = py::none(),
        py::arg("pq") = py::none(), py::arg("pq_transform") = "soft-zca", py::arg("zca_eps") = py::none(), py::arg("seed") = py::none(),
        py::arg("small_sample") = false, py::arg("bootstrap") = true, py::arg("replicates") = py::none(),
        py::arg("confidence") = py::none(), py::arg("bootstrap_seed") = py::none(), py::arg("precision") = py::none(),
        py::arg("jobs") = py::none(),
        "Part A (and with pq='MxBITS' Part B) on a stream [T, d]; the dict of `deltapq audit --json`.");
  m.def("audit_stream", &audit_stream, py::arg("cache"), py::kw_only(), py::arg("layout") = py::none(), py::arg("kind") = py::none(),
        py::arg("batch") = py::none(), py::arg("keys") = "post", py::arg("bits") = 4, py::arg("kappa") = 3.0,
        py::arg("half_life") = 64.0, py::arg("theta") = 0.8, py::arg("eta") = py::str("auto"), py::arg("pq") = py::none(),
        py::arg("bootstrap") = true, py::arg("replicates") = py::none(), py::arg("confidence") = py::none(),
        py::arg("bootstrap_seed") = py::none(), py::arg("precision") = py::none(), py::arg("jobs") = py::none(),
        "Part C on every stream of a KV cache: an N-D array with layout='L,H,T,D' (and kind=), a dict "
        "{name: array} or {(layer, head, kind): [T, d]}, or a path (kvdump directory or tensor file).");
  m.def("paper_check", &paper_check, py::kw_only(), py::arg("quick") = true, py::arg("seed") = 2026, py::arg("kv") = py::none(),
        py::arg("layout") = py::none(), py::arg("kind") = py::none(), py::arg("batch") = py::none(), py::arg("keys") = "post",
        py::arg("jobs") = py::none(), py::arg("model") = py::none(), py::arg("tokenizer") = py::none(), py::arg("text") = py::none(),
        py::arg("max_tokens") = py::none(),
        "The TurboQuant paper's findings on the D8 grid (or a kvdump / tensor file with kv=PATH); with model=, "
        "tokenizer=, text= also the schemes as that model's KV cache (the report's 'downstream').");
  m.def("eval_nll", &eval_nll, py::arg("model"), py::arg("tokenizer"), py::arg("text"), py::kw_only(), py::arg("kv_scheme") = "fp32",
        py::arg("bits") = 4, py::arg("versus") = py::none(), py::arg("kappa") = 3.0, py::arg("part") = "kv",
        py::arg("layers") = py::none(), py::arg("max_tokens") = py::none(), py::arg("half_life") = 64.0, py::arg("theta") = 0.8,
        py::arg("eta") = py::str("auto"), py::arg("bootstrap") = true, py::arg("replicates") = py::none(),
        py::arg("confidence") = py::none(), py::arg("bootstrap_seed") = py::none(), py::arg("jobs") = py::none(),
        "Next-token NLL and KL of a llama2.c model with its KV cache through a scheme (fp32, direct, delta-open, "
        "delta-closed, delta-zoned, kv, kqv, qkqv); the dict of `deltapq eval-nll --json`. A list of texts or of "
        "bit widths is a sweep (the dict's 'runs' and 'by_bits').");
  m.def("codebook", &codebook, py::arg("dim"), py::arg("bits"), py::arg("digits") = 20,
        "The certified Lloyd-Max codebook of the sphere marginal; the dict of `deltapq codebook --json`.");
  m.def("codebook_check", &codebook_check, py::arg("table"), py::arg("dim"), py::arg("bits"), py::arg("max_excess") = 1.0,
        "Audit a third-party table {'centroids', 'thresholds'}: excess MSE over the optimum, defects.");
}

}  // namespace dpq::py_module
