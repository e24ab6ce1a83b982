#include "deltapq/app/report_wire.h"

#include <mpfr.h>
#include <nlohmann/json.hpp>

#include <memory>

#include "deltapq/core/error.h"

// JSON images of every struct a StreamReport holds, field by field (nlohmann's macros write both
// directions from one list, so the two cannot drift apart). Enums travel as their integers.
namespace nlohmann {

template <class T>
struct adl_serializer<std::optional<T>> {
  static void to_json(json& j, const std::optional<T>& o) {
    if (o)
      j = *o;
    else
      j = nullptr;
  }
  static void from_json(const json& j, std::optional<T>& o) {
    if (j.is_null())
      o.reset();
    else
      o = j.get<T>();
  }
};

// A Real as [precision in bits, decimal text]: mpfr_get_str with n = 0 chooses enough digits that
// reading them back at the same precision (both rounding to nearest) recovers the value exactly.
template <>
struct adl_serializer<dpq::ref::Real> {
  static void to_json(json& j, const dpq::ref::Real& x) {
    const mpfr_srcptr p = x.backend().data();
    const long prec = static_cast<long>(mpfr_get_prec(p));
    if (mpfr_nan_p(p)) {
      j = json::array({prec, "nan"});
      return;
    }
    if (mpfr_inf_p(p)) {
      j = json::array({prec, mpfr_sgn(p) > 0 ? "inf" : "-inf"});
      return;
    }
    if (mpfr_zero_p(p)) {
      j = json::array({prec, mpfr_signbit(p) ? "-0" : "0"});
      return;
    }
    mpfr_exp_t e = 0;
    const std::unique_ptr<char, void (*)(char*)> digits(mpfr_get_str(nullptr, &e, 10, 0, p, MPFR_RNDN), mpfr_free_str);
    std::string s = digits.get();
    const bool negative = s[0] == '-';
    if (negative) s.erase(0, 1);
    j = json::array({prec, std::string(negative ? "-" : "") + "0." + s + "e" + std::to_string(static_cast<long>(e))});
  }
  static void from_json(const json& j, dpq::ref::Real& x) {
    if (!j.is_array() || j.size() != 2 || !j[0].is_number_integer() || !j[1].is_string())
      throw dpq::Error("stream report bytes: a Real is not [precision, text]");
    const long prec = j[0].get<long>();
    if (prec < MPFR_PREC_MIN || prec > 1 << 20) throw dpq::Error("stream report bytes: a Real's precision is out of range");
    const std::string text = j[1].get<std::string>();
    dpq::ref::Real r;
    mpfr_ptr p = r.backend().data();
    mpfr_set_prec(p, static_cast<mpfr_prec_t>(prec));
    if (mpfr_set_str(p, text.c_str(), 10, MPFR_RNDN) != 0) throw dpq::Error("stream report bytes: a Real's text is not a number");
    x = std::move(r);
  }
};

template <>
struct adl_serializer<dpq::ref::RVector> {
  static void to_json(json& j, const dpq::ref::RVector& v) {
    j = json::array();
    for (Eigen::Index i = 0; i < v.size(); ++i) j.push_back(v(i));
  }
  static void from_json(const json& j, dpq::ref::RVector& v) {
    if (!j.is_array()) throw dpq::Error("stream report bytes: a vector is not an array");
    v.resize(static_cast<Eigen::Index>(j.size()));
    for (std::size_t i = 0; i < j.size(); ++i) v(static_cast<Eigen::Index>(i)) = j[i].get<dpq::ref::Real>();
  }
};

template <class T>
struct adl_serializer<dpq::Design<T>> {
  static void to_json(json& j, const dpq::Design<T>& d) {
    j = json{{"mean", d.mean}, {"basis", d.basis}, {"bits", d.bits}, {"clip", d.clip}};
  }
  static void from_json(const json& j, dpq::Design<T>& d) {
    j.at("mean").get_to(d.mean);
    j.at("basis").get_to(d.basis);
    j.at("bits").get_to(d.bits);
    j.at("clip").get_to(d.clip);
  }
};

}  // namespace nlohmann

namespace dpq::ref {
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Interval, lo, hi)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Certified, value, error)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(DominationFactor, finite, alpha, witness, reason)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PqShape, dim, blocks, bits)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(KMeansOptions, iterations, seed)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PqOptions, shape, transform, zca_eps_rel, kmeans, knn_k, knn_max_points)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PqSourceBlock, det, distortion, distortion_sd, a, ratio, kmeans_rounds, kmeans_converged)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(BlockAlpha, det_delta, det_v, alpha, finite)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(KnnShape, available, reason, log_relative_shape, standard_error, raw_log_relative_shape,
                                   calibration, points)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ShapeTiers, log_shape_ggd_v, log_shape_ggd_delta, beta_v, beta_delta, eta_ggd, knn_v,
                                   knn_delta, eta_knn, eta_knn_se)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(JointCondition, mu, verdict)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PqBlockReport, block, v, delta, alpha, eta_empirical, shape, eta_conservative, joint)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PqReport, options, zca_eps, blocks, alpha, alpha_finite, eta_empirical, eta_ggd,
                                   eta_conservative, eta_knn, d_v, d_delta, joint, eta_threshold)
}  // namespace dpq::ref

namespace dpq::pipeline {
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Stream, rows, dim, data)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Moments, mean, covariance)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(LoopResult, reconstruction, quantized_deltas, mse)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Calibration, delta_design, open_loop, steady_state, steady_state_deltas, rounds, converged,
                                   settled, settled_round, trace_standard_error, trace_history)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Certificate, rho, issued, bound, bound_orthogonal, trace_delta, verdict)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Transition, t, from, to, cause)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ZonedResult, loop, zones, transitions, resets, green, yellow, red)
}  // namespace dpq::pipeline

namespace dpq::app {
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(KvFile, path, bytes, fnv1a64, layer, head, kind)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(EtaTiers, ggd, knn)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(StreamUncertainty, block_length, alpha_open, alpha_closed, alpha_det, c3_ratio, green, yellow,
                                   red, mse_gain, dominated, c3_premise)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(StreamReport, file, tokens, dim, kappa, trace_v, calibration, alpha_open, alpha_closed, dominated, alpha_cheap,
                                   certificate, eta, eta_tiers, zones, mse_direct, mse_delta, alpha_det, c3_ratio, uncertainty,
                                   trace_v_rotated_mean, pq, pq_b2_empirical)

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PairStats, rank_biserial, permutation_p, energy)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PaperCell, data, d, n, metric, median, winner, runner_up, rank_biserial, permutation_p, energy,
                                   kqv_vs_kv, qkqv_vs_kqv)

namespace {
// Every wire payload: the value's JSON as CBOR, and back, a decoding error naming what was read.
std::string cbor(const nlohmann::json& j) {
  const std::vector<std::uint8_t> bytes = nlohmann::json::to_cbor(j);
  return std::string(bytes.begin(), bytes.end());
}
nlohmann::json from_cbor(const std::string& bytes, const char* what) {
  try {
    return nlohmann::json::from_cbor(bytes);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string(what) + " bytes: " + e.what());
  }
}
template <class T>
T decode(const std::string& bytes, const char* what) {
  const nlohmann::json j = from_cbor(bytes, what);
  try {
    return j.get<T>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string(what) + " bytes: " + e.what());
  }
}
}  // namespace

std::string cell_to_wire(const CellSamples& samples, const std::vector<PaperCell>& rows) {
  return cbor(nlohmann::json{{"samples", samples}, {"rows", rows}});
}

void cell_from_wire(const std::string& bytes, CellSamples& samples, std::vector<PaperCell>& rows) {
  const nlohmann::json j = from_cbor(bytes, "paper-check cell");
  try {
    j.at("samples").get_to(samples);
    j.at("rows").get_to(rows);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("paper-check cell bytes: ") + e.what());
  }
}

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(EvalNllToken, position, token, next, nll_fp32, nll, kl)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(EvalNllReport, tokens, nll_fp32, nll, delta_nll, kl, resets, eta_per_stream, delta_nll_ci,
                                   kl_ci, block_length, costs_nll, versus_delta_nll, versus_ci, versus_worse, per_token)

std::string to_wire(const EvalNllReport& r) { return cbor(nlohmann::json(r)); }
EvalNllReport eval_nll_report_from_wire(const std::string& bytes) { return decode<EvalNllReport>(bytes, "eval-nll run"); }

std::string to_wire(const StreamReport& r) { return cbor(nlohmann::json(r)); }
StreamReport stream_report_from_wire(const std::string& bytes) { return decode<StreamReport>(bytes, "stream report"); }

}  // namespace dpq::app
