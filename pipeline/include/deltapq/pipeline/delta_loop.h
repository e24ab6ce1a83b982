// C1: the one closed-loop (and open-loop) delta coder of deltapq, generic over the number type and
// the quantizers: the C1 properties instantiate it with Real and the Part A reference quantizer; the
// pipeline, the zone monitor's coder and eval-nll's KV cache with float and the fast codec.
//
//   key frame (t = 0, or a reset):  x^_t = Q_V(x_t)
//   open loop:    delta_t = x_t - x_{t-1},  x^_t = x^_{t-1} + Q_delta(delta_t)   (errors accumulate)
//   closed loop:  delta_t = x_t - x^_{t-1}, x^_t = x^_{t-1} + Q_delta(delta_t)   (e_t = delta_t - Q(delta_t))
#pragma once

#include <cstddef>
#include <vector>

namespace dpq::pipeline {

enum class LoopMode { open, closed };

// Quantizer: callable void(const T* in, T* out) writing the reconstruction of one d-vector.
template <class T, class KeyQuantizer, class DeltaQuantizer>
class DeltaLoop {
 public:
  DeltaLoop(std::size_t dim, LoopMode mode, KeyQuantizer key, DeltaQuantizer delta)
      : dim_(dim), mode_(mode), key_(key), delta_(delta), prev_x_(dim), prev_hat_(dim), d_(dim), qd_(dim) {}

  // Codes x (d values) and writes its reconstruction; `key_frame` forces Q_V (t = 0 always is one).
  // Returns delta_t (x_t - x_{t-1} open, x_t - x^_{t-1} closed; zero at t = 0), quantized unless
  // this step was a key frame; valid until the next call.
  const std::vector<T>& step(const T* x, T* out, bool key_frame) {
    for (std::size_t i = 0; i < dim_; ++i)
      d_[i] = started_ ? T(x[i] - (mode_ == LoopMode::open ? prev_x_[i] : prev_hat_[i])) : T(0);
    if (!started_ || key_frame) {
      key_(x, out);
    } else {
      delta_(d_.data(), qd_.data());
      for (std::size_t i = 0; i < dim_; ++i) out[i] = prev_hat_[i] + qd_[i];
    }
    for (std::size_t i = 0; i < dim_; ++i) {
      prev_x_[i] = x[i];
      prev_hat_[i] = out[i];
    }
    started_ = true;
    return d_;
  }
  bool started() const { return started_; }

 private:
  std::size_t dim_;
  LoopMode mode_;
  KeyQuantizer key_;
  DeltaQuantizer delta_;
  bool started_ = false;
  std::vector<T> prev_x_, prev_hat_, d_, qd_;
};

}  // namespace dpq::pipeline
