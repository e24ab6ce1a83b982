#include "deltapq/fast/sphere_codebooks.h"

#include <algorithm>
#include <cstddef>

namespace dpq::fast {
namespace {

struct SphereEntry {
  int dim, bits;
  double mse;
  std::size_t offset;  // of the 2^(b-1) positive centroids, then the 2^(b-1) - 1 positive thresholds
};

#include "sphere_codebooks_data.inc"

}  // namespace

std::optional<SphereCodebook> shipped_sphere_codebook(int dim, int bits) {
  for (const SphereEntry& e : kSphereEntries) {
    if (e.dim != dim || e.bits != bits) continue;
    const std::size_t half = std::size_t{1} << (bits - 1);
    const float* uc = kSphereValues + e.offset;
    const float* ut = uc + half;
    SphereCodebook out;
    out.dim = dim;
    out.bits = bits;
    out.mse_per_coordinate = e.mse;
    auto& c = out.codebook.centroids;
    auto& t = out.codebook.thresholds;
    for (std::size_t i = half; i-- > 0;) c.push_back(-uc[i]);
    c.insert(c.end(), uc, uc + half);
    for (std::size_t i = half - 1; i-- > 0;) t.push_back(-ut[i]);
    t.push_back(0.0f);
    t.insert(t.end(), ut, ut + half - 1);
    return out;
  }
  return std::nullopt;
}

std::vector<int> shipped_sphere_dims() {
  std::vector<int> dims;
  for (const SphereEntry& e : kSphereEntries)
    if (dims.empty() || dims.back() != e.dim) dims.push_back(e.dim);
  std::sort(dims.begin(), dims.end());
  dims.erase(std::unique(dims.begin(), dims.end()), dims.end());
  return dims;
}

}  // namespace dpq::fast
