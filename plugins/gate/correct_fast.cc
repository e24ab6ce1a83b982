// Example gate plugins that wrap deltapq's own fast path (fast/): they must pass the gate -- deltapq's
// kernels go through the same gate as its users'. One source, one plugin per DPQ_PLUGIN value:
//   1 scalar, per channel  (d = 96, 4 bits, power-of-two clips, a dyadic mean: exact boundaries)
//   2 scalar, eigenbasis   (d = 64, a seeded orthogonal basis and mean, mixed 2..6 bits)
//   3 turbo, Hadamard      (d = 128, 4 bits)
//   4 turbo, Hadamard+QJL  (d = 128, 3-bit MSE stage + 64 sketch rows)
//   5 turbo, dense         (d = 96, 2 bits)
//   6 pq                   (d = 64, 8 blocks x 4 bits, trained on seeded Gaussian rows)
#include <boost/random/mersenne_twister.hpp>
#include <boost/random/normal_distribution.hpp>
#include <cmath>

#include "deltapq/app/paper_check.h"
#include "deltapq/fast/codec.h"
#include "deltapq/fast/pq.h"
#include "deltapq/fast/turbo_codec.h"
#include "plugin_support.h"

namespace {

#if DPQ_PLUGIN == 1 || DPQ_PLUGIN == 2
struct Kernel {
  dpq::fast::Codec codec;
  static dpq::Design<float> make() {
    dpq::Design<float> ds;
#if DPQ_PLUGIN == 1
    for (int i = 0; i < 96; ++i) {
      ds.bits.push_back(4);
      ds.clip.push_back(std::ldexp(1.0f, i % 5 - 2));
      ds.mean.push_back(static_cast<float>(i % 7 - 3) * 0.125f);
    }
#else
    const int d = 64;
    boost::random::mt19937_64 rng(64);
    boost::random::normal_distribution<double> normal;
    for (int i = 0; i < d; ++i) {
      ds.bits.push_back(2 + i % 5);
      ds.clip.push_back(static_cast<float>(3.0 * std::exp(-0.03 * i)));
      ds.mean.push_back(static_cast<float>(normal(rng)));
    }
    ds.basis = dpq::fast::Rotation(d, 65, dpq::fast::RotationKind::dense).dense();  // an orthogonal matrix
#endif
    return ds;
  }
  Kernel() : codec(make()) {}
  dpq::app::GateDesign design() const { return dpq::app::gate_design_of(codec.design()); }
  const char* name() const { return DPQ_PLUGIN == 1 ? "deltapq fast::Codec (per channel, d = 96, 4 bits)" : "deltapq fast::Codec (eigenbasis, d = 64, 2..6 bits)"; }
  int encode(const float* x, std::size_t n, int32_t* codes, float*, uint8_t*, float*, uint8_t* refused) const {
    dpq::plugin::copy_outputs(dpq::app::fast_gate_outputs(codec, x, n, false), codec.dim(), 0, codes, nullptr, nullptr, nullptr, refused);
    return 0;
  }
  int decode(const int32_t* codes, const float*, const uint8_t*, const float*, std::size_t n, float* out) const {
    dpq::app::fast_gate_decode(codec, codes, n, out);
    return 0;
  }
};
#elif DPQ_PLUGIN >= 3 && DPQ_PLUGIN <= 5
struct Kernel {
  dpq::fast::TurboCodec codec;
  static dpq::fast::TurboCodec make() {
    dpq::fast::TurboOptions o;
#if DPQ_PLUGIN == 3
    const int d = 128, bits = 4;
    o.seed = 3;
    o.rotation = dpq::fast::RotationKind::hadamard;
#elif DPQ_PLUGIN == 4
    const int d = 128, bits = 3;
    o.seed = 4;
    o.rotation = dpq::fast::RotationKind::hadamard;
    o.qjl_rows = 64;
#else
    const int d = 96, bits = 2;
    o.seed = 5;
    o.rotation = dpq::fast::RotationKind::dense;
#endif
    return dpq::fast::TurboCodec(d, bits, dpq::app::sphere_codebook(d, bits), o);
  }
  Kernel() : codec(make()) {}
  dpq::app::GateDesign design() const { return dpq::app::gate_design_of(codec); }
  const char* name() const {
    return DPQ_PLUGIN == 3 ? "deltapq fast::TurboCodec (Hadamard, d = 128, 4 bits)"
           : DPQ_PLUGIN == 4 ? "deltapq fast::TurboCodec (Hadamard + QJL m = 64, d = 128, 3 bits)"
                             : "deltapq fast::TurboCodec (dense rotation, d = 96, 2 bits)";
  }
  int encode(const float* x, std::size_t n, int32_t* codes, float* norms, uint8_t* signs, float* res, uint8_t* refused) const {
    const std::size_t m = codec.qjl() ? static_cast<std::size_t>(codec.qjl()->m()) : 0;
    dpq::plugin::copy_outputs(dpq::app::fast_gate_outputs(codec, x, n, false), static_cast<std::size_t>(codec.dim()), m, codes, norms, signs,
                              res, refused);
    return 0;
  }
  int decode(const int32_t* codes, const float* norms, const uint8_t* signs, const float* res, std::size_t n, float* out) const {
    dpq::app::fast_gate_decode(codec, codes, norms, signs, res, n, out);
    return 0;
  }
};
#elif DPQ_PLUGIN == 6
struct Kernel {
  dpq::fast::ProductQuantizer pq{64, 8, 4};
  Kernel() {
    boost::random::mt19937_64 rng(6);
    boost::random::normal_distribution<double> normal;
    std::vector<float> train(2048 * 64);
    for (auto& v : train) v = static_cast<float>(normal(rng));
    pq.train(train.data(), 2048);
  }
  dpq::app::GateDesign design() const { return dpq::app::gate_design_of(pq); }
  const char* name() const { return "deltapq fast::ProductQuantizer (d = 64, 8 blocks x 4 bits)"; }
  int encode(const float* x, std::size_t n, int32_t* codes, float*, uint8_t*, float*, uint8_t* refused) const {
    dpq::plugin::copy_outputs(dpq::app::fast_gate_outputs(pq, x, n, false), 8, 0, codes, nullptr, nullptr, nullptr, refused);
    return 0;
  }
  int decode(const int32_t* codes, const float*, const uint8_t*, const float*, std::size_t n, float* out) const {
    dpq::app::fast_gate_decode(pq, codes, n, out);
    return 0;
  }
};
#else
#error "DPQ_PLUGIN must be 1..6"
#endif

const Kernel& kernel() {
  static const Kernel k;
  return k;
}

}  // namespace

extern "C" {

DPQ_GATE_EXPORT const dpq_gate_info* dpq_gate_info_v1(void) {
  static const dpq::plugin::StaticInfo info(kernel().name(), kernel().design(), true);
  return &info.info;
}

DPQ_GATE_EXPORT int dpq_gate_encode_v1(const float* x, size_t n, int32_t* codes, float* norms, uint8_t* signs, float* res,
                                       uint8_t* refused) {
  try {
    return kernel().encode(x, n, codes, norms, signs, res, refused);
  } catch (...) {
    return 1;
  }
}

DPQ_GATE_EXPORT int dpq_gate_decode_v1(const int32_t* codes, const float* norms, const uint8_t* signs, const float* res, size_t n,
                                       float* out) {
  try {
    return kernel().decode(codes, norms, signs, res, n, out);
  } catch (...) {
    return 1;
  }
}

}  // extern "C"
