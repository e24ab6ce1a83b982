// The gate's checker: a kernel's outputs against the reference's expectations (reference/gate.h).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <ostream>

#include "deltapq/app/gate.h"
#include "deltapq/core/error.h"
#include "deltapq/core/npy.h"
#include "gate_internal.h"
#include "json_input.h"

namespace dpq::app {
namespace {

namespace fs = std::filesystem;
using ref::gate::CodeRange;

std::string range_text(const CodeRange& r) {
  return r.exact() ? std::to_string(r.lo) : "{" + std::to_string(r.lo) + ".." + std::to_string(r.hi) + "}";
}

std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// Offenders are ordered by what is wrong (refusals and codes first: the primary outputs; then norms,
// signs, residual norms; reconstructions last, since a wrong code also moves them), then by severity.
int priority(const std::string& what) {
  if (what == "refusal" || what == "code out of range") return 0;
  if (what == "code") return 1;
  if (what == "norm") return 2;
  if (what == "sign") return 3;
  if (what == "residual norm") return 4;
  return 5;
}
bool worse(const GateOffender& a, const GateOffender& b) {
  const int pa = priority(a.what), pb = priority(b.what);
  return pa != pb ? pa < pb : a.severity > b.severity;
}

void offend(GateReport& r, GateOffender o) {
  r.worst.push_back(std::move(o));
  if (r.worst.size() > 200) {  // keep the worst, bounded
    std::sort(r.worst.begin(), r.worst.end(), worse);
    r.worst.resize(20);
  }
}

void count_code(GateCounts& c, const CodeRange& e, std::int64_t got) {
  if (!e.contains(got)) ++c.wrong;
  else if (e.exact()) ++c.exact;
  else ++c.acceptable;
}

// How far a code is outside its range, in cells (for ordering offenders).
double code_severity(const CodeRange& e, std::int64_t got) {
  return static_cast<double>(got < e.lo ? e.lo - got : got - e.hi);
}

void check_decoded(GateReport& r, std::size_t row, const float* got, const std::vector<double>& expect,
                   const std::vector<double>& bound, const float* x) {
  for (std::size_t j = 0; j < expect.size(); ++j) {
    ++r.decoded_checked;
    const double g = got[j];
    const double err = std::fabs(g - expect[j]);
    if (!std::isfinite(g) || !(err <= bound[j])) {
      ++r.decoded_wrong;
      offend(r, {"decoded", row, j, x[j], num(expect[j]) + " +- " + num(bound[j]), num(g),
                 std::isfinite(g) ? err / std::max(bound[j], 1e-300) : 1e300});
    }
  }
}

}  // namespace

GateReport check_gate(const GateDesign& g, const float* x, std::size_t rows, const GateOutputs& out) {
  const std::size_t d = static_cast<std::size_t>(g.dim()), nc = static_cast<std::size_t>(g.codes_per_row()),
                    m = static_cast<std::size_t>(g.qjl_rows());
  if (out.codes.size() != rows * nc)
    throw Error("gate: " + std::to_string(out.codes.size()) + " codes for " + std::to_string(rows) + " rows of " + std::to_string(nc));
  if (out.decoded && out.decoded->size() != rows * d) throw Error("gate: decoded values do not match [rows, dim]");
  if (g.family == GateFamily::turbo && !out.norms) throw Error("gate: a turbo kernel's outputs need the norms (norms.npy)");
  if (out.norms && out.norms->size() != rows) throw Error("gate: norms do not match the rows");
  if (m > 0 && (!out.signs || !out.residual_norms))
    throw Error("gate: a design with a QJL stage needs the sign bits and residual norms (signs.npy, residual_norms.npy)");
  if (out.signs && out.signs->size() != rows * m) throw Error("gate: sign bits do not match [rows, m]");
  if (out.residual_norms && out.residual_norms->size() != rows) throw Error("gate: residual norms do not match the rows");
  if (out.refused && out.refused->size() != rows) throw Error("gate: the refusal mask does not match the rows");
  GateReport r;
  r.family = g.family;
  r.rows = rows;
  r.decoded_present = out.decoded.has_value();

  // Pass 1: refusals and code ranges; the rows left are checked against the reference.
  std::vector<std::size_t> todo;
  for (std::size_t row = 0; row < rows; ++row) {
    const float* xr = x + row * d;
    const RowStatus st = row_status(g, xr);
    const bool refused = out.refused && (*out.refused)[row];
    r.must_refuse += st == RowStatus::must_refuse;
    r.may_refuse += st == RowStatus::may_refuse;
    r.refused += refused;
    if (st == RowStatus::must_refuse) {
      if (!out.refused) {
        ++r.unchecked_non_finite;
      } else if (!refused) {
        ++r.refusals_wrong;
        offend(r, {"refusal", row, 0, xr[0], "refused (non-finite input)", "accepted", 1e299});
      }
      continue;
    }
    if (refused) {
      if (st == RowStatus::valid) {
        ++r.refusals_wrong;
        offend(r, {"refusal", row, 0, xr[0], "accepted (a valid row)", "refused", 1e298});
      }
      continue;
    }
    ++r.checked_rows;
    // A code outside the design's range is the kernel's error (a finding), not bad input: it is
    // counted wrong and the rest of that row is not checked (its expectations need codes in range).
    bool out_of_range = false;
    for (std::size_t k = 0; k < nc; ++k) {
      const std::int64_t c = out.codes[row * nc + k];
      if (c < 0 || c > g.max_code(k)) {
        ++r.codes.wrong;
        offend(r, {"code out of range", row, k, xr[std::min(k, d - 1)], "0.." + std::to_string(g.max_code(k)), std::to_string(c), 1e297});
        out_of_range = true;
      }
    }
    if (!out_of_range) todo.push_back(row);
  }

  // Pass 2: the reference's expectations, a block of rows at a time (batched GEMMs where they apply).
  double mse = 0;
  std::size_t mse_rows = 0;
  std::vector<double> expect(d), bound(d), ref_expect(d);
  constexpr std::size_t kBlock = 256;
  std::vector<float> xb;
  std::vector<std::int64_t> cb;
  std::vector<ref::gate::CodeRange> scalar_e;
  std::vector<ref::gate::TurboExpectation> turbo_e;
  std::vector<ref::gate::QjlExpectation> qjl_e;
  for (std::size_t b0 = 0; b0 < todo.size(); b0 += kBlock) {
    const std::size_t nb = std::min(kBlock, todo.size() - b0);
    xb.resize(nb * d);
    cb.resize(nb * nc);
    for (std::size_t k = 0; k < nb; ++k) {
      std::copy_n(x + todo[b0 + k] * d, d, xb.begin() + static_cast<std::ptrdiff_t>(k * d));
      std::copy_n(out.codes.begin() + static_cast<std::ptrdiff_t>(todo[b0 + k] * nc), nc, cb.begin() + static_cast<std::ptrdiff_t>(k * nc));
    }
    if (g.family == GateFamily::scalar) {
      scalar_e.resize(nb * d);
      ref::gate::scalar_expected_codes(g.scalar, xb.data(), nb, scalar_e.data());
    } else if (g.family == GateFamily::turbo) {
      turbo_e.resize(nb);
      for (std::size_t k = 0; k < nb; ++k) turbo_e[k] = ref::gate::turbo_expected(g.turbo, xb.data() + k * d);
      if (m) {
        std::vector<const ref::gate::TurboExpectation*> ep(nb);
        for (std::size_t k = 0; k < nb; ++k) ep[k] = &turbo_e[k];
        qjl_e.resize(nb);
        ref::gate::turbo_expected_qjl(g.turbo, ep.data(), cb.data(), nb, qjl_e.data());
      }
    }
    for (std::size_t k = 0; k < nb; ++k) {
      const std::size_t row = todo[b0 + k];
      const float* xr = xb.data() + k * d;
      const std::int64_t* codes = cb.data() + k * nc;
      if (g.family == GateFamily::scalar) {
        const ref::gate::CodeRange* e = scalar_e.data() + k * d;
        for (std::size_t c = 0; c < nc; ++c) {
          count_code(r.codes, e[c], codes[c]);
          if (!e[c].contains(codes[c])) offend(r, {"code", row, c, xr[c], range_text(e[c]), std::to_string(codes[c]), code_severity(e[c], codes[c])});
        }
        if (out.decoded) {
          ref::gate::scalar_reconstruction(g.scalar, codes, expect.data(), bound.data());
          check_decoded(r, row, out.decoded->data() + row * d, expect, bound, xr);
          // The reference's reconstruction of its own codes (the user's where either is right).
          std::vector<std::int64_t> own(nc);
          bool same = true;
          for (std::size_t c = 0; c < nc; ++c) {
            own[c] = e[c].contains(codes[c]) ? codes[c] : e[c].lo;
            same = same && own[c] == codes[c];
          }
          if (same) {
            ref_expect = expect;
          } else {
            std::vector<double> ob(d);
            ref::gate::scalar_reconstruction(g.scalar, own.data(), ref_expect.data(), ob.data());
          }
        }
      } else if (g.family == GateFamily::turbo) {
        const ref::gate::TurboExpectation& e = turbo_e[k];
        for (std::size_t c = 0; c < nc; ++c) {
          count_code(r.codes, e.codes[c], codes[c]);
          if (!e.codes[c].contains(codes[c]))
            offend(r, {"code", row, c, e.zero ? 0.0 : e.rotated[c], range_text(e.codes[c]), std::to_string(codes[c]),
                       code_severity(e.codes[c], codes[c]), "y"});
        }
        const float norm = (*out.norms)[row];
        ++r.norms_checked;
        if (!std::isfinite(norm) || std::fabs(norm - e.norm) > e.norm_bound) {
          ++r.norms_wrong;
          offend(r, {"norm", row, 0, xr[0], num(e.norm) + " +- " + num(e.norm_bound), num(norm), 1e3});
        }
        const std::uint8_t* sg = m ? out.signs->data() + row * m : nullptr;
        const float rn = m ? (*out.residual_norms)[row] : 0.0f;
        if (m) {
          const ref::gate::QjlExpectation& q = qjl_e[k];
          for (std::size_t j = 0; j < m; ++j) {
            const int got = sg[j] <= 1 ? sg[j] : 2;  // anything but 0 or 1 (an unwritten output) is wrong
            count_code(r.signs, q.signs[j], got);
            if (!q.signs[j].contains(got)) offend(r, {"sign", row, j, xr[0], range_text(q.signs[j]), std::to_string(sg[j]), 1});
          }
          ++r.residual_checked;
          if (!std::isfinite(rn) || std::fabs(rn - q.residual_norm) > q.residual_norm_bound) {
            ++r.residual_wrong;
            offend(r, {"residual norm", row, 0, xr[0], num(q.residual_norm) + " +- " + num(q.residual_norm_bound), num(rn), 1e2});
          }
        }
        if (out.decoded) {
          ref::gate::turbo_reconstruction(g.turbo, codes, norm, sg, rn, expect.data(), bound.data());
          if (e.zero) {
            // A (float32-)zero vector decodes to 0, or to the kernel's own record scaled by its tiny
            // norm (which the norm check bounds): accept |got| <= |record decode| + its bound.
            for (std::size_t j = 0; j < d; ++j) {
              bound[j] = std::isfinite(expect[j]) && std::isfinite(bound[j]) ? std::fabs(expect[j]) + bound[j] : 0.0;
              expect[j] = 0.0;
            }
          }
          check_decoded(r, row, out.decoded->data() + row * d, expect, bound, xr);
          ref_expect = expect;
        }
      } else {
        const auto e = ref::gate::pq_expected(g.pq, xr);
        const std::size_t dm = static_cast<std::size_t>(g.pq.block_dim()), kk = static_cast<std::size_t>(g.pq.k());
        for (std::size_t b = 0; b < nc; ++b) {
          const auto& set = e.sets[b];
          const bool ok = std::find(set.begin(), set.end(), static_cast<std::int32_t>(codes[b])) != set.end();
          if (!ok) {
            ++r.codes.wrong;
            std::string exp = "{";
            for (std::size_t i = 0; i < set.size(); ++i) exp += (i ? "," : "") + std::to_string(set[i]);
            offend(r, {"code", row, b, xr[b * dm], exp + "}", std::to_string(codes[b]), 1, "block's x[0]"});
          } else if (set.size() == 1) {
            ++r.codes.exact;
          } else {
            ++r.codes.acceptable;
          }
        }
        if (out.decoded) {
          for (std::size_t b = 0; b < nc; ++b)
            for (std::size_t j = 0; j < dm; ++j) {
              expect[b * dm + j] = g.pq.centroids[(b * kk + static_cast<std::size_t>(codes[b])) * dm + j];
              ref_expect[b * dm + j] = g.pq.centroids[(b * kk + static_cast<std::size_t>(e.exact[b])) * dm + j];
            }
          std::fill(bound.begin(), bound.end(), 0.0);  // decoding copies a centroid: exact
          check_decoded(r, row, out.decoded->data() + row * d, expect, bound, xr);
        }
      }
      if (out.decoded) {
        double sum = 0;
        for (std::size_t j = 0; j < d; ++j) {
          const double diff = (*out.decoded)[row * d + j] - ref_expect[j];
          sum += diff * diff;
        }
        mse += sum;
        ++mse_rows;
      }
    }
  }
  r.decoded_mse_vs_reference = mse_rows ? mse / static_cast<double>(mse_rows) : 0.0;
  std::sort(r.worst.begin(), r.worst.end(), worse);
  if (r.worst.size() > 20) r.worst.resize(20);
  return r;
}

GateOutputs read_gate_outputs(const GateDesign& g, std::size_t rows, const std::string& codes, const std::string& decoded,
                              bool decoded_bf16, const std::string& norms, const std::string& signs,
                              const std::string& residual_norms, const std::string& refused) {
  GateOutputs o;
  o.rows = rows;
  const std::size_t d = static_cast<std::size_t>(g.dim()), nc = static_cast<std::size_t>(g.codes_per_row()),
                    m = static_cast<std::size_t>(g.qjl_rows());
  NpyReadOptions ints;
  ints.integers = true;
  auto expect_shape = [&](const NpyArray& a, const std::string& path, std::size_t cols) {
    std::size_t count = 1;
    for (std::size_t e : a.shape) count *= e;
    const bool ok = (a.shape.size() == 2 && a.shape[0] == rows && a.shape[1] == cols) ||
                    (cols == 1 && a.shape.size() == 1 && a.shape[0] == rows);
    if (!ok) throw Error(path + ": shape does not match [" + std::to_string(rows) + ", " + std::to_string(cols) + "]");
    (void)count;
  };
  {
    const NpyArray a = read_npy_array(codes, ints);
    expect_shape(a, codes, nc);
    for (std::size_t k = 0; k < a.data.size(); ++k) {
      const double v = a.data[k];
      if (v != std::floor(v)) throw Error(codes + ": value " + std::to_string(v) + " at flat index " + std::to_string(k) + " is not an integer code");
      o.codes.push_back(static_cast<std::int64_t>(v));
    }
  }
  if (!decoded.empty()) {
    NpyReadOptions f;
    f.allow_non_finite = true;  // a NaN reconstruction is a finding, not bad input
    f.bf16 = decoded_bf16;
    const NpyArray a = read_npy_array(decoded, f);
    expect_shape(a, decoded, d);
    o.decoded = std::vector<float>(a.data.begin(), a.data.end());
  }
  if (!norms.empty()) {
    NpyReadOptions f;
    f.allow_non_finite = true;
    const NpyArray a = read_npy_array(norms, f);
    expect_shape(a, norms, 1);
    o.norms = std::vector<float>(a.data.begin(), a.data.end());
  }
  if (!signs.empty()) {
    const NpyArray a = read_npy_array(signs, ints);
    expect_shape(a, signs, m);
    std::vector<std::uint8_t> s;
    for (double v : a.data) {
      if (v != 0 && v != 1) throw Error(signs + ": sign bits must be 0 or 1, got " + std::to_string(v));
      s.push_back(static_cast<std::uint8_t>(v));
    }
    o.signs = s;
  }
  if (!residual_norms.empty()) {
    NpyReadOptions f;
    f.allow_non_finite = true;
    const NpyArray a = read_npy_array(residual_norms, f);
    expect_shape(a, residual_norms, 1);
    o.residual_norms = std::vector<float>(a.data.begin(), a.data.end());
  }
  if (!refused.empty()) {
    const NpyArray a = read_npy_array(refused, ints);
    expect_shape(a, refused, 1);
    std::vector<bool> mask;
    for (double v : a.data) mask.push_back(v != 0);
    o.refused = mask;
  }
  return o;
}

bool GateCorpusReport::passes() const {
  for (const auto& c : cases)
    if (!c.second.passes()) return false;
  return true;
}

GateCorpusReport check_gate_corpus(const std::string& vectors_dir, const std::string& outputs_dir) {
  const std::string index = (fs::path(vectors_dir) / "vectors.json").string();
  const nlohmann::json j = detail::read_json_file(index, "no vectors.json (run deltapq vectors --out DIR first)");
  if (!j.is_object() || j.value("format", "") != "deltapq-gate-vectors" || !j.contains("cases") || !j["cases"].is_array())
    throw Error(index + ": not a deltapq-gate-vectors index");
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int>() != kGateVectorsVersion)
    throw Error(index + ": version is not " + std::to_string(kGateVectorsVersion));
  GateCorpusReport rep;
  for (const auto& c : j["cases"]) {
    if (!c.is_object() || !c.contains("name") || !c["name"].is_string()) throw Error(index + ": a case without a name");
    const std::string name = c["name"].get<std::string>();
    if (name.find('/') != std::string::npos || name.find("..") != std::string::npos) throw Error(index + ": case name '" + name + "'");
    const fs::path cdir = fs::path(vectors_dir) / name, odir = fs::path(outputs_dir) / name;
    std::error_code ec;
    if (!fs::exists(odir / "codes.npy", ec)) {  // a kernel of one family answers only its cases
      rep.skipped.push_back(name);
      continue;
    }
    const GateDesign g = read_gate_design((cdir / "design.json").string());
    NpyReadOptions f;
    f.allow_non_finite = true;  // the corpus holds non-finite rows on purpose
    const NpyArray x = read_npy_array((cdir / "input.npy").string(), f);
    if (x.shape.size() != 2 || x.shape[1] != static_cast<std::size_t>(g.dim()))
      throw Error((cdir / "input.npy").string() + ": shape does not match the design's dim");
    auto opt = [&](const char* file) {
      const fs::path p = odir / file;
      std::error_code ec;
      return fs::exists(p, ec) ? p.string() : std::string();
    };
    const std::string codes = (odir / "codes.npy").string();
    const GateOutputs o = read_gate_outputs(g, x.shape[0], codes, opt("decoded.npy"), false, opt("norms.npy"), opt("signs.npy"),
                                            opt("residual_norms.npy"), opt("refused.npy"));
    const std::vector<float> xf(x.data.begin(), x.data.end());
    rep.cases.emplace_back(name, check_gate(g, xf.data(), x.shape[0], o));
  }
  if (rep.cases.empty())
    throw Error(outputs_dir + ": no case has outputs (expected " + outputs_dir + "/CASE/codes.npy for a CASE of " + index + ")");
  return rep;
}

namespace detail {

nlohmann::ordered_json gate_report_json(const GateReport& r) {
  using json = nlohmann::ordered_json;
  json worst = json::array();
  for (const auto& o : r.worst)
    worst.push_back({{"what", o.what}, {"row", o.row}, {"column", o.column}, {o.input_name == "input" ? "input" : o.input_name == "y" ? "rotated_y" : "block_first_input", o.input},
                     {"expected", o.expected}, {"got", o.got}});
  json j{{"family", to_string(r.family)},
         {"verdict", r.passes() ? "passes" : "fails"},
         {"rows", r.rows},
         {"checked_rows", r.checked_rows},
         {"rows_must_refuse", r.must_refuse},
         {"rows_may_refuse", r.may_refuse},
         {"rows_refused", r.refused},
         {"non_finite_rows_unchecked", r.unchecked_non_finite},
         {"refusals_wrong", r.refusals_wrong},
         {"codes", {{"exact", r.codes.exact}, {"acceptable", r.codes.acceptable}, {"wrong", r.codes.wrong}}}};
  if (r.signs.exact + r.signs.acceptable + r.signs.wrong)
    j["qjl_signs"] = {{"exact", r.signs.exact}, {"acceptable", r.signs.acceptable}, {"wrong", r.signs.wrong}};
  if (r.norms_checked) j["norms"] = {{"checked", r.norms_checked}, {"wrong", r.norms_wrong}};
  if (r.residual_checked) j["residual_norms"] = {{"checked", r.residual_checked}, {"wrong", r.residual_wrong}};
  if (r.decoded_present)
    j["decoded"] = {{"checked", r.decoded_checked}, {"wrong", r.decoded_wrong}, {"mse_vs_reference_per_row", r.decoded_mse_vs_reference}};
  j["worst"] = worst;
  return j;
}

}  // namespace detail

std::string to_json(const GateReport& r) { return detail::gate_report_json(r).dump(2) + "\n"; }

std::string to_json(const GateCorpusReport& r) {
  nlohmann::ordered_json j{{"mode", "vectors"}, {"verdict", r.passes() ? "passes" : "fails"}, {"skipped_without_outputs", r.skipped},
                           {"cases", nlohmann::ordered_json::array()}};
  for (const auto& [name, c] : r.cases) {
    auto cj = detail::gate_report_json(c);
    cj["case"] = name;
    j["cases"].push_back(cj);
  }
  return j.dump(2) + "\n";
}

void print_text(const GateReport& r, const std::string& title, std::ostream& os) {
  os << title << ": " << (r.passes() ? "passes" : "FAILS") << "  (" << to_string(r.family) << ", " << r.checked_rows << " of "
     << r.rows << " rows checked)\n";
  os << "  codes: " << r.codes.exact << " exact, " << r.codes.acceptable << " acceptable (within the float32 rounding bound of a boundary), "
     << r.codes.wrong << " wrong\n";
  if (r.signs.exact + r.signs.acceptable + r.signs.wrong)
    os << "  QJL signs: " << r.signs.exact << " exact, " << r.signs.acceptable << " acceptable, " << r.signs.wrong << " wrong\n";
  if (r.norms_checked) os << "  norms: " << r.norms_checked - r.norms_wrong << " of " << r.norms_checked << " within bound\n";
  if (r.residual_checked) os << "  residual norms: " << r.residual_checked - r.residual_wrong << " of " << r.residual_checked << " within bound\n";
  if (r.decoded_present)
    os << "  decoded: " << r.decoded_checked - r.decoded_wrong << " of " << r.decoded_checked
       << " values within bound; MSE per row against the reference's reconstruction " << r.decoded_mse_vs_reference << "\n";
  if (r.must_refuse || r.may_refuse || r.refused)
    os << "  refusals: " << r.must_refuse << " rows must be refused (non-finite), " << r.may_refuse << " may be (float32 overflow), "
       << r.refused << " were; " << r.refusals_wrong << " wrong"
       << (r.unchecked_non_finite ? " (" + std::to_string(r.unchecked_non_finite) + " non-finite rows unchecked: no refused.npy)" : "")
       << "\n";
  if (!r.worst.empty()) {
    os << "  worst offenders:\n";
    for (std::size_t i = 0; i < r.worst.size() && i < 10; ++i) {
      const auto& o = r.worst[i];
      os << "    " << o.what << " row " << o.row << ", column " << o.column << " (" << o.input_name << " " << num(o.input) << "): expected "
         << o.expected << ", got " << o.got << "\n";
    }
  }
}

void print_text(const GateCorpusReport& r, std::ostream& os) {
  for (const auto& [name, c] : r.cases) print_text(c, "  " + name, os);
  if (!r.skipped.empty()) {
    os << "  skipped (no outputs):";
    for (const auto& s : r.skipped) os << " " << s;
    os << "\n";
  }
  std::size_t failing = 0;
  for (const auto& c : r.cases) failing += !c.second.passes();
  os << "gate: " << (r.passes() ? "every case with outputs passes" : std::to_string(failing) + " of " + std::to_string(r.cases.size()) + " cases FAIL")
     << " (" << r.cases.size() << " checked, " << r.skipped.size() << " skipped)\n";
}

}  // namespace dpq::app
