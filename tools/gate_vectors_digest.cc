// gate_vectors_digest CORPUS_DIR OUT.txt: a reviewable text digest of a `deltapq vectors` corpus -- per
// case the FNV-1a 64 of its design, inputs and expected reconstructions, and per row its kind, status
// and every code's expectation ("k" exact, "lo:hi" an acceptable set; pq "{a,b}"), turbo's QJL signs
// ("0", "1", "*" either). tests/golden/gate_vectors.txt is this digest of today's corpus: the ctest
// gate.vectors_regenerate fails when the reference moves an expectation, and the diff says which.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "deltapq/core/atomic_file.h"
#include "deltapq/core/error.h"
#include "deltapq/core/npy.h"

namespace {

namespace fs = std::filesystem;

std::string bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw dpq::Error(p.string() + ": missing");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string hash(const fs::path& p) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(dpq::fnv1a64(bytes_of(p))));
  return buf;
}

dpq::NpyArray ints(const fs::path& p) {
  dpq::NpyReadOptions o;
  o.integers = true;
  return dpq::read_npy_array(p.string(), o);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: gate_vectors_digest CORPUS_DIR OUT.txt\n";
    return 2;
  }
  try {
    const fs::path dir = argv[1];
    const nlohmann::json index = nlohmann::json::parse(bytes_of(dir / "vectors.json"));
    std::ostringstream out;
    out << "# deltapq gate vectors, version " << index.at("version").get<int>()
        << " (tools/gate_vectors_digest.cc explains this digest)\n";
    for (const auto& c : index.at("cases")) {
      const std::string name = c.at("name").get<std::string>(), family = c.at("family").get<std::string>();
      const fs::path cd = dir / name;
      out << "case " << name << " " << family << " dim " << c.at("dim").get<int>() << " rows " << c.at("rows").get<int>() << " design "
          << hash(cd / "design.json") << " input " << hash(cd / "input.npy") << " expected_decoded " << hash(cd / "expected_decoded.npy")
          << "\n";
      const auto status = ints(cd / "status.npy");
      const auto expected = ints(cd / "expected.npy");
      const std::size_t n = status.data.size(), cols = expected.shape.at(1);
      const bool pq = family == "pq";
      dpq::NpyArray lo, hi, mask, signs, either;
      if (pq) {
        mask = ints(cd / "acceptable_mask.npy");
      } else {
        lo = ints(cd / "acceptable_lo.npy");
        hi = ints(cd / "acceptable_hi.npy");
      }
      const bool qjl = fs::exists(cd / "expected_signs.npy");
      if (qjl) {
        signs = ints(cd / "expected_signs.npy");
        either = ints(cd / "signs_either.npy");
      }
      for (std::size_t r = 0; r < n; ++r) {
        const int st = static_cast<int>(status.data[r]);
        out << r << " [" << c.at("row_kinds").at(r).get<std::string>() << "] "
            << (st == 0 ? "valid" : st == 1 ? "must-refuse" : "may-refuse");
        if (st != 1) {
          out << " |";
          for (std::size_t k = 0; k < cols; ++k) {
            out << " ";
            if (pq) {
              const std::size_t K = mask.shape.at(1) / cols;
              std::string set;
              int count = 0;
              for (std::size_t a = 0; a < K; ++a)
                if (mask.data[(r * cols + k) * K + a] != 0) {
                  set += (count++ ? "," : "") + std::to_string(a);
                }
              out << (count == 1 ? set : "{" + set + "}");
            } else {
              const long long l = static_cast<long long>(lo.data[r * cols + k]), h = static_cast<long long>(hi.data[r * cols + k]);
              out << (l == h ? std::to_string(l) : std::to_string(l) + ":" + std::to_string(h));
            }
          }
          if (qjl) {
            const std::size_t m = signs.shape.at(1);
            out << " | signs ";
            for (std::size_t j = 0; j < m; ++j) out << (either.data[r * m + j] != 0 ? '*' : signs.data[r * m + j] != 0 ? '1' : '0');
          }
        }
        out << "\n";
      }
    }
    dpq::write_file_atomically(argv[2], out.str());
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "gate_vectors_digest: " << e.what() << "\n";
    return 2;
  }
}
