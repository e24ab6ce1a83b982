// The gate: deltapq checks other people's quantizer kernels (`deltapq vectors`, `deltapq gate`).
//
// A design (JSON, schema below) says what the kernel implements: the Part A codec ("scalar"), the
// TurboQuant-style codec ("turbo", optionally with its QJL stage) or a product quantizer ("pq"). For
// every input row the reference's expectation is an exact code or an acceptable set (reference/gate.h,
// proofs-notes/G1.md); a row with a non-finite value must be refused; a row whose float32 arithmetic
// may overflow may be refused. The checker compares a kernel's outputs -- codes, and optionally its
// reconstructions, norms, QJL signs and residual norms -- with those expectations and says per entry
// exact / acceptable / wrong, with the worst offenders.
//
// Design JSON (numbers are read as float32):
//   {"format": "deltapq-design", "version": 1, "family": "scalar", "dim": d, "arithmetic": "fp32" | "exact",
//    "bits": [b_i], "clip": [c_i], "mean": [mu_j] (optional), "basis": [U row-major, U(j, i) = basis[j d + i]] (optional)}
//   {"family": "turbo", "dim": d, "bits": b, "centroids": [2^b], "thresholds": [2^b - 1],
//    "rotation": {"kind": "hadamard", "signs": [+-1]} | {"kind": "dense", "matrix": [R row-major]} | {"kind": "identity"},
//    "qjl": {"rows": m, "sketch": [S row-major m x d]} (optional)}
//   {"family": "pq", "dim": d, "blocks": M, "bits": b, "centroids": [M x 2^b x d/M, block-major]}
// Codes: scalar and turbo [n, d] (code of coordinate i), pq [n, M]. Turbo records also carry the fp32
// norm per row, and with QJL the m sign bits (1 when (S r)_j >= 0) and ||r|| of r = R x/||x|| - c[code].
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "deltapq/reference/gate.h"

namespace dpq::fast {
class Codec;
class TurboCodec;
class ProductQuantizer;
}  // namespace dpq::fast

namespace dpq::app {

enum class GateFamily { scalar, turbo, pq };
const char* to_string(GateFamily f);

struct GateDesign {
  GateFamily family = GateFamily::scalar;
  ref::gate::ScalarDesignSpec scalar;
  ref::gate::TurboDesignSpec turbo;
  ref::gate::PqDesignSpec pq;
  int dim() const;
  int codes_per_row() const;  // d, or M for pq
  int qjl_rows() const;       // turbo's m (0 otherwise)
  std::int64_t max_code(std::size_t column) const;
};
// Throws dpq::Error naming `where` and the field.
GateDesign parse_gate_design(const std::string& json_text, const std::string& where);
GateDesign read_gate_design(const std::string& path);
std::string gate_design_json(const GateDesign& d);

// The designs of deltapq's own codecs (what `vectors` writes for them and the example plugins declare).
GateDesign gate_design_of(const fast::TurboCodec& codec);
GateDesign gate_design_of(const fast::ProductQuantizer& pq);
GateDesign gate_design_of(const Design<float>& scalar_design);

// deltapq's own fast path in the gate's form (the example plugins and the gate benchmark use these):
// the codec's outputs for n rows, codes unpacked, the rows it refuses (non-finite, or float32
// overflow) marked refused, and with `decode` its reconstruction of its own records.
struct GateOutputs;
GateOutputs fast_gate_outputs(const fast::Codec& codec, const float* x, std::size_t n, bool decode);
GateOutputs fast_gate_outputs(const fast::TurboCodec& codec, const float* x, std::size_t n, bool decode);
GateOutputs fast_gate_outputs(const fast::ProductQuantizer& pq, const float* x, std::size_t n, bool decode);
// Their decoders on unpacked records (norms, signs, residual norms: turbo only; may be null otherwise).
void fast_gate_decode(const fast::Codec& codec, const std::int32_t* codes, std::size_t n, float* out);
void fast_gate_decode(const fast::TurboCodec& codec, const std::int32_t* codes, const float* norms, const std::uint8_t* signs,
                      const float* residual_norms, std::size_t n, float* out);
void fast_gate_decode(const fast::ProductQuantizer& pq, const std::int32_t* codes, std::size_t n, float* out);

enum class RowStatus { valid, must_refuse, may_refuse };
const char* to_string(RowStatus s);
// must_refuse: a non-finite value; may_refuse: float32 arithmetic on the row can overflow.
RowStatus row_status(const GateDesign& d, const float* x);

struct GateOutputs {
  std::size_t rows = 0;
  std::vector<std::int64_t> codes;                  // rows x codes_per_row
  std::optional<std::vector<float>> decoded;        // rows x dim
  std::optional<std::vector<float>> norms;          // turbo: rows
  std::optional<std::vector<std::uint8_t>> signs;   // turbo with QJL: rows x m, 0/1
  std::optional<std::vector<float>> residual_norms; // turbo with QJL: rows
  std::optional<std::vector<bool>> refused;         // rows the kernel refused (its outputs there are ignored)
};

struct GateCounts {
  std::size_t exact = 0, acceptable = 0, wrong = 0;
};
struct GateOffender {
  std::string what;      // "code", "decoded", "norm", "sign", "residual norm", "refusal"
  std::size_t row = 0, column = 0;
  double input = 0;      // x[row][column] (the row's first value for row-level entries), or what input_name says
  std::string expected, got;
  double severity = 0;   // for ordering: how far outside the expectation
  std::string input_name = "input";  // "input", "y" (turbo: the rotated unit coordinate the code quantizes), "block's x[0]"
};
struct GateReport {
  GateFamily family = GateFamily::scalar;
  std::size_t rows = 0, checked_rows = 0, must_refuse = 0, may_refuse = 0, refused = 0;
  std::size_t unchecked_non_finite = 0;  // non-finite rows without a refusal mask (file mode)
  GateCounts codes, signs;
  std::size_t refusals_wrong = 0;  // a valid row refused, or a non-finite row accepted
  std::size_t decoded_checked = 0, decoded_wrong = 0, norms_checked = 0, norms_wrong = 0, residual_checked = 0,
              residual_wrong = 0;
  double decoded_mse_vs_reference = 0;  // per row, user reconstruction against the reference's (of its own codes)
  bool decoded_present = false;
  std::vector<GateOffender> worst;      // the worst offenders, most severe first (at most 20)
  std::size_t wrong() const {
    return codes.wrong + signs.wrong + refusals_wrong + decoded_wrong + norms_wrong + residual_wrong;
  }
  bool passes() const { return wrong() == 0; }
};
// x: rows x dim float32. Throws dpq::Error on shape mismatches; a code outside the design's range is
// counted wrong (a finding about the kernel, not bad input).
GateReport check_gate(const GateDesign& design, const float* x, std::size_t rows, const GateOutputs& out);

// ---- Edge-case rows (shared by the corpus and the plugin runner) ----
enum class GateRowKind {
  random,          // Gaussian at the design's scale (times e^{(index % 5) - 2})
  boundary,        // scalar: every coordinate exactly on a cell boundary (in y); turbo: a rotated coordinate
                   // on a threshold; pq: a tie candidate (the midpoint of two centroids per block)
  boundary_up,     // scalar (identity basis): the boundary row, each value one ulp up
  boundary_down,   // ... one ulp down
  clip_high,       // scalar: y = +c (the upper clip limit); others: a copy of centroid `index` (pq) or random
  clip_low,        // scalar: y = -c
  clip_beyond,     // scalar: y one ulp beyond +c (identity basis), 2c otherwise
  zero,
  signed_zeros,    // +0 and -0 alternating
  subnormal,       // values 2^-130 .. 2^-148
  near_flt_max,    // +-FLT_MAX / (1..5)
  huge_norm,       // Gaussian times 1e19 (the squared norm overflows float32)
  nan,             // a NaN in one coordinate (must be refused)
  inf,             // an Inf in one coordinate (must be refused)
};
const char* to_string(GateRowKind k);
// The row of `kind` for the design (deterministic in seed and index).
std::vector<float> gate_row(const GateDesign& design, GateRowKind kind, std::uint64_t seed, int index);

// ---- The test-vector corpus (`deltapq vectors`) ----
inline constexpr int kGateVectorsVersion = 1;
struct GateVectorCase {
  std::string name;    // directory name
  std::string reason;  // what the case exercises
  GateDesign design;
  std::vector<float> x;  // rows x dim
  std::size_t rows = 0;
  std::vector<std::string> row_kind;  // per row: "random", "boundary", "boundary+1ulp", "zero", "nan", ...
};
// The corpus: scalar, turbo and pq cases with edge cases (boundaries and one ulp either side, clip
// limits, +-0, subnormals, near FLT_MAX, zero vectors, exact ties, non-finite rows) and random rows,
// for dimensions 1, 7, 80, 96, 128, 192, 576. Deterministic.
std::vector<GateVectorCase> gate_vector_cases();
// Writes vectors.json and one directory per case (design.json, input.npy, status.npy, expected.npy,
// acceptable_lo.npy / acceptable_hi.npy or acceptable_mask.npy, expected_decoded.npy, decoded_bound.npy,
// and for turbo expected_norms.npy, norm_bound.npy, with QJL expected_signs.npy, signs_either.npy,
// expected_residual_norms.npy, residual_norm_bound.npy). Whole or nothing.
void write_gate_vectors(const std::string& dir);

// The file checker on a corpus: for every case of `vectors_dir`, the kernel's outputs in
// outputs_dir/CASE/ (codes.npy; decoded.npy, norms.npy, signs.npy, residual_norms.npy, refused.npy
// optional). A case without outputs_dir/CASE/codes.npy is skipped; none at all is bad input.
struct GateCorpusReport {
  std::vector<std::pair<std::string, GateReport>> cases;
  std::vector<std::string> skipped;  // cases without outputs (a kernel answers the cases of its family)
  bool passes() const;
};
GateCorpusReport check_gate_corpus(const std::string& vectors_dir, const std::string& outputs_dir);

// Reads a kernel's outputs from .npy files (paths empty: absent). decoded may be float16/32/64 or, with
// decoded_bf16, bfloat16 bits in a 16-bit integer array.
GateOutputs read_gate_outputs(const GateDesign& design, std::size_t rows, const std::string& codes,
                              const std::string& decoded, bool decoded_bf16, const std::string& norms,
                              const std::string& signs, const std::string& residual_norms, const std::string& refused);

std::string to_json(const GateReport& r);
std::string to_json(const GateCorpusReport& r);
void print_text(const GateReport& r, const std::string& title, std::ostream& os);
void print_text(const GateCorpusReport& r, std::ostream& os);

}  // namespace dpq::app
