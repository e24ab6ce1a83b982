// An example "user" kernel in plain C++ (no deltapq code on its hot path): a TurboQuant-style codec,
// d = 64, randomized Walsh-Hadamard, 3-bit Lloyd-Max of the sphere marginal, a 64-row QJL sketch of
// the residual. It takes its tables (codebook, signs, sketch) from deltapq, as a user would from a
// paper's release. Compiled once per DPQ_BUG value -- the bugs the field has shipped:
//   0 none                       (gate_correct_user_turbo: must pass)
//   1 lloydmax_narrow            the Lloyd-Max table 0.61x too narrow
//   2 thresholds_as_centroids    the decision thresholds shipped in the centroid slot
//   3 qjl_no_sqrt_d              the QJL reconstruction scale divided by sqrt(d) (a missing sqrt(d))
//   4 zero_nan                   no zero-norm guard: the zero vector produces NaN
#include <cmath>
#include <cstring>
#include <vector>

#include "deltapq/app/paper_check.h"
#include "deltapq/fast/turbo_codec.h"
#include "plugin_support.h"

namespace {

constexpr int kDim = 64, kBits = 3, kRows = 64;

struct Tables {
  dpq::app::GateDesign declared;  // what the kernel claims to implement (the correct design)
  std::vector<float> centroids, thresholds, signs, sketch;
  Tables() {
    dpq::fast::TurboOptions o;
    o.seed = 2026;
    o.rotation = dpq::fast::RotationKind::hadamard;
    o.qjl_rows = kRows;
    const dpq::fast::TurboCodec codec(kDim, kBits, dpq::app::sphere_codebook(kDim, kBits), o);
    declared = dpq::app::gate_design_of(codec);
    centroids = declared.turbo.centroids;
    thresholds = declared.turbo.thresholds;
    signs = declared.turbo.signs;
    sketch = declared.turbo.sketch;
#if DPQ_BUG == 1
    for (auto& c : centroids) c *= 0.61f;
    for (auto& t : thresholds) t *= 0.61f;
#elif DPQ_BUG == 2
    const std::size_t L = centroids.size();
    for (std::size_t k = 0; k + 1 < L; ++k) centroids[k] = thresholds[k];
    centroids[L - 1] = 2 * thresholds[L - 2] - thresholds[L - 3];
    for (std::size_t k = 0; k + 1 < L; ++k) thresholds[k] = 0.5f * (centroids[k] + centroids[k + 1]);
#endif
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

// In-place unnormalized Walsh-Hadamard transform.
void fwht(float* v) {
  for (int h = 1; h < kDim; h *= 2)
    for (int i = 0; i < kDim; i += 2 * h)
      for (int j = i; j < i + h; ++j) {
        const float a = v[j], b = v[j + h];
        v[j] = a + b;
        v[j + h] = a - b;
      }
}

}  // namespace

extern "C" {

DPQ_GATE_EXPORT const dpq_gate_info* dpq_gate_info_v1(void) {
  static const char* names[] = {"user turbo kernel (correct)", "user turbo kernel (bug: Lloyd-Max table 0.61x too narrow)",
                                "user turbo kernel (bug: thresholds used as centroids)", "user turbo kernel (bug: QJL scale without its sqrt(d))",
                                "user turbo kernel (bug: NaN on the zero vector)"};
  static const dpq::plugin::StaticInfo info(names[DPQ_BUG], tables().declared, true);
  return &info.info;
}

DPQ_GATE_EXPORT int dpq_gate_encode_v1(const float* x, size_t n, int32_t* codes, float* norms, uint8_t* signs, float* res,
                                       uint8_t* refused) {
  const Tables& t = tables();
  const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(kDim));
  std::vector<float> u(kDim), r(kDim);
  for (size_t k = 0; k < n; ++k) {
    const float* xr = x + k * kDim;
    float n2 = 0;
    bool finite = true;
    for (int i = 0; i < kDim; ++i) {
      finite = finite && std::isfinite(xr[i]);
      n2 += xr[i] * xr[i];
    }
    const float norm = std::sqrt(n2);
    refused[k] = !finite || !std::isfinite(norm);
    if (refused[k]) continue;
#if DPQ_BUG == 4
    const float inv = 1.0f / norm;  // the bug: no zero guard
#else
    const float inv = norm > 0 ? 1.0f / norm : 0.0f;
#endif
    for (int i = 0; i < kDim; ++i) u[static_cast<size_t>(i)] = xr[i] * t.signs[static_cast<size_t>(i)] * inv;
    fwht(u.data());
    float rn2 = 0;
    for (int i = 0; i < kDim; ++i) {
      const float y = u[static_cast<size_t>(i)] * inv_sqrt_d;
      int32_t c = 0;
      for (float th : t.thresholds) c += y >= th;
      codes[k * kDim + static_cast<size_t>(i)] = c;
      r[static_cast<size_t>(i)] = y - t.centroids[static_cast<size_t>(c)];
      rn2 += r[static_cast<size_t>(i)] * r[static_cast<size_t>(i)];
    }
    norms[k] = norm;
    res[k] = std::sqrt(rn2);
    for (int j = 0; j < kRows; ++j) {
      float s = 0;
      for (int i = 0; i < kDim; ++i) s += t.sketch[static_cast<size_t>(j * kDim + i)] * r[static_cast<size_t>(i)];
      signs[k * kRows + static_cast<size_t>(j)] = s >= 0 ? 1 : 0;
    }
  }
  return 0;
}

DPQ_GATE_EXPORT int dpq_gate_decode_v1(const int32_t* codes, const float* norms, const uint8_t* signs, const float* res, size_t n,
                                       float* out) {
  const Tables& t = tables();
  const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(kDim));
  std::vector<float> v(kDim);
  for (size_t k = 0; k < n; ++k) {
    float scale = std::sqrt(static_cast<float>(M_PI) / 2) / kRows * res[k];
#if DPQ_BUG == 3
    scale /= std::sqrt(static_cast<float>(kDim));  // the bug: a sketch normalization that is not there
#endif
    for (int i = 0; i < kDim; ++i) {
      float s = 0;
      for (int j = 0; j < kRows; ++j) {
        const float e = t.sketch[static_cast<size_t>(j * kDim + i)];
        s += signs[k * kRows + static_cast<size_t>(j)] ? e : -e;
      }
      v[static_cast<size_t>(i)] = t.centroids[static_cast<size_t>(codes[k * kDim + static_cast<size_t>(i)])] + scale * s;
    }
    fwht(v.data());  // R^T v = D H v / sqrt(d)
    for (int i = 0; i < kDim; ++i) out[k * kDim + static_cast<size_t>(i)] = norms[k] * (v[static_cast<size_t>(i)] * inv_sqrt_d * t.signs[static_cast<size_t>(i)]);
  }
  return 0;
}

}  // extern "C"
