// deltapq codebook --dim D --bits B [--digits N] [--json OUT]
// deltapq codebook --check TABLE.json --dim D --bits B [--max-excess PCT] [--json OUT]
#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "args.h"
#include "commands.h"
#include "deltapq/core/atomic_file.h"
#include "deltapq/core/error.h"
#include "deltapq/reference/sphere.h"

namespace dpq::cli {
namespace {

// Numbers in JSON: doubles, or decimal strings when more digits than a double holds are asked for.
nlohmann::ordered_json num(const ref::Real& v, int digits) {
  if (digits <= 17) return ref::to_double(v);
  return ref::to_string(v, digits);
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

int run_codebook(int argc, char** argv) {
  Args args(argc, argv, {"--dim", "--bits", "--digits", "--json", "--check", "--max-excess"}, {});
  if (!args.positional().empty()) throw Error("codebook takes no positional argument: '" + args.positional()[0] + "'");
  const auto dim = args.integer("--dim", 2, 1 << 20);
  const auto bits = args.integer("--bits", 1, 8);
  if (!dim || !bits) throw Error("codebook needs --dim D (>= 2) and --bits B (1..8)");
  const int digits = static_cast<int>(args.integer("--digits", 1, 200).value_or(40));
  // Working precision: at least 128 bits, and 40 bits beyond the digits asked for.
  ref::set_precision_bits(std::max(160, static_cast<int>(std::ceil(digits * 3.3219280948873622)) + 40));
  const ref::Marginal m = ref::Marginal::sphere(static_cast<int>(*dim));

  if (auto table = args.text("--check")) {
    std::ifstream in(*table);
    if (!in) throw Error(*table + ": cannot read the codebook table");
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(in);
    } catch (const std::exception& e) {
      throw Error(*table + ": not valid JSON: " + e.what());
    }
    const auto centroids = read_numbers(j, "centroids", *table);
    if (centroids.empty()) throw Error(*table + ": no 'centroids' array");
    const auto thresholds = read_numbers(j, "thresholds", *table);
    const double max_excess = args.real("--max-excess", false).value_or(1.0);
    const ref::CodebookAudit a = ref::audit_codebook(m, static_cast<int>(*bits), centroids, thresholds);
    std::cout << "deltapq codebook --check " << *table << " against Lloyd-Max on " << m.name() << ", " << *bits << " bits\n"
              << "  read as: " << (a.scaled_by_inv_sqrt_d ? "N(0,1) scale, divided by sqrt(d)" : "unit-sphere scale, as given")
              << "\n  MSE per coordinate " << ref::to_string(a.mse, 10) << " vs optimum " << ref::to_string(a.optimal_mse, 10)
              << ": excess " << ref::to_string(a.excess_pct, 6) << " %\n";
    for (const auto& d : a.defects) std::cout << "  defect: " << d << "\n";
    // A table of the wrong size is not a b-bit codebook at all: its MSE is not comparable, so it fails.
    bool wrong_size = false;
    for (const auto& d : a.defects) wrong_size = wrong_size || d.rfind("wrong size", 0) == 0;
    const bool fail = wrong_size || ref::to_double(a.excess_pct) > max_excess;
    std::cout << "  " << (fail ? "FAILS" : "passes") << " the gate --max-excess " << max_excess << " %\n";
    if (auto out = args.text("--json")) {
      nlohmann::ordered_json r{{"dim", *dim}, {"bits", *bits}, {"scaled_by_inv_sqrt_d", a.scaled_by_inv_sqrt_d},
                               {"mse_per_coordinate", ref::to_double(a.mse)},
                               {"optimal_mse_per_coordinate", ref::to_double(a.optimal_mse)},
                               {"excess_mse_pct", ref::to_double(a.excess_pct)}, {"defects", a.defects},
                               {"max_excess_pct", max_excess}, {"passes", !fail}};
      write_file_atomically(*out, r.dump(2) + "\n");
    }
    return fail ? 1 : 0;
  }

  const ref::Real tolerance = ldexp(ref::Real(1), -static_cast<int>(std::ceil(digits * 3.3219280948873622)) - 8);
  const ref::Codebook cb = ref::lloyd_max(m, static_cast<int>(*bits), tolerance);
  std::cout << "Lloyd-Max codebook for " << m.name() << ", " << *bits << " bits (" << cb.centroids.size()
            << " levels), " << ref::precision_bits() << "-bit arithmetic, centroid residual " << ref::to_string(cb.residual, 3)
            << "\n  MSE per coordinate " << ref::to_string(cb.mse, digits) << "\n  MSE per vector (d x) "
            << ref::to_string(cb.mse * ref::Real(static_cast<double>(*dim)), digits) << "\n  centroids (upper half):\n";
  for (std::size_t i = cb.centroids.size() / 2; i < cb.centroids.size(); ++i)
    std::cout << "    " << ref::to_string(cb.centroids[i], digits) << "\n";
  if (auto out = args.text("--json")) {
    nlohmann::ordered_json r{{"dim", *dim}, {"bits", *bits}, {"digits", digits}};
    for (const auto& c : cb.centroids) r["centroids"].push_back(num(c, digits));
    for (const auto& t : cb.thresholds) r["thresholds"].push_back(num(t, digits));
    r["mse_per_coordinate"] = num(cb.mse, digits);
    r["mse_per_vector"] = num(cb.mse * ref::Real(static_cast<double>(*dim)), digits);
    write_file_atomically(*out, r.dump(2) + "\n");
  }
  return 0;
}

}  // namespace dpq::cli
