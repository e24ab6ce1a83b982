// B2/B3 in the reference: the shared pre-transforms, certified block determinants and alpha, and the
// per-source whitening counterexample.
#include "deltapq/reference/pq.h"

#include <algorithm>

#include "deltapq/core/error.h"
#include "pq_internal.h"

namespace dpq::ref {
using namespace pq_detail;

namespace pq_detail {

// T A T^T in Real and the entrywise bound gamma_{2d} |T| |A| |T|^T on its rounding error.
void congruence(const RMatrix& t, const RMatrix& a, RMatrix& out, RMatrix& err) {
  const Eigen::Index d = a.rows(), r = t.rows();
  RMatrix ta(r, d), tabs(r, d);
  for (Eigen::Index i = 0; i < r; ++i)
    for (Eigen::Index j = 0; j < d; ++j) {
      Real s(0), sa(0);
      for (Eigen::Index k = 0; k < d; ++k) {
        s += t(i, k) * a(k, j);
        sa += abs(t(i, k)) * abs(a(k, j));
      }
      ta(i, j) = s;
      tabs(i, j) = sa;
    }
  out.resize(r, r);
  err.resize(r, r);
  for (Eigen::Index i = 0; i < r; ++i)
    for (Eigen::Index j = i; j < r; ++j) {  // the exact product is symmetric: compute one triangle
      Real s(0), sa(0);
      for (Eigen::Index k = 0; k < d; ++k) {
        s += ta(i, k) * t(j, k);
        sa += tabs(i, k) * abs(t(j, k));
      }
      out(i, j) = out(j, i) = s;
      // 2d + 2 rounded operations along each path, and the same again for the bound itself.
      err(i, j) = err(j, i) = rounding_slack(sa, 4.0 * static_cast<double>(d) + 4);
    }
}

// Certified determinant of a symmetric block whose entries are known within `err` (Weyl: every
// eigenvalue moves by at most the Frobenius norm of the perturbation).
Certified block_determinant(const RMatrix& a, const RMatrix* err, const std::string& what) {
  SymmetricEigen e = symmetric_eigen(a, what);
  if (err) {
    const Real fro = sqrt(err->array().square().sum());
    for (Eigen::Index i = 0; i < e.radius.size(); ++i) e.radius(i) += fro * (1 + unit_roundoff() * 4);
  }
  return certified_determinant(e);
}

}  // namespace pq_detail

const char* to_string(PqTransform t) {
  switch (t) {
    case PqTransform::identity: return "identity";
    case PqTransform::eigenbasis: return "eigenbasis";
    case PqTransform::soft_zca: return "soft-zca";
  }
  return "?";
}

PqTransform parse_pq_transform(const std::string& text) {
  for (auto t : {PqTransform::identity, PqTransform::eigenbasis, PqTransform::soft_zca})
    if (text == to_string(t)) return t;
  throw Error("unknown PQ transform '" + text + "' (expected identity, eigenbasis or soft-zca)");
}

std::pair<int, int> parse_pq_text(const std::string& text, const std::string& what) {
  const auto x = text.find('x');
  auto digits = [](const std::string& s) {
    return !s.empty() && s.size() < 6 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (x == std::string::npos || !digits(text.substr(0, x)) || !digits(text.substr(x + 1)))
    throw Error(what + " '" + text + "': expected MxBITS, e.g. 16x8");
  return {std::stoi(text.substr(0, x)), std::stoi(text.substr(x + 1))};
}

PqShape parse_pq_shape(const std::string& text, int dim, const std::string& what) {
  const auto [blocks, bits] = parse_pq_text(text, what);
  try {
    return make_pq_shape(dim, blocks, bits);
  } catch (const Error& e) {
    throw Error(what + " '" + text + "': " + e.what());
  }
}

PqShape make_pq_shape(int dim, int blocks, int bits) {
  PqShape s{dim, blocks, bits};
  if (s.blocks < 1 || s.blocks > dim)
    throw Error("M = " + std::to_string(s.blocks) + " must be in 1.." + std::to_string(dim));
  if (dim % s.blocks != 0)
    throw Error("M = " + std::to_string(s.blocks) + " does not divide the dimension " + std::to_string(dim));
  if (s.bits < 1 || s.bits > 8) throw Error("BITS = " + std::to_string(s.bits) + " must be in 1..8");
  return s;
}

RMatrix pq_transform_matrix(PqTransform kind, const SymmetricEigen& eig_v, const Real& eps_rel) {
  const Eigen::Index d = eig_v.values.size();
  const RMatrix& u = eig_v.vectors;
  if (kind == PqTransform::identity) return RMatrix::Identity(d, d);
  if (kind == PqTransform::eigenbasis) return u.transpose();
  if (!(eps_rel > 0)) throw Error("Soft-ZCA: epsilon " + to_string(eps_rel, 6) + " must be > 0");
  const Real trace = eig_v.values.sum();
  if (!(trace > 0)) throw Error("Soft-ZCA: Sigma_V has zero trace: nothing to whiten");
  const Real eps = eps_rel * trace / Real(static_cast<double>(d));
  RVector scale(d);
  for (Eigen::Index i = 0; i < d; ++i) scale(i) = 1 / sqrt(std::max(Real(0), eig_v.values(i)) + eps);
  RMatrix t(d, d);
  for (Eigen::Index i = 0; i < d; ++i)
    for (Eigen::Index j = 0; j < d; ++j) {
      Real s(0);
      for (Eigen::Index k = 0; k < d; ++k) s += u(i, k) * scale(k) * u(j, k);
      t(i, j) = s;
    }
  return t;
}

std::vector<BlockAlpha> block_alphas(const RMatrix& sigma_delta, const RMatrix& sigma_v, int blocks,
                                     const RMatrix* error_delta, const RMatrix* error_v) {
  const int d = static_cast<int>(sigma_v.rows());
  if (sigma_delta.rows() != d || sigma_delta.cols() != d || sigma_v.cols() != d)
    throw Error("block alpha: covariance shapes differ");
  if (blocks < 1 || d % blocks != 0)
    throw Error("block alpha: M = " + std::to_string(blocks) + " does not divide d = " + std::to_string(d));
  const int dm = d / blocks;
  std::vector<BlockAlpha> out;
  for (int m = 0; m < blocks; ++m) {
    const int off = m * dm;
    BlockAlpha b;
    RMatrix ed, ev;
    if (error_delta) ed = block_of(*error_delta, off, dm);
    if (error_v) ev = block_of(*error_v, off, dm);
    b.det_delta = block_determinant(block_of(sigma_delta, off, dm), error_delta ? &ed : nullptr,
                                    "Sigma_delta block " + std::to_string(m));
    b.det_v = block_determinant(block_of(sigma_v, off, dm), error_v ? &ev : nullptr, "Sigma_V block " + std::to_string(m));
    if (!(lower(b.det_v) > 0)) {
      b.finite = false;
      b.alpha = {infinity(), Real(0)};
    } else {
      const Real lo = root(std::max(Real(0), lower(b.det_delta)) / upper(b.det_v), dm);
      const Real hi = root(upper(b.det_delta) / lower(b.det_v), dm);
      b.alpha = from_interval(lo * (1 - unit_roundoff() * 16), hi * (1 + unit_roundoff() * 16));
    }
    out.push_back(b);
  }
  return out;
}

namespace {
AlphaReport summarize_alpha(std::vector<BlockAlpha> blocks) {
  AlphaReport r;
  r.blocks = std::move(blocks);
  r.alpha = {Real(0), Real(0)};
  for (const auto& b : r.blocks) {
    if (!b.finite) {
      r.finite = false;
      r.alpha = {infinity(), Real(0)};
      return r;
    }
    // |max a - max a^| <= max |a - a^|: the value of the max and the largest error.
    r.alpha.value = std::max(r.alpha.value, b.alpha.value);
    r.alpha.error = std::max(r.alpha.error, b.alpha.error);
  }
  return r;
}
}  // namespace

AlphaReport transformed_alpha(const RMatrix& sigma_delta, const RMatrix& sigma_v, const RMatrix& t, int blocks) {
  RMatrix sd, ed, sv, ev;
  congruence(t, sigma_delta, sd, ed);
  congruence(t, sigma_v, sv, ev);
  return summarize_alpha(block_alphas(sd, sv, blocks, &ed, &ev));
}

AlphaReport per_source_alpha(const RMatrix& sigma_delta, const RMatrix& t_delta, const RMatrix& sigma_v,
                             const RMatrix& t_v, int blocks) {
  RMatrix sd, ed, sv, ev;
  congruence(t_delta, sigma_delta, sd, ed);
  congruence(t_v, sigma_v, sv, ev);
  return summarize_alpha(block_alphas(sd, sv, blocks, &ed, &ev));
}

PerSourceCounterexample per_source_whitening_counterexample() {
  // Sigma_V = diag(1, 1e-4), Sigma_delta = diag(1e-2, 0.9e-4): Sigma_delta < Sigma_V strictly.
  // Shared Soft-ZCA keeps the per-coordinate ratios (1e-2 and 0.9): alpha = 0.9. Whitening delta with
  // its own (relative) epsilon lifts its weak coordinate to ~0.64 of unit variance while V's stays
  // at ~0.02: alpha ~ 33.
  PerSourceCounterexample c;
  c.blocks = 2;
  c.eps_rel = Real("1e-2");
  c.sigma_v = RMatrix::Zero(2, 2);
  c.sigma_delta = RMatrix::Zero(2, 2);
  c.sigma_v(0, 0) = Real(1);
  c.sigma_v(1, 1) = Real("1e-4");
  c.sigma_delta(0, 0) = Real("1e-2");
  c.sigma_delta(1, 1) = Real("0.9e-4");
  c.loewner = loewner_le(c.sigma_delta, c.sigma_v).verdict;
  const SymmetricEigen ev = symmetric_eigen(c.sigma_v, "Sigma_V");
  const SymmetricEigen ed = symmetric_eigen(c.sigma_delta, "Sigma_delta");
  const RMatrix t_v = pq_transform_matrix(PqTransform::soft_zca, ev, c.eps_rel);
  const RMatrix t_d = pq_transform_matrix(PqTransform::soft_zca, ed, c.eps_rel);
  c.shared = transformed_alpha(c.sigma_delta, c.sigma_v, t_v, c.blocks);
  c.per_source = per_source_alpha(c.sigma_delta, t_d, c.sigma_v, t_v, c.blocks);
  return c;
}

}  // namespace dpq::ref
