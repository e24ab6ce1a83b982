#include "deltapq/app/codebook.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "deltapq/core/error.h"
#include "json_input.h"

namespace dpq::app {
namespace {

// Working precision for `digits` decimal digits: at least 160 bits, and 40 bits beyond the digits.
int precision_for(int digits) { return std::max(160, static_cast<int>(std::ceil(digits * 3.3219280948873622)) + 40); }

void check_shape(int dim, int bits) {
  if (dim < 2) throw Error("codebook: d = " + std::to_string(dim) + " (the sphere marginal needs d >= 2)");
  if (bits < 1 || bits > 8) throw Error("codebook: bits = " + std::to_string(bits) + " is outside 1..8");
}

std::vector<ref::Real> read_numbers(const nlohmann::json& j, const std::string& key, const std::string& file) {
  std::vector<ref::Real> out;
  if (!j.contains(key)) return out;
  if (!j[key].is_array()) throw Error(file + ": '" + key + "' is not an array");
  for (std::size_t i = 0; i < j[key].size(); ++i) {
    const auto& v = j[key][i];
    if (v.is_number()) out.emplace_back(v.get<double>());
    else if (v.is_string()) {
      try {
        out.emplace_back(v.get<std::string>());
      } catch (const std::exception&) {
        throw Error(file + ": " + key + "[" + std::to_string(i) + "] = '" + v.get<std::string>() + "' is not a number");
      }
    } else throw Error(file + ": " + key + "[" + std::to_string(i) + "] is not a number");
    if (!isfinite(out.back())) throw Error(file + ": " + key + "[" + std::to_string(i) + "] is not finite");
  }
  return out;
}

}  // namespace

CodebookReport make_codebook(int dim, int bits, int digits) {
  check_shape(dim, bits);
  if (digits < 1 || digits > 200) throw Error("codebook: digits = " + std::to_string(digits) + " is outside 1..200");
  const ref::PrecisionScope precision(precision_for(digits));
  CodebookReport r;
  r.dim = dim;
  r.bits = bits;
  r.digits = digits;
  r.precision_bits = ref::precision_bits();
  const ref::Real tolerance = ldexp(ref::Real(1), -static_cast<int>(std::ceil(digits * 3.3219280948873622)) - 8);
  r.codebook = ref::lloyd_max(ref::Marginal::sphere(dim), bits, tolerance);
  return r;
}

CodebookCheckReport check_codebook(const std::vector<ref::Real>& centroids, const std::vector<ref::Real>& thresholds,
                                   int dim, int bits, double max_excess_pct, const std::string& name) {
  check_shape(dim, bits);
  if (centroids.empty()) throw Error(name + ": no 'centroids' array");
  CodebookCheckReport r;
  r.table = name;
  r.dim = dim;
  r.bits = bits;
  r.max_excess_pct = max_excess_pct;
  r.audit = ref::audit_codebook(ref::Marginal::sphere(dim), bits, centroids, thresholds);
  for (const auto& d : r.audit.defects) r.wrong_size = r.wrong_size || d.rfind("wrong size", 0) == 0;
  r.fails = r.wrong_size || ref::to_double(r.audit.excess_pct) > max_excess_pct;
  return r;
}

CodebookCheckReport check_codebook_file(const std::string& path, int dim, int bits, double max_excess_pct) {
  check_shape(dim, bits);
  const ref::PrecisionScope precision(precision_for(40));
  const nlohmann::json j = detail::read_json_file(path, "cannot read the codebook table");
  if (!j.is_object()) throw Error(path + ": not a JSON object with a 'centroids' array");
  const auto centroids = read_numbers(j, "centroids", path);
  const auto thresholds = read_numbers(j, "thresholds", path);
  return check_codebook(centroids, thresholds, dim, bits, max_excess_pct, path);
}

}  // namespace dpq::app
