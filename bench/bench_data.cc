#include "bench_data.h"

#include <cstring>
#include <ctime>

#include <immintrin.h>

#include <cblas.h>
#include <faiss/impl/ScalarQuantizer.h>
#include <omp.h>

#include <Eigen/Eigenvalues>
#include <cmath>

#include "deltapq/core/synth.h"

namespace dpq::bench {

namespace {
volatile std::uint64_t g_sink = 0;  // keeps the read probe's result alive
}

double thread_cpu_seconds() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

namespace {

// The probe at each width: 4 independent XOR accumulators over the buffer's words, nothing else.
void stream_read_words(const std::uint64_t* w, std::size_t words) {
  std::uint64_t a = 0, b = 0, c = 0, e = 0;
  for (std::size_t i = 0; i + 4 <= words; i += 4) {
    a ^= w[i];
    b ^= w[i + 1];
    c ^= w[i + 2];
    e ^= w[i + 3];
  }
  g_sink = a ^ b ^ c ^ e;
}

__attribute__((target("avx2"))) void stream_read_avx2(const std::uint8_t* p, std::size_t bytes) {
  __m256i a = _mm256_setzero_si256(), b = a, c = a, e = a;
  std::size_t i = 0;
  for (; i + 128 <= bytes; i += 128) {
    a = _mm256_xor_si256(a, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
    b = _mm256_xor_si256(b, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    c = _mm256_xor_si256(c, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    e = _mm256_xor_si256(e, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  const __m256i x = _mm256_xor_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(c, e));
  g_sink = static_cast<std::uint64_t>(_mm256_extract_epi64(x, 0) ^ _mm256_extract_epi64(x, 3));
}

__attribute__((target("avx512f"))) void stream_read_avx512(const std::uint8_t* p, std::size_t bytes) {
  __m512i a = _mm512_setzero_si512(), b = a, c = a, e = a;
  std::size_t i = 0;
  for (; i + 256 <= bytes; i += 256) {
    a = _mm512_xor_si512(a, _mm512_loadu_si512(p + i));
    b = _mm512_xor_si512(b, _mm512_loadu_si512(p + i + 64));
    c = _mm512_xor_si512(c, _mm512_loadu_si512(p + i + 128));
    e = _mm512_xor_si512(e, _mm512_loadu_si512(p + i + 192));
  }
  alignas(64) std::uint64_t lanes[8];
  _mm512_store_si512(lanes, _mm512_xor_si512(_mm512_xor_si512(a, b), _mm512_xor_si512(c, e)));
  g_sink = lanes[0] ^ lanes[7];
}

}  // namespace

void stream_read(const void* data, std::size_t bytes) {
  // The widest loads the CPU has: on this project's machine 512-bit loads stream 1.1-1.3x faster than
  // 64-bit ones (the baseline build's 128-bit), and the limit must be the machine's, not the probe's.
  const auto* p = static_cast<const std::uint8_t*>(data);
  switch (fast::detected_simd()) {
    case fast::SimdLevel::avx512: stream_read_avx512(p, bytes); break;
    case fast::SimdLevel::avx2: stream_read_avx2(p, bytes); break;
    case fast::SimdLevel::scalar: stream_read_words(static_cast<const std::uint64_t*>(data), bytes / 8); break;
  }
}

void stream_write(void* data, std::size_t bytes) { std::memset(data, static_cast<int>(g_sink & 1), bytes); }

void sketch_sgemv_rows(const fast::QjlSketch& sk, const float* r, std::size_t n, std::uint8_t* out, float* proj) {
  const int d = sk.dim(), m = sk.m();
  const std::size_t rec = sk.bytes_per_vector();
  for (std::size_t row = 0; row < n; ++row) {
    const float* x = r + row * static_cast<std::size_t>(d);
    double n2 = 0;
    for (int i = 0; i < d; ++i) n2 += static_cast<double>(x[i]) * x[i];
    const float norm = static_cast<float>(std::sqrt(n2));
    std::uint8_t* o = out + row * rec;
    std::memcpy(o, &norm, 4);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, m, d, 1.0f, sk.matrix().data(), d, x, 1, 0.0f, proj, 1);
    std::memset(o + 4, 0, rec - 4);
    for (int j = 0; j < m; ++j)
      if (proj[j] >= 0) o[4 + j / 8] = static_cast<std::uint8_t>(o[4 + j / 8] | (1u << (j % 8)));
  }
}

void single_thread() {
  fast::set_blas_threads(1);
  omp_set_num_threads(1);
}

ScalarSetup make_scalar_setup(std::size_t n, std::size_t dim, int bits) {
  ScalarSetup s;
  s.n = n;
  s.dim = dim;
  s.bits = bits;
  SyntheticStreamParams p;
  p.tokens = n;
  p.dim = dim;
  p.rank = std::min<std::size_t>(8, dim);
  const std::vector<double> xd = synthetic_stream(p);
  s.x.assign(xd.begin(), xd.end());

  Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> xm(xd.data(), n, dim);
  const Eigen::VectorXd mean = xm.colwise().mean();
  const Eigen::MatrixXd centered = xm.rowwise() - mean.transpose();
  const Eigen::MatrixXd cov = centered.transpose() * centered / static_cast<double>(n);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(cov);

  for (fast::FastDesign* ds : {&s.identity, &s.eigen}) {
    ds->bits.assign(dim, bits);
    for (std::size_t i = 0; i < dim; ++i) ds->mean.push_back(static_cast<float>(mean(i)));
  }
  for (std::size_t i = 0; i < dim; ++i) s.identity.clip.push_back(static_cast<float>(3 * std::sqrt(cov(i, i))));
  // Eigen's order is ascending; rank 0 = largest eigenvalue.
  for (std::size_t r = 0; r < dim; ++r) {
    const auto col = static_cast<Eigen::Index>(dim - 1 - r);
    s.eigen.clip.push_back(static_cast<float>(matched_clip(es.eigenvalues()(col), es.eigenvalues()(static_cast<Eigen::Index>(dim) - 1), 3.0)));
  }
  s.eigen.basis.resize(dim * dim);
  for (std::size_t j = 0; j < dim; ++j)
    for (std::size_t r = 0; r < dim; ++r)
      s.eigen.basis[j * dim + r] = static_cast<float>(es.eigenvectors()(static_cast<Eigen::Index>(j),
                                                                        static_cast<Eigen::Index>(dim - 1 - r)));
  return s;
}

double mse_per_vector(const float* a, const float* b, std::size_t n, std::size_t d) {
  double s = 0;
  for (std::size_t k = 0; k < n * d; ++k) {
    const double e = static_cast<double>(a[k]) - b[k];
    s += e * e;
  }
  return s / static_cast<double>(n);
}

namespace {
class FaissImpl final : public FaissScalar {
 public:
  FaissImpl(std::size_t dim, faiss::ScalarQuantizer::QuantizerType qt, const float* train, std::size_t n)
      : sq_(dim, qt) {
    sq_.train(n, train);
  }
  std::size_t code_size() const override { return sq_.code_size; }
  void encode(const float* x, std::size_t n, std::uint8_t* codes) const override { sq_.compute_codes(x, codes, n); }
  void decode(const std::uint8_t* codes, std::size_t n, float* x) const override { sq_.decode(codes, x, n); }

 private:
  faiss::ScalarQuantizer sq_;
};
}  // namespace

std::unique_ptr<FaissScalar> FaissScalar::make(std::size_t dim, int bits, const float* train, std::size_t n) {
  if (bits == 4) return std::make_unique<FaissImpl>(dim, faiss::ScalarQuantizer::QT_4bit, train, n);
  if (bits == 8) return std::make_unique<FaissImpl>(dim, faiss::ScalarQuantizer::QT_8bit, train, n);
  return nullptr;
}

}  // namespace dpq::bench
