#include "bench_data.h"

#include <cstring>
#include <ctime>

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

void stream_read(const void* data, std::size_t bytes) {
  const auto* w = static_cast<const std::uint64_t*>(data);
  std::uint64_t a = 0, b = 0, c = 0, e = 0;
  const std::size_t words = bytes / 8;
  for (std::size_t i = 0; i + 4 <= words; i += 4) {
    a ^= w[i];
    b ^= w[i + 1];
    c ^= w[i + 2];
    e ^= w[i + 3];
  }
  g_sink = a ^ b ^ c ^ e;
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
