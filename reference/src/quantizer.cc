#include "deltapq/reference/quantizer.h"

#include <queue>

#include "deltapq/core/error.h"

namespace dpq::ref {

std::vector<int> uniform_bits(std::size_t dim, int bits) {
  if (bits < 0 || bits > kMaxBits)
    throw Error("bits = " + std::to_string(bits) + " is outside 0..16");
  return std::vector<int>(dim, bits);
}

std::vector<int> greedy_bits(const RVector& lambda, int budget) {
  const auto d = static_cast<int>(lambda.size());
  if (budget < 0) throw Error("bit budget " + std::to_string(budget) + " is negative");
  if (budget > kMaxBits * d)
    throw Error("bit budget " + std::to_string(budget) + " exceeds 16 bits x " + std::to_string(d) + " coordinates");
  std::vector<int> bits(d, 0);
  std::vector<Real> term(d);
  for (int i = 0; i < d; ++i) term[i] = lambda(i) > 0 ? Real(lambda(i)) : Real(0);
  for (int spent = 0; spent < budget; ++spent) {
    int best = -1;
    for (int i = 0; i < d; ++i)
      if (bits[i] < kMaxBits && (best < 0 || term[i] > term[best])) best = i;  // ties: lowest rank
    ++bits[best];
    term[best] /= 4;
  }
  return bits;
}

RealDesign matched_design(const RVector& lambda, const Real& kappa, const std::vector<int>& bits) {
  if (!(kappa > 0) || !isfinite(kappa)) throw Error("kappa = " + to_string(kappa, 6) + " must be positive and finite");
  if (static_cast<std::size_t>(lambda.size()) != bits.size())
    throw Error("matched design: " + std::to_string(lambda.size()) + " eigenvalues but " +
                std::to_string(bits.size()) + " bit widths");
  RealDesign design;
  design.bits = bits;
  Real lambda_max(0);
  for (Eigen::Index i = 0; i < lambda.size(); ++i) lambda_max = std::max(lambda_max, Real(lambda(i)));
  for (Eigen::Index i = 0; i < lambda.size(); ++i) design.clip.push_back(matched_clip(Real(lambda(i)), lambda_max, kappa));
  validate_design(design);
  return design;
}

RealDesign support_design(const RMatrix& coords, const std::vector<int>& bits) {
  if (static_cast<std::size_t>(coords.cols()) != bits.size())
    throw Error("support design: " + std::to_string(coords.cols()) + " coordinates but " +
                std::to_string(bits.size()) + " bit widths");
  RealDesign design;
  design.bits = bits;
  for (Eigen::Index i = 0; i < coords.cols(); ++i) {
    Real c(0);
    for (Eigen::Index t = 0; t < coords.rows(); ++t) c = std::max(c, Real(abs(coords(t, i))));
    design.clip.push_back(c > 0 ? c : Real(1));
  }
  validate_design(design);
  return design;
}

Real step(const Real& clip, int bits) { return ldexp(clip, 1 - bits); }  // 2c / 2^b, exact

std::int64_t quantize_index(const Real& y, const Real& clip, int bits) {
  if (!isfinite(y)) throw Error("quantize: y = " + to_string(y, 6) + " is not finite");
  return cell_index(y, clip, bits);
}

Real reconstruct(std::int64_t k, const Real& clip, int bits) { return cell_center(k, clip, bits); }

std::vector<std::int64_t> encode(const RealDesign& design, const RVector& y) {
  validate_design(design);
  if (static_cast<std::size_t>(y.size()) != design.dim())
    throw Error("encode: vector has " + std::to_string(y.size()) + " coordinates, design has " +
                std::to_string(design.dim()));
  std::vector<std::int64_t> codes(design.dim());
  for (std::size_t i = 0; i < design.dim(); ++i) codes[i] = quantize_index(y(i), design.clip[i], design.bits[i]);
  return codes;
}

RVector decode(const RealDesign& design, const std::vector<std::int64_t>& codes) {
  validate_design(design);
  if (codes.size() != design.dim())
    throw Error("decode: " + std::to_string(codes.size()) + " codes, design has " + std::to_string(design.dim()));
  RVector y(codes.size());
  for (std::size_t i = 0; i < codes.size(); ++i) {
    const std::int64_t cells = std::int64_t{1} << design.bits[i];
    if (codes[i] < 0 || codes[i] >= cells)
      throw Error("decode: code[" + std::to_string(i) + "] = " + std::to_string(codes[i]) + " outside 0.." +
                  std::to_string(cells - 1));
    y(i) = reconstruct(codes[i], design.clip[i], design.bits[i]);
  }
  return y;
}

RMatrix eigen_coordinates(const RMatrix& rows, const RVector& mean, const RMatrix& basis) {
  if (rows.cols() != mean.size() || basis.rows() != mean.size())
    throw Error("eigen coordinates: sample has " + std::to_string(rows.cols()) + " columns, mean " +
                std::to_string(mean.size()) + ", basis " + std::to_string(basis.rows()) + " rows");
  return (rows.rowwise() - mean.transpose()) * basis;
}

CoordinateDistortion empirical_distortion(const RMatrix& coords, const RealDesign& design) {
  validate_design(design);
  if (static_cast<std::size_t>(coords.cols()) != design.dim())
    throw Error("distortion: sample has " + std::to_string(coords.cols()) + " coordinates, design has " +
                std::to_string(design.dim()));
  const Eigen::Index d = coords.cols();
  CoordinateDistortion out{RVector::Zero(d), RVector::Zero(d), Real(0)};
  const Real u = unit_roundoff();
  for (Eigen::Index i = 0; i < d; ++i) {
    const Real& c = design.clip[i];
    for (Eigen::Index t = 0; t < coords.rows(); ++t) {
      const Real& y = coords(t, i);
      const Real q = quantize(y, c, design.bits[i]);
      const Real e = y - q;
      (abs(y) <= c ? out.in_range(i) : out.overload(i)) += e * e;
      // q = -c + (k + 1/2) step: the product and the sum each round by u of at most 2c.
      out.error += squared_difference_error(e, u * Real(4) * c);
    }
  }
  const auto n = static_cast<double>(coords.rows());
  const Real inv_t = Real(1) / Real(n);
  out.in_range *= inv_t;
  out.overload *= inv_t;
  // Per-term errors, then the accumulation of n non-negative terms and the division.
  out.error = out.error * inv_t + rounding_slack(out.sum(), n + 2);
  return out;
}

Real squared_difference_error(const Real& e, const Real& input_error) {
  const Real u = unit_roundoff();
  const Real de = input_error + u * abs(e);
  return Real(2) * abs(e) * de + de * de + u * e * e;
}

}  // namespace dpq::ref
