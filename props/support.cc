#include "support.h"

#include <boost/random/gamma_distribution.hpp>
#include <boost/random/mersenne_twister.hpp>
#include <boost/random/normal_distribution.hpp>
#include <boost/random/student_t_distribution.hpp>
#include <boost/random/uniform_01.hpp>
#include <cmath>

#include "deltapq/core/synth.h"

namespace dpq::props {
namespace {

}  // namespace

Factor random_factor(std::uint64_t seed, int dim, int rank, double condition, double scale) {
  boost::random::mt19937_64 rng(seed);
  boost::random::uniform_01<double> uni;
  const auto q = dpq::random_orthogonal(rng, dim);
  Factor f;
  f.dim = dim;
  f.rank = rank;
  f.b.resize(static_cast<std::size_t>(dim) * rank);
  for (int j = 0; j < rank; ++j) {
    // lambda_j log-uniform in [1/condition, 1]; the first is 1 and (for rank > 1) the last 1/condition.
    double t = rank == 1 ? 0.0 : (j == 0 ? 0.0 : (j == rank - 1 ? 1.0 : uni(rng)));
    const double lambda = scale * std::pow(condition, -t);
    for (int i = 0; i < dim; ++i) f.b[i * rank + j] = q[i * dim + j] * std::sqrt(lambda);
  }
  return f;
}

RMatrix gram(const Factor& f) {
  const RMatrix b = ref::to_real(f.b.data(), f.dim, f.rank);
  return b * b.transpose();
}

RMatrix gram_concat(const Factor& a, const Factor& c) {
  RMatrix b(a.dim, a.rank + c.rank);
  b << ref::to_real(a.b.data(), a.dim, a.rank), ref::to_real(c.b.data(), c.dim, c.rank);
  return b * b.transpose();
}

rc::Gen<SpdCase> gen_spd_case(int max_dim, bool allow_rank_deficient) {
  return rc::gen::exec([=] {
    SpdCase c;
    c.seed = *rc::gen::arbitrary<std::uint64_t>();
    c.dim = *rc::gen::inRange(1, max_dim + 1);
    c.rank = allow_rank_deficient ? *rc::gen::inRange(1, c.dim + 1) : c.dim;
    c.log10_condition = *rc::gen::inRange(0, 121) / 10.0;  // condition 1 .. 1e12
    return c;
  });
}

rc::Gen<Factor> gen_factor(int dim, int rank) {
  return rc::gen::exec([=] {
    Factor f;
    f.dim = dim;
    f.rank = rank;
    const auto k = *rc::gen::container<std::vector<std::int8_t>>(static_cast<std::size_t>(dim) * rank,
                                                                 rc::gen::arbitrary<std::int8_t>());
    const auto e = *rc::gen::container<std::vector<int>>(static_cast<std::size_t>(rank), rc::gen::inRange(0, 21));
    f.b.resize(k.size());
    for (int i = 0; i < dim; ++i)
      for (int j = 0; j < rank; ++j)
        f.b[static_cast<std::size_t>(i) * rank + j] = std::ldexp(static_cast<double>(k[static_cast<std::size_t>(i) * rank + j]), -6 - e[j]);
    return f;
  });
}

rc::Gen<DominatedPair> gen_dominated_pair(int max_dim) {
  return rc::gen::exec([=] {
    const int dim = *rc::gen::inRange(1, max_dim + 1);
    const int rank = *rc::gen::inRange(1, dim + 1);
    const int extra = *rc::gen::inRange(0, dim + 1);
    const Factor fa = *gen_factor(dim, rank);
    const Factor fc = *gen_factor(dim, std::max(extra, 1));
    DominatedPair p;
    p.scale = *rc::gen::element(1.0, 1.0, 0.5, 0.25, 0.75, 0.125, 2.0);
    p.sigma_delta = gram(fa) * Real(p.scale);  // dyadic scale: exact
    p.sigma_v = extra > 0 ? gram_concat(fa, fc) : gram(fa);
    p.strict = false;
    if (extra > 0)
      for (double v : fc.b) p.strict = p.strict || v != 0;
    return p;
  });
}

const char* family_name(Family f) {
  switch (f) {
    case Family::bounded: return "bounded";
    case Family::gaussian: return "gaussian";
    case Family::student_t: return "student_t";
    default: return "gen_gaussian";
  }
}

rc::Gen<SampleCase> gen_sample_case(int max_dim, int max_tokens) {
  return rc::gen::exec([=] {
    SampleCase c;
    c.family = *rc::gen::element(Family::bounded, Family::gaussian, Family::student_t, Family::gen_gaussian);
    c.shape = c.family == Family::student_t ? *rc::gen::inRange(21, 301) / 10.0    // nu in [2.1, 30]
              : c.family == Family::gen_gaussian ? *rc::gen::inRange(5, 41) / 10.0  // beta in [0.5, 4]
                                                   : 0.0;
    c.seed = *rc::gen::arbitrary<std::uint64_t>();
    c.dim = *rc::gen::inRange(1, max_dim + 1);
    c.tokens = *rc::gen::inRange(2, max_tokens + 1);
    return c;
  });
}

std::vector<double> draw_model(const ref::TailModel& m, std::size_t n, std::uint64_t seed) {
  boost::random::mt19937_64 rng(seed);
  std::vector<double> out(n);
  const double shape = ref::to_double(m.shape);
  switch (m.kind) {
    case ref::TailModel::Kind::gaussian: {
      boost::random::normal_distribution<double> normal;
      for (auto& v : out) v = normal(rng);
      break;
    }
    case ref::TailModel::Kind::student_t: {
      boost::random::student_t_distribution<double> t(shape);
      const double s = std::sqrt((shape - 2) / shape);
      for (auto& v : out) v = t(rng) * s;
      break;
    }
    default: {
      // |Z| = alpha G^{1/beta}, G ~ Gamma(1/beta, 1), random sign.
      boost::random::gamma_distribution<double> g(1.0 / shape);
      boost::random::uniform_01<double> uni;
      const double alpha = std::sqrt(std::tgamma(1.0 / shape) / std::tgamma(3.0 / shape));
      for (auto& v : out) v = (uni(rng) < 0.5 ? -1.0 : 1.0) * alpha * std::pow(g(rng), 1.0 / shape);
      break;
    }
  }
  return out;
}

RMatrix draw_sample(const SampleCase& c) {
  boost::random::mt19937_64 rng(c.seed);
  boost::random::normal_distribution<double> normal;
  boost::random::uniform_01<double> uni;
  ref::TailModel model = ref::TailModel::gaussian();
  if (c.family == Family::student_t) model = ref::TailModel::student_t(Real(c.shape));
  if (c.family == Family::gen_gaussian) model = ref::TailModel::gen_gaussian(Real(c.shape));
  std::vector<double> z;
  if (c.family == Family::bounded) {
    z.resize(static_cast<std::size_t>(c.tokens) * c.dim);
    for (auto& v : z) v = 2 * uni(rng) - 1;
  } else {
    z = draw_model(model, static_cast<std::size_t>(c.tokens) * c.dim, c.seed ^ 0x5851f42d4c957f2dULL);
  }
  std::vector<double> mix(static_cast<std::size_t>(c.dim) * c.dim), mu(c.dim);
  for (auto& v : mix) v = normal(rng);
  for (auto& v : mu) v = normal(rng);
  std::vector<double> x(z.size());
  for (int t = 0; t < c.tokens; ++t)
    for (int i = 0; i < c.dim; ++i) {
      double s = mu[i];
      for (int k = 0; k < c.dim; ++k) s += mix[i * c.dim + k] * z[t * c.dim + k];
      x[t * c.dim + i] = s;
    }
  return ref::to_real(x.data(), c.tokens, c.dim);
}

void showValue(const SampleCase& c, std::ostream& os) {
  os << "{family " << family_name(c.family) << ", shape " << c.shape << ", seed " << c.seed << ", d " << c.dim
     << ", T " << c.tokens << "}";
}
void showValue(const DominatedPair& p, std::ostream& os) {
  os << "{d " << p.sigma_v.rows() << ", strict " << p.strict << ", scale " << p.scale << "}";
}
void showValue(const SpdCase& c, std::ostream& os) {
  os << "{seed " << c.seed << ", d " << c.dim << ", rank " << c.rank << ", log10 cond " << c.log10_condition << "}";
}

rc::Gen<std::vector<int>> gen_bits(int dim) {
  return rc::gen::container<std::vector<int>>(static_cast<std::size_t>(dim), rc::gen::inRange(0, 17));
}

rc::Gen<double> gen_kappa() {
  return rc::gen::map(rc::gen::inRange(50, 801), [](int k) { return k / 100.0; });
}

}  // namespace dpq::props
