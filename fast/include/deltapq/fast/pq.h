// B1: product quantization in float32 (Part B's architecture on the fast path): d coordinates split into
// M contiguous blocks of d_m = d / M, each with K = 2^bits centroids (bits 1..8, one code byte per
// block). Training is k-means per block (k-means++ seeding, Lloyd iterations); encode picks the
// nearest centroid of each block; decode copies centroids; ADC tables give per-block L2 distances
// or inner products of a query to every centroid.
//
// Encode scores centroid k of a block by s_k = ||c_k||^2 + sum_j (-2 x_j) c_kj, evaluated as one
// fused multiply-add per term in the order j = 0 .. d_m - 1 starting from the stored float ||c_k||^2
// (itself fma-accumulated in order). ||x - c_k||^2 = ||x||^2 + s_k, so the argmin is the nearest
// centroid up to the rounding bound of proofs-notes/B1.md; ties go to the lowest index. The AVX2
// kernel and the scalar contract perform exactly these operations, so they give identical codes.
//
// Training: block m is seeded with a mt19937_64 stream of seed + m. k-means++ picks the first centre
// uniformly and each next one with probability proportional to the squared distance to the nearest
// chosen centre; Lloyd iterations then alternate assignment (the encode kernel) and centroid update
// (means accumulated in double, in row order). A centroid whose cluster is empty keeps its value.
// Stopping rule: no assignment changed in an iteration, or `iterations` rounds (FAISS's default 25).
// Reference counterparts (same rules, double / Real): ref::kmeans (training) and
// ref::nearest_centroid_distortion (the exact nearest centroid, same tie rule).
// Training is deterministic and identical at every SIMD level. Every row is used (FAISS subsamples to
// 256 K rows; at the benchmark's N = 65 536 and K = 256 the two coincide).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "deltapq/fast/simd.h"

namespace dpq::fast {

struct PqTrainOptions {
  int iterations = 25;
  std::uint64_t seed = 1234;
};

struct PqTrainReport {
  std::vector<int> iterations_run;  // per block
  std::vector<bool> converged;      // per block: stopped because no assignment changed
};

class ProductQuantizer {
 public:
  // Throws dpq::Error unless dim >= 1, 1 <= m <= dim, dim % m == 0, bits in 1..8.
  ProductQuantizer(int dim, int m, int bits);

  int dim() const { return dim_; }
  int blocks() const { return m_; }
  int block_dim() const { return dsub_; }
  int bits() const { return bits_; }
  int centroids_per_block() const { return k_; }
  std::size_t code_size() const { return static_cast<std::size_t>(m_); }  // bytes per vector

  // n x dim rows. Needs n >= K and finite values (dpq::Error naming row and column otherwise).
  PqTrainReport train(const float* x, std::size_t n, const PqTrainOptions& options = {},
                      std::optional<SimdLevel> level = std::nullopt);
  // M x K x d_m floats, block-major (the layout centroids() returns). Must be finite.
  void set_centroids(const std::vector<float>& centroids);
  const std::vector<float>& centroids() const { return centroids_; }
  const float* centroid(int block, int k) const {
    return centroids_.data() + (static_cast<std::size_t>(block) * k_ + k) * dsub_;
  }

  // codes: n x M bytes. Non-finite input is an error naming row and column; so is a row whose best
  // score overflows float (|x| beyond ~1e18), never a silent code.
  void encode(const float* x, std::size_t n, std::uint8_t* codes, std::optional<SimdLevel> level = std::nullopt) const;
  void decode(const std::uint8_t* codes, std::size_t n, float* x) const;

  // table: M x K floats. L2: ||q_m - c_mk||^2 (differences squared and fma-accumulated in order);
  // inner product: <q_m, c_mk> (fma-accumulated in order). Same values at every level.
  void adc_table_l2(const float* query, float* table, std::optional<SimdLevel> level = std::nullopt) const {
    adc_table(query, table, false, level);
  }
  void adc_table_ip(const float* query, float* table, std::optional<SimdLevel> level = std::nullopt) const {
    adc_table(query, table, true, level);
  }
  // Sum over blocks of table[m][code_m], in block order: the ADC distance (or inner product).
  float adc_lookup(const float* table, const std::uint8_t* code) const;

 private:
  void adc_table(const float* query, float* table, bool inner_product, std::optional<SimdLevel> level) const;
  void check_trained() const;
  void build_layout();
  int dim_, m_, dsub_, bits_, k_, kpad_;
  std::vector<float> centroids_;   // M x K x d_m
  std::vector<float> transposed_;  // M x d_m x Kpad (Kpad = K rounded up to 8; padding: 0)
  std::vector<float> norms_;       // M x Kpad (padding: +inf, never chosen)
  bool trained_ = false;
};

}  // namespace dpq::fast
