#include "deltapq/fast/pq.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include "deltapq/core/error.h"
#include "deltapq/core/kmeans.h"
#include "batch_check.h"
#include "codec_kernels.h"
#include "pq_kernels.h"

namespace dpq::fast {
namespace {

constexpr int kMaxBlockDim = 256;  // the kernels' stack buffer of -2 x_j

// Fixed-size copies for the common block widths (the compiler turns them into a few moves).
template <int D>
void decode_fixed(const float* centroids, int m, int k, const std::uint8_t* codes, std::size_t n, float* x) {
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t* c = codes + i * m;
    float* out = x + i * static_cast<std::size_t>(m) * D;
    for (int b = 0; b < m; ++b)
      std::memcpy(out + b * D, centroids + (static_cast<std::size_t>(b) * k + c[b]) * D, D * sizeof(float));
  }
}

// One block's centroids (K x d_m, row-major) into the kernel layout.
void layout_block(const float* c, int k, int kpad, int dsub, float* ct, float* norms) {
  for (int kk = 0; kk < kpad; ++kk) {
    float s = 0.0f;
    for (int j = 0; j < dsub; ++j) {
      const float v = kk < k ? c[kk * dsub + j] : 0.0f;
      ct[static_cast<std::size_t>(j) * kpad + kk] = v;
      s = std::fma(v, v, s);
    }
    norms[kk] = kk < k ? s : std::numeric_limits<float>::infinity();
  }
}

}  // namespace

ProductQuantizer::ProductQuantizer(int dim, int m, int bits) : dim_(dim), m_(m), bits_(bits) {
  if (dim < 1) throw Error("pq: dimension " + std::to_string(dim) + " must be >= 1");
  if (m < 1 || m > dim) throw Error("pq: M = " + std::to_string(m) + " blocks must be in 1.." + std::to_string(dim));
  if (dim % m != 0)
    throw Error("pq: dimension " + std::to_string(dim) + " is not divisible by M = " + std::to_string(m));
  if (bits < 1 || bits > 8) throw Error("pq: bits = " + std::to_string(bits) + " per block must be in 1..8");
  dsub_ = dim / m;
  if (dsub_ > kMaxBlockDim)
    throw Error("pq: block dimension " + std::to_string(dsub_) + " exceeds " + std::to_string(kMaxBlockDim));
  k_ = 1 << bits;
  kpad_ = (k_ + 7) / 8 * 8;
  centroids_.assign(static_cast<std::size_t>(m_) * k_ * dsub_, 0.0f);
}

void ProductQuantizer::build_layout() {
  transposed_.assign(static_cast<std::size_t>(m_) * dsub_ * kpad_, 0.0f);
  norms_.assign(static_cast<std::size_t>(m_) * kpad_, 0.0f);
  for (int b = 0; b < m_; ++b)
    layout_block(centroids_.data() + static_cast<std::size_t>(b) * k_ * dsub_, k_, kpad_, dsub_,
                 transposed_.data() + static_cast<std::size_t>(b) * dsub_ * kpad_, norms_.data() + b * kpad_);
  trained_ = true;
}

void ProductQuantizer::set_centroids(const std::vector<float>& centroids) {
  if (centroids.size() != centroids_.size())
    throw Error("pq: " + std::to_string(centroids.size()) + " centroid values given, expected M x K x d_m = " +
                std::to_string(centroids_.size()));
  detail::require_finite_batch("pq centroids", centroids.data(), centroids.size() / dsub_, dsub_);
  centroids_ = centroids;
  build_layout();
}

void ProductQuantizer::check_trained() const {
  if (!trained_) throw Error("pq: the quantizer has no centroids yet (train or set_centroids first)");
}

namespace {
// dd[i] = sum_j (xt[j n + i] - c_j)^2 for i in [i0, i1), accumulated from 0 in j order (the generic
// loop's order, so the same bits), with D columns unrolled so the sums stay in registers.
template <int D>
void distances_chunk(const float* xt, std::size_t n, const float* c, std::size_t i0, std::size_t i1, float* dd) {
  float cj[D];
  for (int j = 0; j < D; ++j) cj[j] = c[j];
  for (std::size_t i = i0; i < i1; ++i) {
    float acc = 0.0f;
    for (int j = 0; j < D; ++j) {
      const float diff = xt[static_cast<std::size_t>(j) * n + i] - cj[j];
      acc += diff * diff;
    }
    dd[i] = acc;
  }
}

constexpr std::size_t kSeedChunk = 2048;

// One k-means++ step for the centre c (dsub floats): d2[i] = min(d2[i], ||x_i - c||^2), each distance
// accumulated from 0 in column order (the same bits at any vector width), in chunks of kSeedChunk rows
// that stay in L1; each chunk's sum of d2 in 8 interleaved double sums; then the draw of the next
// centre with probability d2[i] / total: u = U(0,1) total, the first chunk whose running sum exceeds
// u, and inside it the first row whose running sum does (rows in order). The fast trainer's own
// sampler: the reference's (core/kmeans.h) scans one running sum over all rows.
std::size_t seed_step(const float* xt, std::size_t n, int dsub, const float* c, float* dd, float* d2, double* chunk_total,
                      std::mt19937_64& rng) {
  const std::size_t chunks = (n + kSeedChunk - 1) / kSeedChunk;
  double total = 0;
  for (std::size_t ci = 0; ci < chunks; ++ci) {
    const std::size_t i0 = ci * kSeedChunk, i1 = std::min(n, i0 + kSeedChunk);
    if (dsub == 4) distances_chunk<4>(xt, n, c, i0, i1, dd);
    else if (dsub == 8) distances_chunk<8>(xt, n, c, i0, i1, dd);
    else if (dsub == 16) distances_chunk<16>(xt, n, c, i0, i1, dd);
    else {
      for (std::size_t i = i0; i < i1; ++i) dd[i] = 0.0f;
      for (int j = 0; j < dsub; ++j) {
        const float cj = c[j];
        const float* col = xt + static_cast<std::size_t>(j) * n;
        for (std::size_t i = i0; i < i1; ++i) {
          const float diff = col[i] - cj;
          dd[i] += diff * diff;
        }
      }
    }
    for (std::size_t i = i0; i < i1; ++i) d2[i] = dd[i] < d2[i] ? dd[i] : d2[i];
    double p0 = 0, p1 = 0, p2 = 0, p3 = 0, p4 = 0, p5 = 0, p6 = 0, p7 = 0;
    std::size_t i = i0;
    for (; i + 8 <= i1; i += 8) {
      p0 += d2[i];
      p1 += d2[i + 1];
      p2 += d2[i + 2];
      p3 += d2[i + 3];
      p4 += d2[i + 4];
      p5 += d2[i + 5];
      p6 += d2[i + 6];
      p7 += d2[i + 7];
    }
    for (; i < i1; ++i) p0 += d2[i];
    chunk_total[ci] = ((p0 + p4) + (p1 + p5)) + ((p2 + p6) + (p3 + p7));
    total += chunk_total[ci];
  }
  if (!(total > 0)) return rng() % n;
  const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53 * total;
  double cumulative = 0;
  for (std::size_t ci = 0; ci < chunks; ++ci) {
    if (cumulative + chunk_total[ci] > u) {
      const std::size_t i0 = ci * kSeedChunk, i1 = std::min(n, i0 + kSeedChunk);
      for (std::size_t i = i0; i < i1; ++i) {
        cumulative += d2[i];
        if (cumulative > u) return i;
      }
      continue;  // the rows summed in order fell short of the interleaved total: on to the next chunk
    }
    cumulative += chunk_total[ci];
  }
  return n - 1;
}
}  // namespace

PqTrainReport ProductQuantizer::train(const float* x, std::size_t n, const PqTrainOptions& options,
                                      std::optional<SimdLevel> level) {
  if (n < static_cast<std::size_t>(k_))
    throw Error("pq train: " + std::to_string(n) + " rows, but K = 2^" + std::to_string(bits_) + " = " +
                std::to_string(k_) + " centroids need at least K rows");
  if (options.iterations < 1) throw Error("pq train: iterations = " + std::to_string(options.iterations) + " must be >= 1");
  detail::require_finite_batch("pq train", x, n, dim_);
  const auto assign = detail::pq_kernels(select_simd(level)).assign;
  PqTrainReport report;
  std::vector<float> xs(n * dsub_), xt(n * dsub_), d2(n), dist(n);
  std::vector<double> chunk_total((n + kSeedChunk - 1) / kSeedChunk);
  std::vector<std::uint8_t> codes(n), previous(n);
  std::vector<float> ct(static_cast<std::size_t>(dsub_) * kpad_), norms(kpad_);
  for (int b = 0; b < m_; ++b) {
    for (std::size_t i = 0; i < n; ++i)
      for (int j = 0; j < dsub_; ++j) {
        xs[i * dsub_ + j] = x[i * dim_ + static_cast<std::size_t>(b) * dsub_ + j];
        xt[static_cast<std::size_t>(j) * n + i] = xs[i * dsub_ + j];
      }
    float* c = centroids_.data() + static_cast<std::size_t>(b) * k_ * dsub_;
    std::mt19937_64 rng(options.seed + static_cast<std::uint64_t>(b));
    // k-means++ seeding.
    std::size_t pick = rng() % n;
    d2.assign(n, std::numeric_limits<float>::infinity());
    for (int kk = 0; kk < k_; ++kk) {
      std::memcpy(c + kk * dsub_, &xs[pick * dsub_], dsub_ * sizeof(float));
      if (kk + 1 == k_) break;
      // Squared distances to the new centre in chunks of rows that stay in L1, then the draw.
      pick = seed_step(xt.data(), n, dsub_, c + kk * dsub_, dist.data(), d2.data(), chunk_total.data(), rng);
    }
    // Lloyd iterations.
    const detail::PqBlock view{dsub_, k_, kpad_, ct.data(), norms.data()};
    int rounds = 0;
    bool converged = false;
    for (int it = 0; it < options.iterations; ++it) {
      layout_block(c, k_, kpad_, dsub_, ct.data(), norms.data());
      const std::ptrdiff_t bad = assign(view, xs.data(), n, dsub_, codes.data(), 1, nullptr);
      if (bad >= 0)
        throw Error("pq train: row " + std::to_string(bad) + ", block " + std::to_string(b) +
                    ": squared distances overflow float (values too large)");
      if (it > 0 && codes == previous) {
        converged = true;
        break;
      }
      previous = codes;
      ++rounds;
      lloyd_update(xs.data(), n, dsub_, codes.data(), k_, c);
    }
    report.iterations_run.push_back(rounds);
    report.converged.push_back(converged);
  }
  build_layout();
  return report;
}

void ProductQuantizer::encode(const float* x, std::size_t n, std::uint8_t* codes, std::optional<SimdLevel> level) const {
  check_trained();
  detail::require_finite_batch("pq encode", x, n, dim_);
  const auto assign = detail::pq_kernels(select_simd(level)).assign;
  constexpr std::size_t kTile = 64;  // rows per pass over the blocks: the tile stays in L1/L2
  for (std::size_t r0 = 0; r0 < n; r0 += kTile) {
    const std::size_t rows = std::min(kTile, n - r0);
    for (int b = 0; b < m_; ++b) {
      const detail::PqBlock view{dsub_, k_, kpad_, transposed_.data() + static_cast<std::size_t>(b) * dsub_ * kpad_,
                                 norms_.data() + b * kpad_};
      const std::ptrdiff_t bad =
          assign(view, x + r0 * dim_ + static_cast<std::size_t>(b) * dsub_, rows, dim_, codes + r0 * m_ + b, m_, nullptr);
      if (bad >= 0)
        throw Error("pq encode: row " + std::to_string(r0 + bad) + ", block " + std::to_string(b) +
                    ": squared distances overflow float (values too large)");
    }
  }
}

void ProductQuantizer::decode(const std::uint8_t* codes, std::size_t n, float* x) const {
  check_trained();
  const float* c = centroids_.data();
  switch (dsub_) {
    case 1: return decode_fixed<1>(c, m_, k_, codes, n, x);
    case 2: return decode_fixed<2>(c, m_, k_, codes, n, x);
    case 4: return decode_fixed<4>(c, m_, k_, codes, n, x);
    case 8: return decode_fixed<8>(c, m_, k_, codes, n, x);
    case 16: return decode_fixed<16>(c, m_, k_, codes, n, x);
    case 32: return decode_fixed<32>(c, m_, k_, codes, n, x);
    default:
      for (std::size_t i = 0; i < n; ++i)
        for (int b = 0; b < m_; ++b)
          std::memcpy(x + i * dim_ + static_cast<std::size_t>(b) * dsub_, centroid(b, codes[i * m_ + b]),
                      dsub_ * sizeof(float));
  }
}

void ProductQuantizer::adc_table(const float* query, float* table, bool inner_product, std::optional<SimdLevel> level) const {
  check_trained();
  detail::require_finite_batch("pq query", query, 1, dim_);
  const auto kernel = detail::pq_kernels(select_simd(level)).table;
  for (int b = 0; b < m_; ++b) {
    const detail::PqBlock view{dsub_, k_, kpad_, transposed_.data() + static_cast<std::size_t>(b) * dsub_ * kpad_,
                               norms_.data() + b * kpad_};
    kernel(view, query + b * dsub_, inner_product, table + b * k_);
  }
}

float ProductQuantizer::adc_lookup(const float* table, const std::uint8_t* code) const {
  float s = 0.0f;
  for (int b = 0; b < m_; ++b) s += table[b * k_ + code[b]];
  return s;
}

}  // namespace dpq::fast
