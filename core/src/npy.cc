#include "deltapq/core/npy.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <numeric>
#include <sstream>

#include "deltapq/core/atomic_file.h"
#include "deltapq/core/error.h"
#include "deltapq/core/limits.h"
#include "npy_detail.h"

namespace dpq {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(path + ": " + what);
}

// A header as one line of plain text: control and non-ASCII bytes as \xNN, at most 120 characters.
std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (out.size() >= 120) {
      out += "...";
      break;
    }
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\n");
  return s.substr(b, e - b + 1);
}

// The value text of key 'key' in the header dictionary ({'descr': '<f4', 'fortran_order': False,
// 'shape': (3, 4), }). Returns the raw text up to the next top-level comma or closing brace.
std::string dict_value(const std::string& path, const std::string& header, const std::string& key) {
  const std::string quoted1 = "'" + key + "'";
  const std::string quoted2 = "\"" + key + "\"";
  auto pos = header.find(quoted1);
  std::size_t klen = quoted1.size();
  if (pos == std::string::npos) {
    pos = header.find(quoted2);
    klen = quoted2.size();
  }
  if (pos == std::string::npos) fail(path, "header has no '" + key + "' entry (header: " + printable(header) + ")");
  auto colon = header.find(':', pos + klen);
  if (colon == std::string::npos) fail(path, "header entry '" + key + "' has no value");
  std::size_t i = colon + 1;
  int depth = 0;
  std::size_t start = i;
  for (; i < header.size(); ++i) {
    const char ch = header[i];
    if (ch == '(' || ch == '[') ++depth;
    if (ch == ')' || ch == ']') --depth;
    if (depth == 0 && (ch == ',' || ch == '}')) break;
    if (depth < 0) break;
  }
  return trim(header.substr(start, i - start));
}

std::string shape_text(const std::vector<std::size_t>& shape) {
  std::string s = "(";
  for (std::size_t k = 0; k < shape.size(); ++k) s += (k ? ", " : "") + std::to_string(shape[k]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

std::vector<std::size_t> parse_shape(const std::string& path, const std::string& text) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')')
    fail(path, "shape " + text + " is not a tuple");
  std::vector<std::size_t> dims;
  std::string inner = text.substr(1, text.size() - 2);
  std::stringstream ss(inner);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item = trim(item);
    if (item.empty()) continue;
    for (char ch : item)
      if (ch < '0' || ch > '9') fail(path, "shape " + text + " has a non-integer entry '" + item + "'");
    if (item.size() > 15) fail(path, "shape " + text + " has an absurd entry '" + item + "'");
    dims.push_back(static_cast<std::size_t>(std::stoull(item)));
  }
  return dims;
}

}  // namespace

double half_to_double(unsigned short h) {
  const int sign = (h >> 15) & 1;
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  double v;
  if (exponent == 0) {
    v = std::ldexp(static_cast<double>(mantissa), -24);  // subnormal (or zero)
  } else if (exponent == 31) {
    v = mantissa ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  } else {
    v = std::ldexp(static_cast<double>(mantissa | 0x400), exponent - 25);
  }
  return sign ? -v : v;
}

namespace {

// numpy's simple dtype strings: [<>|=][fiu][size] ('|' and '=' are little-endian here, x86-64).
bool parse_dtype(const std::string& descr, detail::Dtype& t) {
  if (descr.size() < 3) return false;
  const char order = descr[0];
  if (order != '<' && order != '>' && order != '|' && order != '=') return false;
  t.big_endian = order == '>';
  t.kind = descr[1];
  const std::string size = descr.substr(2);
  if (size != "1" && size != "2" && size != "4" && size != "8") return false;
  t.size = static_cast<std::size_t>(size[0] - '0');
  if (t.kind == 'f') return t.size >= 2;
  return t.kind == 'i' || t.kind == 'u';
}

double decode_value(const unsigned char* p, const detail::Dtype& t) {
  unsigned char b[8];
  for (std::size_t k = 0; k < t.size; ++k) b[k] = t.big_endian ? p[t.size - 1 - k] : p[k];
  std::uint64_t bits = 0;
  for (std::size_t k = t.size; k-- > 0;) bits = (bits << 8) | b[k];
  if (t.kind == 'b') {  // bfloat16: the high half of a float32
    const std::uint32_t f32 = static_cast<std::uint32_t>(bits) << 16;
    float f;
    std::memcpy(&f, &f32, 4);
    return f;
  }
  if (t.kind == 'f') {
    if (t.size == 2) return half_to_double(static_cast<unsigned short>(bits));
    if (t.size == 4) {
      const std::uint32_t b32 = static_cast<std::uint32_t>(bits);
      float f;
      std::memcpy(&f, &b32, 4);
      return f;
    }
    double v;
    std::memcpy(&v, &bits, 8);
    return v;
  }
  if (t.kind == 'u') return static_cast<double>(bits);
  // signed: sign-extend from size bytes
  const unsigned shift = static_cast<unsigned>(64 - 8 * t.size);
  return static_cast<double>(static_cast<std::int64_t>(bits << shift) >> shift);
}

}  // namespace

namespace detail {

std::vector<double> decode_values(const unsigned char* raw, const std::vector<std::size_t>& shape, const Dtype& t,
                                  bool fortran, const std::string& path, bool allow_non_finite) {
  // C order: the last axis varies fastest. Fortran order: the first; values are returned in C order.
  const std::uint64_t count = std::accumulate(shape.begin(), shape.end(), std::uint64_t{1}, std::multiplies<>());
  std::vector<double> data(count);
  const std::size_t rank = shape.size();
  std::vector<std::size_t> idx(rank, 0);
  for (std::uint64_t k = 0; k < count; ++k) {
    const double v = decode_value(raw + k * t.size, t);
    std::uint64_t c_index = k;
    if (fortran && rank > 1) {
      // k enumerates with axis 0 fastest: rebuild the C-order index.
      std::uint64_t rest = k;
      c_index = 0;
      for (std::size_t ax = 0; ax < rank; ++ax) {
        idx[ax] = static_cast<std::size_t>(rest % shape[ax]);
        rest /= shape[ax];
      }
      for (std::size_t ax = 0; ax < rank; ++ax) c_index = c_index * shape[ax] + idx[ax];
    }
    if (!std::isfinite(v) && !allow_non_finite) {
      // Name the position: row and column for rank 2, the full index otherwise.
      std::uint64_t rest = c_index;
      std::vector<std::size_t> at(rank);
      for (std::size_t ax = rank; ax-- > 0;) {
        at[ax] = static_cast<std::size_t>(rest % shape[ax]);
        rest /= shape[ax];
      }
      const std::string where = rank == 2 ? "row " + std::to_string(at[0]) + ", column " + std::to_string(at[1])
                                          : "index " + shape_text(at);
      fail(path, std::string(std::isnan(v) ? "NaN" : "Inf") + " at " + where);
    }
    data[c_index] = v;
  }
  return data;
}

std::string shape_text(const std::vector<std::size_t>& shape) { return dpq::shape_text(shape); }

}  // namespace detail

NpyArray read_npy_array(const std::string& path, const NpyReadOptions& options) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) fail(path, "no such file (or not a regular file)");
  const auto file_size = std::filesystem::file_size(path, ec);
  if (ec) fail(path, "cannot stat: " + ec.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open for reading");
  return read_npy_from(in, file_size, path, options);
}

NpyArray read_npy_from(std::istream& in, std::uint64_t file_size, const std::string& path, const NpyReadOptions& options) {
  unsigned char pre[10];
  if (file_size < 10 || !in.read(reinterpret_cast<char*>(pre), 10))
    fail(path, "truncated: " + std::to_string(file_size) + " bytes, shorter than the .npy preamble");
  static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (std::memcmp(pre, magic, 6) != 0) fail(path, "wrong magic: not a .npy file");
  const int major = pre[6];
  const int minor = pre[7];
  std::uint64_t header_len = 0;
  std::uint64_t preamble = 0;
  if (major == 1 && minor == 0) {
    header_len = pre[8] | (std::uint64_t{pre[9]} << 8);
    preamble = 10;
  } else if ((major == 2 || major == 3) && minor == 0) {
    unsigned char more[2];
    if (file_size < 12 || !in.read(reinterpret_cast<char*>(more), 2))
      fail(path, "truncated: header length of format " + std::to_string(major) + ".0 is cut off");
    header_len = pre[8] | (std::uint64_t{pre[9]} << 8) | (std::uint64_t{more[0]} << 16) |
                 (std::uint64_t{more[1]} << 24);
    preamble = 12;
  } else {
    fail(path, "unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor));
  }
  if (preamble + header_len > file_size)
    fail(path, "truncated: header claims " + std::to_string(header_len) + " bytes but the file has " +
                   std::to_string(file_size));
  std::string header(header_len, '\0');
  if (header_len && !in.read(header.data(), static_cast<std::streamsize>(header_len)))
    fail(path, "truncated header");

  NpyArray a;
  std::string descr = dict_value(path, header, "descr");
  if (descr.size() < 2 || (descr.front() != '\'' && descr.front() != '"'))
    fail(path, "descr " + printable(descr) + " is not a simple dtype string");
  descr = descr.substr(1, descr.size() - 2);
  detail::Dtype t;
  const bool ok = parse_dtype(descr, t) && (t.kind == 'f' || options.integers || (options.bf16 && t.size == 2));
  if (!ok)
    fail(path, "unsupported dtype '" + printable(descr) + "' (deltapq reads float16/32/64 of either byte order" +
                   std::string(options.integers ? " and integers" : "") + ")");
  if (options.bf16) {
    if (t.size != 2 || t.kind == 'f') fail(path, "dtype '" + descr + "' is not 16-bit integer storage of bfloat16 bits");
    t.kind = 'b';
  }
  a.dtype = descr;

  const std::string fortran = dict_value(path, header, "fortran_order");
  bool fortran_order;
  if (fortran == "False") fortran_order = false;
  else if (fortran == "True") fortran_order = true;
  else fail(path, "fortran_order is '" + printable(fortran) + "', expected True or False");

  a.shape = parse_shape(path, dict_value(path, header, "shape"));
  if (options.stream && a.shape.size() != 2)
    fail(path, "shape has rank " + std::to_string(a.shape.size()) + "; expected a stream [T, d] of rank 2");
  std::uint64_t count = 1;
  if (a.shape.size() == 2 && a.shape[1] == 0) fail(path, "d = 0: the stream has no coordinates");
  if (a.shape.size() == 2 && a.shape[0] == 0) fail(path, "T = 0: the stream has no rows");
  for (std::size_t k = 0; k < a.shape.size(); ++k) {
    if (a.shape[k] == 0) fail(path, "shape has a zero extent (axis " + std::to_string(k) + ")");
    if (count > (std::uint64_t{1} << 40) / a.shape[k]) fail(path, "shape too large");
    count *= a.shape[k];
  }
  const std::uint64_t expected = preamble + header_len + count * t.size;
  if (file_size < expected)
    fail(path, "truncated: shape " + shape_text(a.shape) + " of " + descr + " needs " + std::to_string(expected) +
                   " bytes but the file has " + std::to_string(file_size));
  if (file_size > expected)
    fail(path, "file has " + std::to_string(file_size - expected) + " bytes beyond the data of shape " + shape_text(a.shape));

  // The values as doubles plus the raw bytes (the file holds them: checked above), against the limit.
  require_bytes(count * (8 + t.size), path + ": shape " + shape_text(a.shape));
  std::vector<unsigned char> raw(count * t.size);
  if (!raw.empty() && !in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(raw.size())))
    fail(path, "read error in the data section");

  a.data = detail::decode_values(raw.data(), a.shape, t, fortran_order, path, options.allow_non_finite);
  return a;
}

NpyMatrix read_npy(const std::string& path) {
  NpyReadOptions o;
  o.stream = true;
  const NpyArray a = read_npy_array(path, o);
  NpyMatrix m;
  m.rows = a.shape[0];
  m.cols = a.shape[1];
  m.dtype = a.dtype;
  m.data = a.data;
  return m;
}

std::string npy_bytes_typed(const std::vector<std::size_t>& shape, const std::vector<double>& data, const std::string& dtype) {
  std::size_t count = 1;
  for (std::size_t e : shape) count *= e;
  if (data.size() != count) throw Error("npy: " + std::to_string(data.size()) + " values for shape " + shape_text(shape));
  detail::Dtype t;
  if (!parse_dtype(dtype, t) || t.big_endian) throw Error("npy: cannot write dtype '" + dtype + "'");
  std::string header = "{'descr': '" + dtype + "', 'fortran_order': False, 'shape': " + shape_text(shape) + ", }";
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes.push_back(static_cast<char>(header.size() & 0xff));
  bytes.push_back(static_cast<char>(header.size() >> 8));
  bytes += header;
  for (double v : data) {
    if (t.kind == 'f' && t.size == 4) {
      const float f = static_cast<float>(v);
      bytes.append(reinterpret_cast<const char*>(&f), 4);
    } else if (t.kind == 'f' && t.size == 8) {
      bytes.append(reinterpret_cast<const char*>(&v), 8);
    } else if (t.kind == 'f') {
      throw Error("npy: cannot write dtype '" + dtype + "'");
    } else {
      const auto iv = static_cast<std::int64_t>(v);
      bytes.append(reinterpret_cast<const char*>(&iv), t.size);  // little-endian: the low bytes first
    }
  }
  return bytes;
}

std::string npy_bytes(std::size_t rows, std::size_t cols, const std::vector<double>& data, bool as_float32) {
  if (data.size() != rows * cols)
    throw Error("npy: " + std::to_string(data.size()) + " values for shape (" + std::to_string(rows) + ", " +
                std::to_string(cols) + ")");
  std::string header = "{'descr': '";
  header += as_float32 ? "<f4" : "<f8";
  header += "', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " + std::to_string(cols) + "), }";
  // Pad so that the data starts at a multiple of 64 bytes, ending the header with '\n'.
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');

  std::string bytes;
  bytes.reserve(10 + header.size() + data.size() * (as_float32 ? 4 : 8));
  bytes.append("\x93NUMPY\x01\x00", 8);
  bytes.push_back(static_cast<char>(header.size() & 0xff));
  bytes.push_back(static_cast<char>(header.size() >> 8));
  bytes += header;
  for (double v : data) {  // x86-64 is little-endian, as the header says
    if (as_float32) {
      const float f = static_cast<float>(v);
      bytes.append(reinterpret_cast<const char*>(&f), 4);
    } else {
      bytes.append(reinterpret_cast<const char*>(&v), 8);
    }
  }
  return bytes;
}

void write_npy(const std::string& path, std::size_t rows, std::size_t cols, const std::vector<double>& data,
               bool as_float32) {
  std::string bytes;
  try {
    bytes = npy_bytes(rows, cols, data, as_float32);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  write_file_atomically(path, bytes);
}

}  // namespace dpq
