// Test-only gate plugins that misbehave in the ways a plugin runner must survive (tests/gate_test.cc):
// a crash, a hang, an error status, an unwritten output, and ABI violations caught before any call.
// Each wraps a correct per-channel scalar kernel (d = 8, 3 bits) and breaks one thing (DPQ_VARIANT):
//   1 crash_on_nan      dereferences null when a row holds a NaN (instead of refusing it)
//   2 hang_on_zero      loops forever on the zero row
//   3 status_on_big     returns 7 for batches of more than 3 rows
//   4 skips_last_row    never writes the codes of the batch's last row
//   5 bad_abi           declares ABI version 99
//   6 dim_mismatch      declares dim 9 for its dim-8 design
//   7 no_encode         exports no dpq_gate_encode_v1
#include <cmath>
#include <cstring>

#include "deltapq/gate_plugin.h"

namespace {

constexpr int kDim = 8, kBits = 3;
const char* kDesign =
    "{\"format\": \"deltapq-design\", \"version\": 1, \"family\": \"scalar\", \"dim\": 8, \"arithmetic\": \"fp32\", "
    "\"bits\": [3, 3, 3, 3, 3, 3, 3, 3], \"clip\": [1, 1, 1, 1, 2, 2, 2, 2]}";

[[maybe_unused]] int encode_correct(const float* x, size_t n, int32_t* codes, uint8_t* refused) {
  for (size_t k = 0; k < n; ++k) {
    bool finite = true;
    for (int i = 0; i < kDim; ++i) finite = finite && std::isfinite(x[k * kDim + i]);
#if DPQ_VARIANT == 1
    if (!finite) {
      volatile int* p = nullptr;
      *p = 1;  // the bug
    }
#endif
    refused[k] = !finite;
    if (!finite) continue;
#if DPQ_VARIANT == 2
    bool zero = true;
    for (int i = 0; i < kDim; ++i) zero = zero && x[k * kDim + i] == 0.0f;
    volatile bool spin = zero;  // the bug (volatile: an empty infinite loop would be undefined)
    while (spin) {
    }
#endif
#if DPQ_VARIANT == 4
    if (k + 1 == n) continue;  // the bug
#endif
    for (int i = 0; i < kDim; ++i) {
      const float c = i < 4 ? 1.0f : 2.0f, step = c * 2 / (1 << kBits);
      const float t = std::floor((x[k * kDim + i] + c) / step);
      codes[k * kDim + i] = static_cast<int32_t>(std::fmin(std::fmax(t, 0.0f), (1 << kBits) - 1));
    }
  }
  return 0;
}

}  // namespace

extern "C" {

DPQ_GATE_EXPORT const dpq_gate_info* dpq_gate_info_v1(void) {
  static dpq_gate_info info{DPQ_VARIANT == 5 ? 99u : static_cast<uint32_t>(DPQ_GATE_ABI_VERSION), "misbehaving test plugin", "scalar",
                            DPQ_VARIANT == 6 ? 9 : kDim, kBits, kDesign, 0};
  return &info;
}

#if DPQ_VARIANT != 7
DPQ_GATE_EXPORT int dpq_gate_encode_v1(const float* x, size_t n, int32_t* codes, float*, uint8_t*, float*, uint8_t* refused) {
#if DPQ_VARIANT == 3
  if (n > 3) return 7;
#endif
  return encode_correct(x, n, codes, refused);
}
#endif

}  // extern "C"
