// The gate's test-vector corpus (`deltapq vectors`): versioned, deterministic, readable without deltapq.
#include <boost/random/mersenne_twister.hpp>
#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_int_distribution.hpp>
#include <algorithm>
#include <cfloat>
#include <filesystem>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "deltapq/app/gate.h"
#include "deltapq/app/paper_check.h"
#include "deltapq/core/atomic_file.h"
#include "deltapq/core/error.h"
#include "deltapq/core/synth.h"
#include "deltapq/core/npy.h"
#include "deltapq/fast/qjl.h"
#include "deltapq/fast/turbo_codec.h"

namespace dpq::app {
namespace {

using Rng = boost::random::mt19937_64;

std::vector<float> gaussian(Rng& rng, std::size_t n, double scale) {
  boost::random::normal_distribution<double> normal;
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(scale * normal(rng));
  return v;
}

// An orthonormal basis in float (core's random_orthogonal, rounded once).
std::vector<float> orthogonal(Rng& rng, int d) {
  const std::vector<double> q = random_orthogonal(rng, d);
  return std::vector<float>(q.begin(), q.end());
}

struct Builder {
  GateVectorCase c;
  std::uint64_t seed;
  Builder(GateVectorCase base, std::uint64_t seed_) : c(std::move(base)), seed(seed_) {}
  void add(const std::vector<float>& row, const std::string& kind) {
    c.x.insert(c.x.end(), row.begin(), row.end());
    c.row_kind.push_back(kind);
    ++c.rows;
  }
  void add(GateRowKind kind, int count) {
    for (int i = 0; i < count; ++i) add(gate_row(c.design, kind, seed, i), to_string(kind));
  }
  // The edge rows every case has (zero, +-0, subnormal, near FLT_MAX, NaN, Inf) and `random` rows.
  void common(int random) {
    add(GateRowKind::zero, 1);
    add(GateRowKind::signed_zeros, 1);
    add(GateRowKind::subnormal, 1);
    add(GateRowKind::near_flt_max, 1);
    add(GateRowKind::random, random);
    add(GateRowKind::nan, 1);
    add(GateRowKind::inf, 1);
  }
  // Boundaries exactly and one ulp either side, and the clip limits.
  void boundaries(int each) {
    for (int i = 0; i < each; ++i) {
      add(gate_row(c.design, GateRowKind::boundary, seed, i), to_string(GateRowKind::boundary));
      add(gate_row(c.design, GateRowKind::boundary_up, seed, i), to_string(GateRowKind::boundary_up));
      add(gate_row(c.design, GateRowKind::boundary_down, seed, i), to_string(GateRowKind::boundary_down));
    }
  }
};

GateVectorCase scalar_case(const std::string& name, const std::string& reason, std::vector<int> bits, std::vector<float> clip,
                           std::vector<float> mean, std::vector<float> basis) {
  GateVectorCase c;
  c.name = name;
  c.reason = reason;
  c.design.family = GateFamily::scalar;
  c.design.scalar.design.bits = std::move(bits);
  c.design.scalar.design.clip = std::move(clip);
  c.design.scalar.design.mean = std::move(mean);
  c.design.scalar.design.basis = std::move(basis);
  return c;
}

GateVectorCase turbo_case(const std::string& name, const std::string& reason, int d, int bits, fast::RotationKind kind,
                          int qjl_rows, std::uint64_t seed) {
  GateVectorCase c;
  c.name = name;
  c.reason = reason;
  fast::TurboOptions o;
  o.seed = seed;
  o.rotation = kind;
  o.qjl_rows = qjl_rows;
  c.design = gate_design_of(fast::TurboCodec(d, bits, sphere_codebook(std::max(d, 2), bits), o));
  return c;
}

GateVectorCase pq_case(const std::string& name, const std::string& reason, int d, int blocks, int bits, Rng& rng, bool integers) {
  GateVectorCase c;
  c.name = name;
  c.reason = reason;
  c.design.family = GateFamily::pq;
  auto& p = c.design.pq;
  p.dim = d;
  p.blocks = blocks;
  p.bits = bits;
  boost::random::uniform_int_distribution<int> small(-4, 4);
  const std::size_t n = static_cast<std::size_t>(blocks) * static_cast<std::size_t>(p.k()) * static_cast<std::size_t>(p.block_dim());
  if (integers) {
    for (std::size_t i = 0; i < n; ++i) p.centroids.push_back(static_cast<float>(small(rng)));
  } else {
    p.centroids = gaussian(rng, n, 1.0);
  }
  return c;
}

}  // namespace

std::vector<GateVectorCase> gate_vector_cases() {
  std::vector<GateVectorCase> out;
  {  // scalar, d = 1: every boundary of 4 bits with clip 1 (step 1/8: exact in float)
    Builder b(scalar_case("scalar_d1_b4", "one coordinate, every cell boundary exactly and one ulp either side (exact float arithmetic: "
                          "a value on a boundary must go to the upper cell)", {4}, {1.0f}, {}, {}), 1);
    for (int k = 0; k <= 16; ++k) {
      const float v = -1.0f + static_cast<float>(k) * 0.125f;
      b.add({v}, to_string(GateRowKind::boundary));
      b.add({std::nextafter(v, INFINITY)}, to_string(GateRowKind::boundary_up));
      b.add({std::nextafter(v, -INFINITY)}, to_string(GateRowKind::boundary_down));
    }
    b.add(GateRowKind::clip_beyond, 1);
    b.common(8);
    out.push_back(b.c);
  }
  {  // scalar, d = 7: mixed widths 1..16 bits, power-of-two clips, a dyadic mean
    std::vector<float> clip, mean;
    for (int i = 0; i < 7; ++i) {
      clip.push_back(std::ldexp(1.0f, i - 3));
      mean.push_back(static_cast<float>(i - 3) * 0.25f);
    }
    Builder b(scalar_case("scalar_d7_mixed", "mixed widths 1..16, power-of-two clips, a dyadic mean: boundaries exact",
                          {1, 2, 3, 4, 5, 8, 16}, clip, mean, {}), 7);
    b.boundaries(6);
    b.add(GateRowKind::clip_high, 1);
    b.add(GateRowKind::clip_low, 1);
    b.add(GateRowKind::clip_beyond, 1);
    b.common(12);
    out.push_back(b.c);
  }
  {  // scalar, d = 80: 4 bits, power-of-two clips of several scales
    std::vector<float> clip;
    for (int i = 0; i < 80; ++i) clip.push_back(std::ldexp(1.0f, (i % 9) - 4));
    Builder b(scalar_case("scalar_d80_b4", "d = 80 (not a multiple of 16), 4 bits, clips 2^-4..2^4: boundaries exact",
                          std::vector<int>(80, 4), clip, {}, {}), 80);
    b.boundaries(8);
    b.add(GateRowKind::clip_high, 1);
    b.add(GateRowKind::clip_low, 1);
    b.add(GateRowKind::clip_beyond, 1);
    b.common(16);
    out.push_back(b.c);
  }
  {  // scalar, d = 96: an orthonormal basis and a mean, clips 3 exp(-0.02 i) (not powers of two)
    Rng r2(96);
    std::vector<float> clip, mean = gaussian(r2, 96, 1.0);
    for (int i = 0; i < 96; ++i) clip.push_back(static_cast<float>(3.0 * std::exp(-0.02 * i)));
    Builder b(scalar_case("scalar_d96_basis", "a rotated basis with a mean: every code within the float32 dot-product bound of a "
                          "boundary is an acceptable set", std::vector<int>(96, 4), clip, mean, orthogonal(r2, 96)), 96);
    b.boundaries(4);
    b.add(GateRowKind::clip_high, 1);
    b.add(GateRowKind::clip_low, 1);
    b.common(40);
    out.push_back(b.c);
  }
  {  // scalar, d = 192: mixed 1..8 bits, clips that are not powers of two, a mean
    Rng r2(192);
    std::vector<int> bits;
    std::vector<float> clip, mean = gaussian(r2, 192, 0.5);
    for (int i = 0; i < 192; ++i) {
      bits.push_back(1 + i % 8);
      clip.push_back(static_cast<float>(1.3 + 0.01 * i));
    }
    Builder b(scalar_case("scalar_d192_mixed", "mixed 1..8 bits, clips not powers of two (inexact boundaries: acceptable sets)", bits,
                          clip, mean, {}), 192);
    b.boundaries(4);
    b.add(GateRowKind::clip_high, 1);
    b.add(GateRowKind::clip_low, 1);
    b.add(GateRowKind::clip_beyond, 1);
    b.common(16);
    out.push_back(b.c);
  }
  {  // scalar, d = 576
    Builder b(scalar_case("scalar_d576_b2", "d = 576, 2 bits, clip 2: boundaries exact", std::vector<int>(576, 2),
                          std::vector<float>(576, 2.0f), {}, {}), 576);
    b.boundaries(2);
    b.add(GateRowKind::clip_high, 1);
    b.add(GateRowKind::clip_beyond, 1);
    b.common(6);
    out.push_back(b.c);
  }
  auto turbo = [&](Builder b, int thresholds, int random) {
    b.boundaries(thresholds);
    b.common(random);
    b.add(GateRowKind::huge_norm, 1);
    out.push_back(b.c);
  };
  turbo(Builder(turbo_case("turbo_d128_b4_hadamard", "randomized Walsh-Hadamard, 4-bit Lloyd-Max of the sphere marginal", 128, 4,
                           fast::RotationKind::hadamard, 0, 17), 128), 16, 24);
  turbo(Builder(turbo_case("turbo_d128_b3_qjl", "Hadamard, 3-bit MSE stage + a 64-row QJL sketch of the residual", 128, 3,
                           fast::RotationKind::hadamard, 64, 29), 129), 8, 16);
  turbo(Builder(turbo_case("turbo_d96_b2_dense", "a dense rotation (d = 96 is not a power of two)", 96, 2, fast::RotationKind::dense, 0, 31), 97),
        8, 16);
  turbo(Builder(turbo_case("turbo_d7_b1_dense", "d = 7, 1 bit, dense rotation", 7, 1, fast::RotationKind::dense, 0, 37), 7), 4, 12);
  turbo(Builder(turbo_case("turbo_d80_b4_identity", "no rotation (the KV scheme of D5): Lloyd-Max on normalized raw coordinates", 80, 4,
                           fast::RotationKind::identity, 0, 41), 81), 8, 12);
  {
    Rng r2(12);
    Builder b(pq_case("pq_d96_m12_b4", "12 blocks of 8, 16 Gaussian centroids each", 96, 12, 4, r2, false), 12);
    b.boundaries(4);
    b.add(GateRowKind::clip_high, 4);
    b.common(32);
    out.push_back(b.c);
  }
  {
    Rng r2(10);
    Builder b(pq_case("pq_d80_m10_b2_ties", "integer centroids and inputs: exact ties must go to the lowest index", 80, 10, 2, r2, true), 10);
    b.add(GateRowKind::boundary, 12);
    b.add(GateRowKind::clip_high, 4);
    b.common(8);
    out.push_back(b.c);
  }
  {
    Rng r2(7);
    Builder b(pq_case("pq_d7_m1_b3", "one block of 7 dimensions, 8 centroids", 7, 1, 3, r2, false), 3);
    b.boundaries(4);
    b.add(GateRowKind::clip_high, 8);
    b.common(16);
    out.push_back(b.c);
  }
  return out;
}

void write_gate_vectors(const std::string& dir) {
  AtomicDirectory out(dir, "vectors.json");
  nlohmann::ordered_json index{{"format", "deltapq-gate-vectors"},
                               {"version", kGateVectorsVersion},
                               {"generator", "deltapq vectors"},
                               {"acceptance", "proofs-notes/G1.md: a code is exact, or an acceptable set when the input lies within the "
                                              "derived float32 rounding bound of a decision boundary; non-finite rows must be refused, "
                                              "rows whose float32 arithmetic can overflow may be"},
                               {"files", {{"design.json", "the design (schema in app/include/deltapq/app/gate.h)"},
                                          {"input.npy", "float32 [n, d]: the inputs"},
                                          {"status.npy", "int8 [n]: 0 valid, 1 must be refused (non-finite), 2 may be refused (float32 overflow)"},
                                          {"expected.npy", "int32 [n, c]: the reference's exact code (c = d; pq: c = M)"},
                                          {"acceptable_lo.npy", "int32 [n, c]: the lowest acceptable code (scalar, turbo)"},
                                          {"acceptable_hi.npy", "int32 [n, c]: the highest acceptable code (scalar, turbo)"},
                                          {"acceptable_mask.npy", "uint8 [n, M * K]: 1 for every acceptable centroid of each block (pq)"},
                                          {"expected_decoded.npy", "float32 [n, d]: the reference reconstruction of the expected codes"},
                                          {"decoded_bound.npy", "float64 [n, d]: its float32 error bound"},
                                          {"expected_norms.npy", "float64 [n]: ||x|| (turbo)"},
                                          {"norm_bound.npy", "float64 [n]: the float32 bound on the norm (turbo)"},
                                          {"expected_signs.npy", "uint8 [n, m]: QJL signs of the expected codes' residual (turbo with QJL)"},
                                          {"signs_either.npy", "uint8 [n, m]: 1 where either sign is acceptable"},
                                          {"expected_residual_norms.npy", "float64 [n]: ||r|| of the expected codes' residual (turbo with QJL)"},
                                          {"residual_norm_bound.npy", "float64 [n]: its float32 bound (-1: any finite value, a zero row)"}}},
                               {"kernel_outputs",
                                {{"layout", "deltapq gate --vectors DIR --outputs OUT reads OUT/CASE/ for every case that has OUT/CASE/codes.npy"},
                                 {"codes.npy", "integer [n, c]: your kernel's unpacked codes (required)"},
                                 {"refused.npy", "integer [n]: 1 for rows your kernel refused (optional; without it non-finite rows are not checked)"},
                                 {"decoded.npy", "float16/32/64 [n, d]: your reconstruction of your own codes (optional)"},
                                 {"norms.npy", "float [n]: the stored norms (turbo: required)"},
                                 {"signs.npy", "integer [n, m]: QJL sign bits 0/1 (turbo with QJL: required)"},
                                 {"residual_norms.npy", "float [n]: the stored ||r|| (turbo with QJL: required)"}}},
                               {"cases", nlohmann::ordered_json::array()}};
  for (const GateVectorCase& c : gate_vector_cases()) {
    const GateDesign& g = c.design;
    const std::size_t n = c.rows, d = static_cast<std::size_t>(g.dim()), nc = static_cast<std::size_t>(g.codes_per_row()),
                      m = static_cast<std::size_t>(g.qjl_rows());
    std::vector<double> status(n), expected(n * nc, 0), lo(n * nc, 0), hi(n * nc, 0), dec(n * d, 0), dbound(n * d, 0);
    std::vector<double> mask, norms, nbound, signs, either, rnorms, rbound;
    if (g.family == GateFamily::pq) mask.assign(n * nc * static_cast<std::size_t>(g.pq.k()), 0);
    if (g.family == GateFamily::turbo) {
      norms.assign(n, 0);
      nbound.assign(n, 0);
      signs.assign(n * m, 0);
      either.assign(n * m, 0);
      rnorms.assign(n, 0);
      rbound.assign(n, 0);
    }
    std::vector<double> out_row(d), out_bound(d);
    for (std::size_t r = 0; r < n; ++r) {
      const float* x = c.x.data() + r * d;
      const RowStatus st = row_status(g, x);
      status[r] = st == RowStatus::valid ? 0 : st == RowStatus::must_refuse ? 1 : 2;
      if (st == RowStatus::must_refuse) continue;
      std::vector<std::int64_t> codes(nc);
      if (g.family == GateFamily::scalar) {
        const auto e = ref::gate::scalar_expected_codes(g.scalar, x);
        codes = ref::gate::scalar_exact_codes(g.scalar, x);
        for (std::size_t k = 0; k < nc; ++k) {
          lo[r * nc + k] = e[k].lo;
          hi[r * nc + k] = e[k].hi;
        }
        ref::gate::scalar_reconstruction(g.scalar, codes.data(), out_row.data(), out_bound.data());
      } else if (g.family == GateFamily::turbo) {
        const auto e = ref::gate::turbo_expected(g.turbo, x);
        for (std::size_t k = 0; k < nc; ++k) {
          lo[r * nc + k] = e.codes[k].lo;
          hi[r * nc + k] = e.codes[k].hi;
          const auto& th = g.turbo.thresholds;
          codes[k] = e.zero ? e.codes[k].lo
                            : static_cast<std::int64_t>(std::upper_bound(th.begin(), th.end(), e.rotated[k], [](double v, float t) { return v < t; }) -
                                                        th.begin());
          codes[k] = std::clamp<std::int64_t>(codes[k], e.codes[k].lo, e.codes[k].hi);
        }
        norms[r] = e.norm;
        nbound[r] = e.norm_bound;
        std::vector<std::uint8_t> sg(m, 0);
        float rn = 0;
        if (m) {
          const auto q = ref::gate::turbo_expected_qjl(g.turbo, e, codes.data());
          for (std::size_t j = 0; j < m; ++j) {
            sg[j] = static_cast<std::uint8_t>(q.signs[j].lo == q.signs[j].hi ? q.signs[j].lo : 1);
            signs[r * m + j] = sg[j];
            either[r * m + j] = q.signs[j].exact() ? 0 : 1;
          }
          rn = static_cast<float>(q.residual_norm);
          rnorms[r] = q.residual_norm;
          rbound[r] = std::isfinite(q.residual_norm_bound) ? q.residual_norm_bound : -1;
        }
        if (e.zero) {
          std::fill(out_row.begin(), out_row.end(), 0.0);
          std::fill(out_bound.begin(), out_bound.end(), 0.0);
        } else {
          ref::gate::turbo_reconstruction(g.turbo, codes.data(), static_cast<float>(e.norm), m ? sg.data() : nullptr, rn,
                                          out_row.data(), out_bound.data());
        }
      } else {
        const auto e = ref::gate::pq_expected(g.pq, x);
        const int k = g.pq.k(), dm = g.pq.block_dim();
        for (std::size_t b = 0; b < nc; ++b) {
          codes[b] = e.exact[b];
          for (std::int32_t a : e.sets[b]) mask[(r * nc + b) * static_cast<std::size_t>(k) + static_cast<std::size_t>(a)] = 1;
          for (int j = 0; j < dm; ++j) {
            out_row[b * static_cast<std::size_t>(dm) + static_cast<std::size_t>(j)] =
                g.pq.centroids[(b * static_cast<std::size_t>(k) + static_cast<std::size_t>(codes[b])) * static_cast<std::size_t>(dm) + static_cast<std::size_t>(j)];
            out_bound[b * static_cast<std::size_t>(dm) + static_cast<std::size_t>(j)] = 0;
          }
        }
      }
      for (std::size_t k = 0; k < nc; ++k) expected[r * nc + k] = static_cast<double>(codes[k]);
      for (std::size_t j = 0; j < d; ++j) {
        dec[r * d + j] = static_cast<float>(out_row[j]);
        dbound[r * d + j] = out_bound[j];
      }
    }
    nlohmann::ordered_json kinds = c.row_kind;
    index["cases"].push_back({{"name", c.name}, {"family", to_string(g.family)}, {"dim", d}, {"rows", n}, {"reason", c.reason}, {"row_kinds", kinds}});
    auto put = [&](const std::string& file, const std::string& bytes) { out.write(c.name + "/" + file, bytes); };
    put("design.json", gate_design_json(g));
    put("input.npy", npy_bytes_typed({n, d}, std::vector<double>(c.x.begin(), c.x.end()), "<f4"));
    put("status.npy", npy_bytes_typed({n}, status, "<i1"));
    put("expected.npy", npy_bytes_typed({n, nc}, expected, "<i4"));
    if (g.family == GateFamily::pq) {
      put("acceptable_mask.npy", npy_bytes_typed({n, nc * static_cast<std::size_t>(g.pq.k())}, mask, "|u1"));
    } else {
      put("acceptable_lo.npy", npy_bytes_typed({n, nc}, lo, "<i4"));
      put("acceptable_hi.npy", npy_bytes_typed({n, nc}, hi, "<i4"));
    }
    put("expected_decoded.npy", npy_bytes_typed({n, d}, dec, "<f4"));
    put("decoded_bound.npy", npy_bytes_typed({n, d}, dbound, "<f8"));
    if (g.family == GateFamily::turbo) {
      put("expected_norms.npy", npy_bytes_typed({n}, norms, "<f8"));
      put("norm_bound.npy", npy_bytes_typed({n}, nbound, "<f8"));
      if (m) {
        put("expected_signs.npy", npy_bytes_typed({n, m}, signs, "|u1"));
        put("signs_either.npy", npy_bytes_typed({n, m}, either, "|u1"));
        put("expected_residual_norms.npy", npy_bytes_typed({n}, rnorms, "<f8"));
        put("residual_norm_bound.npy", npy_bytes_typed({n}, rbound, "<f8"));
      }
    }
  }
  out.write("vectors.json", index.dump(2) + "\n");
  out.commit();
}

}  // namespace dpq::app
