// An example "user" kernel in plain C++: a per-channel clipped uniform codec (Part A, identity basis),
// d = 16, 3 bits, power-of-two clips and a dyadic mean -- every cell boundary is a float and the float
// arithmetic is exact there, so a value on a boundary has exactly one right code (the upper cell).
//   DPQ_BUG 0 none            (gate_correct_user_scalar: must pass)
//   DPQ_BUG 1 boundary_lower  a value exactly on a boundary goes to the lower cell (ceil(t) - 1)
#include <cmath>
#include <vector>

#include "plugin_support.h"

namespace {

constexpr int kDim = 16, kBits = 3;

struct Tables {
  dpq::app::GateDesign declared;
  std::vector<float> shift, inv_step, step, clip, mean;
  Tables() {
    dpq::Design<float> ds;
    for (int i = 0; i < kDim; ++i) {
      ds.bits.push_back(kBits);
      ds.clip.push_back(std::ldexp(1.0f, i % 4 - 1));
      ds.mean.push_back(static_cast<float>(i % 5 - 2) * 0.25f);
    }
    declared = dpq::app::gate_design_of(ds);
    for (int i = 0; i < kDim; ++i) {
      clip.push_back(ds.clip[static_cast<size_t>(i)]);
      mean.push_back(ds.mean[static_cast<size_t>(i)]);
      step.push_back(std::ldexp(ds.clip[static_cast<size_t>(i)], 1 - kBits));
      inv_step.push_back(1.0f / step.back());
      shift.push_back(ds.clip[static_cast<size_t>(i)] - ds.mean[static_cast<size_t>(i)]);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

extern "C" {

DPQ_GATE_EXPORT const dpq_gate_info* dpq_gate_info_v1(void) {
  static const dpq::plugin::StaticInfo info(DPQ_BUG ? "user scalar kernel (bug: boundary ties to the lower cell)" : "user scalar kernel (correct)",
                                            tables().declared, true);
  return &info.info;
}

DPQ_GATE_EXPORT int dpq_gate_encode_v1(const float* x, size_t n, int32_t* codes, float*, uint8_t*, float*, uint8_t* refused) {
  const Tables& t = tables();
  const float top = static_cast<float>((1 << kBits) - 1);
  for (size_t k = 0; k < n; ++k) {
    bool finite = true;
    for (int i = 0; i < kDim; ++i) finite = finite && std::isfinite(x[k * kDim + static_cast<size_t>(i)]);
    refused[k] = !finite;
    if (!finite) continue;
    for (int i = 0; i < kDim; ++i) {
      const float v = (x[k * kDim + static_cast<size_t>(i)] + t.shift[static_cast<size_t>(i)]) * t.inv_step[static_cast<size_t>(i)];
#if DPQ_BUG == 1
      const float c = std::ceil(v) - 1;  // the bug: v on a boundary goes down
#else
      const float c = std::floor(v);
#endif
      codes[k * kDim + static_cast<size_t>(i)] = static_cast<int32_t>(std::fmin(std::fmax(c, 0.0f), top));
    }
  }
  return 0;
}

DPQ_GATE_EXPORT int dpq_gate_decode_v1(const int32_t* codes, const float*, const uint8_t*, const float*, size_t n, float* out) {
  const Tables& t = tables();
  for (size_t k = 0; k < n; ++k)
    for (int i = 0; i < kDim; ++i) {
      const size_t j = static_cast<size_t>(i);
      out[k * kDim + j] = t.mean[j] + ((static_cast<float>(codes[k * kDim + j]) + 0.5f) * t.step[j] - t.clip[j]);
    }
  return 0;
}

}  // extern "C"
