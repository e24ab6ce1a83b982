// The gate's design JSON (schema in app/gate.h) and the row status rule.
#include <cmath>
#include <cfloat>
#include <nlohmann/json.hpp>

#include "deltapq/app/gate.h"
#include "deltapq/core/error.h"
#include "deltapq/fast/pq.h"
#include "deltapq/fast/turbo_codec.h"
#include "json_input.h"

namespace dpq::app {
namespace {

using json = nlohmann::json;

[[noreturn]] void bad(const std::string& where, const std::string& what) { throw Error(where + ": " + what); }

const json& field(const json& j, const std::string& where, const char* key) {
  if (!j.contains(key)) bad(where, std::string("no \"") + key + "\"");
  return j.at(key);
}

int int_of(const json& j, const std::string& where, const char* key, int lo, int hi) {
  const json& v = field(j, where, key);
  if (!v.is_number_integer()) bad(where, std::string("\"") + key + "\" = " + v.dump() + " is not an integer");
  const long long x = v.get<long long>();
  if (x < lo || x > hi) bad(where, std::string("\"") + key + "\" = " + std::to_string(x) + " is outside " + std::to_string(lo) + ".." + std::to_string(hi));
  return static_cast<int>(x);
}

std::vector<float> floats_of(const json& v, const std::string& where, const char* key, std::size_t expect) {
  if (!v.is_array()) bad(where, std::string("\"") + key + "\" is not an array");
  if (v.size() != expect)
    bad(where, std::string("\"") + key + "\" has " + std::to_string(v.size()) + " entries, expected " + std::to_string(expect));
  std::vector<float> out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_number()) bad(where, std::string(key) + "[" + std::to_string(i) + "] = " + v[i].dump() + " is not a number");
    const double x = v[i].get<double>();
    const float f = static_cast<float>(x);
    if (!std::isfinite(f)) bad(where, std::string(key) + "[" + std::to_string(i) + "] = " + v[i].dump() + " is not a finite float32");
    out.push_back(f);
  }
  return out;
}

json floats_json(const std::vector<float>& v) {
  json a = json::array();
  for (float f : v) a.push_back(static_cast<double>(f));
  return a;
}

}  // namespace

const char* to_string(GateFamily f) { return f == GateFamily::scalar ? "scalar" : f == GateFamily::turbo ? "turbo" : "pq"; }
const char* to_string(RowStatus s) { return s == RowStatus::valid ? "valid" : s == RowStatus::must_refuse ? "must refuse" : "may refuse"; }

int GateDesign::dim() const {
  return family == GateFamily::scalar ? static_cast<int>(scalar.design.dim()) : family == GateFamily::turbo ? turbo.dim : pq.dim;
}
int GateDesign::codes_per_row() const { return family == GateFamily::pq ? pq.blocks : dim(); }
int GateDesign::qjl_rows() const { return family == GateFamily::turbo ? turbo.qjl_rows : 0; }
std::int64_t GateDesign::max_code(std::size_t column) const {
  if (family == GateFamily::scalar) return (std::int64_t{1} << scalar.design.bits[column]) - 1;
  if (family == GateFamily::turbo) return (std::int64_t{1} << turbo.bits) - 1;
  return pq.k() - 1;
}

GateDesign parse_gate_design(const std::string& text, const std::string& where) {
  json j;
  try {
    j = json::parse(text);
  } catch (const std::exception& e) {
    bad(where, std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) bad(where, "not a JSON object");
  if (j.contains("format") && j["format"] != "deltapq-design") bad(where, "\"format\" is not \"deltapq-design\"");
  if (j.contains("version") && (!j["version"].is_number_integer() || j["version"].get<int>() != 1))
    bad(where, "\"version\" = " + j["version"].dump() + " is not 1 (this deltapq reads version 1)");
  const json& fam = field(j, where, "family");
  if (!fam.is_string()) bad(where, "\"family\" is not a string");
  const std::string family = fam.get<std::string>();
  const int dim = int_of(j, where, "dim", 1, 16384);
  ref::gate::Arithmetic arith = ref::gate::Arithmetic::fp32;
  if (j.contains("arithmetic")) {
    if (j["arithmetic"] == "exact") arith = ref::gate::Arithmetic::exact;
    else if (j["arithmetic"] != "fp32") bad(where, "\"arithmetic\" = " + j["arithmetic"].dump() + " is not \"fp32\" or \"exact\"");
  }
  const std::size_t d = static_cast<std::size_t>(dim);
  GateDesign g;
  if (family == "scalar") {
    g.family = GateFamily::scalar;
    auto& ds = g.scalar.design;
    g.scalar.arithmetic = arith;
    const json& bits = field(j, where, "bits");
    if (!bits.is_array() || bits.size() != d) bad(where, "\"bits\" must be an array of dim = " + std::to_string(dim) + " integers");
    for (std::size_t i = 0; i < d; ++i) {
      if (!bits[i].is_number_integer()) bad(where, "bits[" + std::to_string(i) + "] is not an integer");
      ds.bits.push_back(bits[i].get<int>());
    }
    ds.clip = floats_of(field(j, where, "clip"), where, "clip", d);
    if (j.contains("mean") && !j["mean"].is_null()) ds.mean = floats_of(j["mean"], where, "mean", d);
    if (j.contains("basis") && !j["basis"].is_null()) ds.basis = floats_of(j["basis"], where, "basis", d * d);
    try {
      ref::gate::validate(g.scalar);
    } catch (const Error& e) {
      bad(where, e.what());
    }
    return g;
  }
  if (family == "turbo") {
    g.family = GateFamily::turbo;
    auto& t = g.turbo;
    t.arithmetic = arith;
    t.dim = dim;
    t.bits = int_of(j, where, "bits", 1, 8);
    const std::size_t L = std::size_t{1} << t.bits;
    t.centroids = floats_of(field(j, where, "centroids"), where, "centroids", L);
    t.thresholds = floats_of(field(j, where, "thresholds"), where, "thresholds", L - 1);
    const json& rot = field(j, where, "rotation");
    if (!rot.is_object() || !rot.contains("kind") || !rot["kind"].is_string()) bad(where, "\"rotation\" needs a \"kind\"");
    const std::string kind = rot["kind"].get<std::string>();
    if (kind == "hadamard") {
      t.rotation = ref::gate::TurboDesignSpec::Rotation::hadamard;
      t.signs = floats_of(field(rot, where + ": rotation", "signs"), where + ": rotation", "signs", d);
    } else if (kind == "dense") {
      t.rotation = ref::gate::TurboDesignSpec::Rotation::dense;
      t.matrix = floats_of(field(rot, where + ": rotation", "matrix"), where + ": rotation", "matrix", d * d);
    } else if (kind == "identity") {
      t.rotation = ref::gate::TurboDesignSpec::Rotation::identity;
    } else {
      bad(where, "rotation \"kind\" = \"" + kind + "\" is not hadamard, dense or identity");
    }
    if (j.contains("qjl") && !j["qjl"].is_null()) {
      const json& q = j["qjl"];
      if (!q.is_object()) bad(where, "\"qjl\" is not an object");
      t.qjl_rows = int_of(q, where + ": qjl", "rows", 1, 65536);
      t.sketch = floats_of(field(q, where + ": qjl", "sketch"), where + ": qjl", "sketch", static_cast<std::size_t>(t.qjl_rows) * d);
    }
    try {
      ref::gate::validate(t);
    } catch (const Error& e) {
      bad(where, e.what());
    }
    return g;
  }
  if (family == "pq") {
    g.family = GateFamily::pq;
    auto& p = g.pq;
    p.arithmetic = arith;
    p.dim = dim;
    p.blocks = int_of(j, where, "blocks", 1, dim);
    p.bits = int_of(j, where, "bits", 1, 8);
    if (dim % p.blocks) bad(where, "blocks = " + std::to_string(p.blocks) + " does not divide dim = " + std::to_string(dim));
    p.centroids = floats_of(field(j, where, "centroids"), where, "centroids",
                            static_cast<std::size_t>(p.blocks) * static_cast<std::size_t>(p.k()) * static_cast<std::size_t>(p.block_dim()));
    try {
      ref::gate::validate(p);
    } catch (const Error& e) {
      bad(where, e.what());
    }
    return g;
  }
  bad(where, "\"family\" = \"" + family + "\" is not scalar, turbo or pq");
}

GateDesign read_gate_design(const std::string& path) {
  const json j = detail::read_json_file(path, "cannot read the design");
  return parse_gate_design(j.dump(), path);
}

std::string gate_design_json(const GateDesign& g) {
  json j{{"format", "deltapq-design"}, {"version", 1}, {"family", to_string(g.family)}, {"dim", g.dim()}};
  if (g.family == GateFamily::scalar) {
    const auto& ds = g.scalar.design;
    j["arithmetic"] = g.scalar.arithmetic == ref::gate::Arithmetic::exact ? "exact" : "fp32";
    j["bits"] = ds.bits;
    j["clip"] = floats_json(ds.clip);
    if (!ds.mean.empty()) j["mean"] = floats_json(ds.mean);
    if (!ds.basis.empty()) j["basis"] = floats_json(ds.basis);
  } else if (g.family == GateFamily::turbo) {
    const auto& t = g.turbo;
    j["arithmetic"] = t.arithmetic == ref::gate::Arithmetic::exact ? "exact" : "fp32";
    j["bits"] = t.bits;
    j["centroids"] = floats_json(t.centroids);
    j["thresholds"] = floats_json(t.thresholds);
    if (t.rotation == ref::gate::TurboDesignSpec::Rotation::hadamard) j["rotation"] = {{"kind", "hadamard"}, {"signs", floats_json(t.signs)}};
    else if (t.rotation == ref::gate::TurboDesignSpec::Rotation::dense) j["rotation"] = {{"kind", "dense"}, {"matrix", floats_json(t.matrix)}};
    else j["rotation"] = {{"kind", "identity"}};
    if (t.qjl_rows > 0) j["qjl"] = {{"rows", t.qjl_rows}, {"sketch", floats_json(t.sketch)}};
  } else {
    const auto& p = g.pq;
    j["arithmetic"] = p.arithmetic == ref::gate::Arithmetic::exact ? "exact" : "fp32";
    j["blocks"] = p.blocks;
    j["bits"] = p.bits;
    j["centroids"] = floats_json(p.centroids);
  }
  return j.dump() + "\n";
}

GateDesign gate_design_of(const fast::TurboCodec& codec) {
  GateDesign g;
  g.family = GateFamily::turbo;
  auto& t = g.turbo;
  t.dim = codec.dim();
  t.bits = codec.bits();
  t.centroids = codec.codebook().centroids;
  t.thresholds = codec.codebook().thresholds;
  const fast::RotationKind kind = codec.rotation().kind();
  t.rotation = kind == fast::RotationKind::hadamard ? ref::gate::TurboDesignSpec::Rotation::hadamard
               : kind == fast::RotationKind::dense  ? ref::gate::TurboDesignSpec::Rotation::dense
                                                    : ref::gate::TurboDesignSpec::Rotation::identity;
  if (kind == fast::RotationKind::hadamard) t.signs = codec.rotation().signs();
  if (kind == fast::RotationKind::dense) t.matrix = codec.rotation().dense();
  if (const fast::QjlSketch* q = codec.qjl()) {
    t.qjl_rows = q->m();
    t.sketch = q->matrix();
  }
  ref::gate::validate(t);
  return g;
}

GateDesign gate_design_of(const fast::ProductQuantizer& pq) {
  GateDesign g;
  g.family = GateFamily::pq;
  g.pq.dim = pq.dim();
  g.pq.blocks = pq.blocks();
  g.pq.bits = pq.bits();
  g.pq.centroids = pq.centroids();
  ref::gate::validate(g.pq);
  return g;
}

GateDesign gate_design_of(const Design<float>& scalar_design) {
  GateDesign g;
  g.family = GateFamily::scalar;
  g.scalar.design = scalar_design;
  ref::gate::validate(g.scalar);
  return g;
}

RowStatus row_status(const GateDesign& g, const float* x) {
  const std::size_t d = static_cast<std::size_t>(g.dim());
  double m = 0;
  for (std::size_t j = 0; j < d; ++j) {
    if (!std::isfinite(x[j])) return RowStatus::must_refuse;
    m = std::max(m, static_cast<double>(std::fabs(x[j])));
  }
  // float32 overflow risk, per family: sums of squares (turbo, pq) or d-term dot products (a rotated
  // scalar design) of values this large can exceed FLT_MAX; a kernel may refuse such rows.
  const double limit = FLT_MAX / 4;
  if (g.family == GateFamily::turbo && m * m * static_cast<double>(d) > limit) return RowStatus::may_refuse;
  if (g.family == GateFamily::pq) {
    double c = 0;
    for (float v : g.pq.centroids) c = std::max(c, static_cast<double>(std::fabs(v)));
    if ((m + c) * (m + c) * g.pq.block_dim() > limit) return RowStatus::may_refuse;
  }
  if (g.family == GateFamily::scalar) {
    // Intermediates: y = U^T (x - mu) (d terms; 1 for the identity basis), then (y + c_i) / step_i.
    const auto& ds = g.scalar.design;
    double mu = 0;
    for (float v : ds.mean) mu = std::max(mu, static_cast<double>(std::fabs(v)));
    const double terms = ds.basis.empty() ? 1.0 : static_cast<double>(d);
    for (std::size_t i = 0; i < d; ++i) {
      const double step = std::ldexp(static_cast<double>(ds.clip[i]), 1 - ds.bits[i]);
      if ((terms * (m + mu) + ds.clip[i]) / std::min(step, 1.0) > limit) return RowStatus::may_refuse;
    }
  }
  return RowStatus::valid;
}

}  // namespace dpq::app
