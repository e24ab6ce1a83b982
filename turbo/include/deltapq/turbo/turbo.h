// TurboQuant-style schemes (Part D): rotation (D3), Lloyd-Max coding of unit vectors' coordinates
// (D2 codebooks from the reference), QJL residual sketches (D4), the schemes KV / KQV / QKQV at a fair
// budget (D5) and the attention-quality metrics (D6), in float/double.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "deltapq/fast/qjl.h"
#include "deltapq/fast/turbo_codec.h"

namespace dpq::turbo {

// D3: the rotation and the Walsh-Hadamard transform are the fast path's (deltapq/fast/turbo_codec.h).
using fast::Rotation;
using fast::walsh_hadamard;

// Lloyd-Max scalar quantizer of the sphere marginal f_d (codebook from the reference at >= 160 bits).
// A value exactly on a threshold goes to the upper cell.
class LloydMax {
 public:
  LloydMax(int dim, int bits);
  int bits() const { return bits_; }
  int encode(float t) const;
  float decode(int k) const { return centroids_[static_cast<std::size_t>(k)]; }
  const std::vector<float>& centroids() const { return centroids_; }
  double mse_per_coordinate() const { return mse_; }

 private:
  int bits_;
  std::vector<float> centroids_, thresholds_;
  double mse_;
};

enum class Scheme { kv, kqv, qkqv };
const char* to_string(Scheme s);

// Bits per vector of a scheme's K or V coding at budget n (excluding the fp32 norms, counted apart).
struct BitAccount {
  int coordinate_bits = 0;  // d * bits of the scalar stage
  int sketch_bits = 0;      // m QJL bits (0 without QJL)
  int norms = 0;            // fp32 norms stored (||x|| and, with QJL, ||r||)
  int total_payload() const { return coordinate_bits + sketch_bits; }
};

// Codes a set of vectors (rows of x, [n, d]) with one side (K or V) of a scheme at budget n_bits and
// returns the reconstructions. `with_qjl`: (n-1)-bit Lloyd-Max + 1-bit QJL (m = d); else n-bit.
// `rotate`: KV uses no rotation.
struct SideCoder {
  int dim, bits;
  bool rotate, with_qjl;
  std::uint64_t seed;
  BitAccount account() const;
  std::vector<float> code(const std::vector<float>& x) const;
};
// K and V side coders of a scheme at budget n (2..8).
SideCoder key_coder(Scheme s, int dim, int n, std::uint64_t seed);
SideCoder value_coder(Scheme s, int dim, int n, std::uint64_t seed);

// D6 metrics of one query against keys/values and their reconstructions.
struct QueryMetrics {
  double kl;             // KL(p_ref || p_quant), p = softmax(K q / sqrt d)
  double out_dir;        // angle between o = p^T V and o^ = p^^T V^ (radians)
  double out_norm;       // | ||o^|| - ||o|| | / ||o||
  double six_d;          // Euclidean length of (K dir, K norm, V dir, V norm, o dir, o norm)
};
// Errors of a coded set (keys or values): per vector the angle to its reconstruction and the
// relative norm error, and sum ||x - x^||^2 / sum ||x||^2.
struct SetMetrics {
  std::vector<double> dir, norm;
  double rel_mse = 0;
};
SetMetrics set_metrics(const std::vector<float>& x, const std::vector<float>& xq, int dim);
QueryMetrics query_metrics(const float* q, const std::vector<float>& k, const std::vector<float>& kq,
                           const std::vector<float>& v, const std::vector<float>& vq, int dim, const SetMetrics& ks,
                           const SetMetrics& vs);

}  // namespace dpq::turbo
