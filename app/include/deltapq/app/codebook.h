// The codebook workflows (`deltapq codebook`): the certified Lloyd-Max codebook of the sphere marginal
// to a requested number of digits (D1/D2), and the audit of a third-party table against it.
#pragma once

#include <string>
#include <vector>

#include "deltapq/reference/sphere.h"

namespace dpq::app {

struct CodebookReport {
  int dim = 0, bits = 0, digits = 0, precision_bits = 0;
  ref::Codebook codebook;
};
// dim >= 2, bits 1..8, digits 1..200. Sets the reference's precision to what the digits need
// (>= 160 bits, 40 bits beyond the digits).
CodebookReport make_codebook(int dim, int bits, int digits);

struct CodebookCheckReport {
  std::string table;  // where the table came from
  int dim = 0, bits = 0;
  double max_excess_pct = 1;
  ref::CodebookAudit audit;
  bool wrong_size = false;  // not a b-bit codebook at all: it fails whatever its MSE
  bool fails = false;       // wrong size, or excess MSE above the gate
};
// The table as JSON {"centroids": [...], "thresholds": [...] (optional)}; numbers or decimal strings.
// Throws dpq::Error naming the file and the entry on unreadable input.
CodebookCheckReport check_codebook_file(const std::string& path, int dim, int bits, double max_excess_pct);
CodebookCheckReport check_codebook(const std::vector<ref::Real>& centroids, const std::vector<ref::Real>& thresholds,
                                   int dim, int bits, double max_excess_pct, const std::string& name);

}  // namespace dpq::app
