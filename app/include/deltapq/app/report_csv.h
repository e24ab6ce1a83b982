// CSV next to JSON: every table of a report (each array of objects -- theorems, per-stream heads, PQ
// blocks, zone transitions, the paper-check grid, gate offenders -- and each group of equal-length
// number arrays such as a source's eigenvalues) as one CSV, derived from the report's JSON (the one
// writer of report content), so CSV and JSON never disagree. Nested objects become dotted columns,
// a 2-element "*_ci95" interval two columns (_lo, _hi); a nested array of objects becomes its own
// table keyed by the parent's row and identifying fields (layer, head, kind, id, source, block).
// Scalars at the top level go to summary.csv (key, value).
#pragma once

#include <string>
#include <vector>

namespace dpq::app {

struct CsvTable {
  std::string name;  // file name without ".csv": "theorems", "heads", "heads_transitions", "pq_per_block", ...
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::string text() const;  // RFC 4180 (fields with , " or newlines quoted), '\n' line ends
};

std::vector<CsvTable> csv_tables(const std::string& report_json);

// Writes every table as DIR/NAME.csv, the directory complete or not at all (an existing directory
// is replaced only if it holds a previous CSV export: summary.csv).
void write_csv_tables(const std::string& dir, const std::string& report_json);

}  // namespace dpq::app
