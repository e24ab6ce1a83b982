#include "deltapq/core/tensor_file.h"

#include <zip.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <streambuf>

#include "deltapq/core/error.h"
#include "deltapq/core/limits.h"
#include "npy_detail.h"

namespace dpq {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& where, const std::string& what) { throw Error(where + ": " + what); }

std::uint64_t file_size_of(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail(path, "no such file (or not a regular file)");
  const auto n = fs::file_size(path, ec);
  if (ec) fail(path, "cannot stat: " + ec.message());
  return n;
}

TensorFormat sniff(const std::string& path, std::uint64_t size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open for reading");
  unsigned char head[9] = {};
  in.read(reinterpret_cast<char*>(head), static_cast<std::streamsize>(std::min<std::uint64_t>(size, 9)));
  if (size >= 6 && std::memcmp(head, "\x93NUMPY", 6) == 0) return TensorFormat::npy;
  if (size >= 4 && std::memcmp(head, "PK\x03\x04", 4) == 0) return TensorFormat::npz;
  if (size >= 4 && std::memcmp(head, "PK\x05\x06", 4) == 0) fail(path, "an empty zip archive: the .npz holds no array");
  if (size >= 9 && head[8] == '{') return TensorFormat::safetensors;
  fail(path, "not a tensor file: neither .npy (\\x93NUMPY), .npz (a zip archive) nor safetensors "
             "(an 8-byte header length, then a JSON object)");
}

// ---- .npz -------------------------------------------------------------------------------------------

// A libzip member read sequentially as a std::istream.
class ZipMemberBuf : public std::streambuf {
 public:
  explicit ZipMemberBuf(zip_file_t* f) : f_(f) {}
  bool failed() const { return failed_; }

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    const zip_int64_t n = zip_fread(f_, buf_, sizeof buf_);
    if (n < 0) failed_ = true;
    if (n <= 0) return traits_type::eof();
    setg(buf_, buf_, buf_ + n);
    return traits_type::to_int_type(*gptr());
  }

 private:
  zip_file_t* f_;
  char buf_[1 << 16];
  bool failed_ = false;
};

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct ZipFileCloser {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};

std::string zip_error_text(int code) {
  zip_error_t e;
  zip_error_init_with_code(&e, code);
  std::string s = zip_error_strerror(&e);
  zip_error_fini(&e);
  return s;
}

void read_npz(TensorFile& tf, std::uint64_t file_size, const NpyReadOptions& options) {
  int err = 0;
  std::unique_ptr<zip_t, ZipCloser> z(zip_open(tf.path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err));
  if (!z) fail(tf.path, "not a readable .npz (zip archive): " + zip_error_text(err));
  const zip_int64_t n = zip_get_num_entries(z.get(), 0);
  if (n <= 0) fail(tf.path, "the .npz holds no array");
  if (n > 100000) fail(tf.path, "the .npz lists " + std::to_string(n) + " members; more than 100000 is not a KV cache");
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(z.get(), static_cast<zip_uint64_t>(i), 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME) ||
        !(st.valid & ZIP_STAT_SIZE) || !(st.valid & ZIP_STAT_COMP_SIZE))
      fail(tf.path, "member " + std::to_string(i) + " of the .npz cannot be read: " + zip_strerror(z.get()));
    std::string name = st.name;
    const std::string where = tf.path + " (member '" + name + "')";
    if (name.size() < 4 || name.compare(name.size() - 4, 4, ".npy") != 0)
      fail(where, "is not a .npy member (np.savez writes NAME.npy)");
    name.resize(name.size() - 4);
    if (st.valid & ZIP_STAT_COMP_METHOD) {
      if (st.comp_method == ZIP_CM_STORE && st.size != st.comp_size)
        fail(where, "stored member of " + std::to_string(st.comp_size) + " bytes claims " + std::to_string(st.size));
      if (st.comp_method != ZIP_CM_STORE && st.comp_method != ZIP_CM_DEFLATE)
        fail(where, "compression method " + std::to_string(st.comp_method) + " (numpy writes stored or deflated members)");
    }
    // Deflate expands at most 1032:1: a larger claim is a lie, refused before anything is allocated.
    if (st.comp_size > file_size || st.size > st.comp_size * 1032 + 1024)
      fail(where, "claims " + std::to_string(st.size) + " bytes from " + std::to_string(st.comp_size) +
                      " compressed: more than deflate can produce");
    std::unique_ptr<zip_file_t, ZipFileCloser> f(zip_fopen_index(z.get(), static_cast<zip_uint64_t>(i), 0));
    if (!f) fail(where, std::string("cannot be opened: ") + zip_strerror(z.get()));
    ZipMemberBuf buf(f.get());
    std::istream in(&buf);
    NpyReadOptions o = options;
    o.stream = false;
    NamedTensor t;
    t.name = name;
    try {
      t.array = read_npy_from(in, st.size, where, o);
    } catch (const Error&) {
      if (buf.failed()) fail(where, std::string("is corrupt: ") + zip_error_strerror(zip_file_get_error(f.get())));
      throw;
    }
    if (buf.failed()) fail(where, std::string("is corrupt: ") + zip_error_strerror(zip_file_get_error(f.get())));
    if (tf.find(t.name)) fail(where, "is listed twice");
    tf.tensors.push_back(std::move(t));
  }
}

// ---- safetensors ------------------------------------------------------------------------------------

bool safetensors_dtype(const std::string& s, detail::Dtype& t, bool integers) {
  t.big_endian = false;
  if (s == "F64") t = {'f', 8, false};
  else if (s == "F32") t = {'f', 4, false};
  else if (s == "F16") t = {'f', 2, false};
  else if (s == "BF16") t = {'b', 2, false};
  else if (integers && (s == "I64" || s == "I32" || s == "I16" || s == "I8"))
    t = {'i', static_cast<std::size_t>(s == "I8" ? 1 : std::stoi(s.substr(1)) / 8), false};
  else if (integers && (s == "U64" || s == "U32" || s == "U16" || s == "U8"))
    t = {'u', static_cast<std::size_t>(s == "U8" ? 1 : std::stoi(s.substr(1)) / 8), false};
  else return false;
  return true;
}

void read_safetensors(TensorFile& tf, std::uint64_t file_size, const NpyReadOptions& options) {
  std::ifstream in(tf.path, std::ios::binary);
  unsigned char len8[8];
  if (file_size < 8 || !in.read(reinterpret_cast<char*>(len8), 8)) fail(tf.path, "truncated safetensors header length");
  std::uint64_t header_len = 0;
  for (int k = 7; k >= 0; --k) header_len = (header_len << 8) | len8[k];
  if (header_len > 100'000'000) fail(tf.path, "safetensors header claims " + std::to_string(header_len) + " bytes (the format's limit is 100 MB)");
  if (8 + header_len > file_size)
    fail(tf.path, "truncated: the safetensors header claims " + std::to_string(header_len) + " bytes but the file has " +
                      std::to_string(file_size));
  std::string header(header_len, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(header_len))) fail(tf.path, "truncated safetensors header");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(header);
  } catch (const nlohmann::json::exception& e) {
    fail(tf.path, std::string("safetensors header is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) fail(tf.path, "safetensors header is not a JSON object");
  const std::uint64_t data_size = file_size - 8 - header_len;
  struct Entry {
    std::string name;
    std::string dtype;
    detail::Dtype t;
    std::vector<std::size_t> shape;
    std::uint64_t begin = 0, end = 0;
  };
  std::vector<Entry> entries;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const std::string where = tf.path + " (tensor '" + it.key() + "')";
    const auto& v = it.value();
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      fail(where, "entry needs \"dtype\", \"shape\" and \"data_offsets\"");
    Entry e;
    e.name = it.key();
    if (!v.at("dtype").is_string()) fail(where, "\"dtype\" = " + v.at("dtype").dump() + " is not a string");
    e.dtype = v.at("dtype").get<std::string>();
    if (!safetensors_dtype(e.dtype, e.t, options.integers))
      fail(where, "dtype " + e.dtype + " is not supported (deltapq reads F64, F32, F16, BF16" +
                      std::string(options.integers ? " and integers" : "") + ")");
    const auto& sh = v.at("shape");
    if (!sh.is_array()) fail(where, "\"shape\" = " + sh.dump() + " is not an array");
    std::uint64_t count = 1;
    for (const auto& x : sh) {
      if (!x.is_number_unsigned()) fail(where, "\"shape\" = " + sh.dump() + " has an entry that is not a non-negative integer");
      const auto k = x.get<std::uint64_t>();
      if (k == 0) fail(where, "\"shape\" = " + sh.dump() + " has a zero extent");
      if (count > (std::uint64_t{1} << 40) / k) fail(where, "\"shape\" = " + sh.dump() + " is too large");
      count *= k;
      e.shape.push_back(static_cast<std::size_t>(k));
    }
    const auto& off = v.at("data_offsets");
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      fail(where, "\"data_offsets\" = " + off.dump() + " is not [begin, end]");
    e.begin = off[0].get<std::uint64_t>();
    e.end = off[1].get<std::uint64_t>();
    if (e.begin > e.end || e.end > data_size)
      fail(where, "\"data_offsets\" = " + off.dump() + " lies outside the data section of " + std::to_string(data_size) + " bytes");
    if (e.end - e.begin != count * e.t.size)
      fail(where, "\"data_offsets\" span " + std::to_string(e.end - e.begin) + " bytes but shape " + sh.dump() + " of " +
                      e.dtype + " needs " + std::to_string(count * e.t.size));
    entries.push_back(std::move(e));
  }
  if (entries.empty()) fail(tf.path, "the safetensors file holds no tensor");
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  std::uint64_t total = 0;
  for (const Entry& e : entries) total += e.end - e.begin;
  for (std::size_t k = 1; k < entries.size(); ++k)
    if (entries[k].begin < entries[k - 1].end)
      fail(tf.path, "tensors '" + entries[k - 1].name + "' and '" + entries[k].name + "' overlap in the data section");
  require_bytes(total * 8 / 2 + total, tf.path);  // values as doubles (at least 8 per 2 bytes) plus one tensor's raw bytes
  for (const Entry& e : entries) {
    const std::string where = tf.path + " (tensor '" + e.name + "')";
    std::vector<unsigned char> raw(e.end - e.begin);
    in.seekg(static_cast<std::streamoff>(8 + header_len + e.begin));
    if (!raw.empty() && !in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(raw.size())))
      fail(where, "read error in the data section");
    NamedTensor t;
    t.name = e.name;
    t.array.shape = e.shape;
    t.array.dtype = e.dtype;
    t.array.data = detail::decode_values(raw.data(), e.shape, e.t, false, where, options.allow_non_finite);
    tf.tensors.push_back(std::move(t));
  }
}

// IEEE binary32 -> binary16, rounded to nearest even (overflow to Inf, subnormals kept).
std::uint16_t float_to_half(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  std::uint32_t mant = x & 0x7fffffu;
  const int exp = static_cast<int>((x >> 23) & 0xffu);
  if (exp == 255) return static_cast<std::uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0u));
  const int e = exp - 127 + 15;
  if (e >= 31) return static_cast<std::uint16_t>(sign | 0x7c00u);
  if (e <= 0) {  // a half subnormal m 2^-24 with m = (1.mant 2^23) >> (14 - e)
    if (e < -10) return static_cast<std::uint16_t>(sign);
    mant |= 0x800000u;
    const int shift = 14 - e;
    std::uint32_t half = mant >> shift;
    const std::uint32_t rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1u))) ++half;
    return static_cast<std::uint16_t>(sign | half);
  }
  std::uint32_t half = (static_cast<std::uint32_t>(e) << 10) | (mant >> 13);
  const std::uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1u))) ++half;  // a carry into the exponent is right (up to Inf)
  return static_cast<std::uint16_t>(sign | half);
}

// float -> raw little-endian bytes of a safetensors dtype (F16 and BF16 via float: double rounding
// is possible in rare ties; this writer serves tests and examples).
void put(std::string& out, double v, const std::string& dtype) {
  auto le = [&](std::uint64_t bits, int n) {
    for (int k = 0; k < n; ++k) out.push_back(static_cast<char>((bits >> (8 * k)) & 0xff));
  };
  if (dtype == "F64") {
    std::uint64_t b;
    std::memcpy(&b, &v, 8);
    le(b, 8);
    return;
  }
  const float f = static_cast<float>(v);
  std::uint32_t b;
  std::memcpy(&b, &f, 4);
  if (dtype == "F32") return le(b, 4);
  if (dtype == "BF16") {
    if (std::isnan(f)) return le(0x7fc0, 2);
    const std::uint32_t rounded = b + 0x7fff + ((b >> 16) & 1);  // round to nearest even
    return le(rounded >> 16, 2);
  }
  if (dtype == "F16") return le(float_to_half(f), 2);
  throw Error("safetensors_bytes: unsupported dtype " + dtype);
}

}  // namespace

const char* format_name(TensorFormat f) {
  switch (f) {
    case TensorFormat::npy: return ".npy";
    case TensorFormat::npz: return ".npz";
    case TensorFormat::safetensors: return "safetensors";
  }
  return "?";
}

const NamedTensor* TensorFile::find(const std::string& name) const {
  for (const NamedTensor& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

std::string TensorFile::listing() const {
  std::string s;
  for (std::size_t k = 0; k < tensors.size() && k < 12; ++k)
    s += (k ? ", " : "") + (tensors[k].name.empty() ? std::string("(array)") : "'" + tensors[k].name + "'") + " " +
         detail::shape_text(tensors[k].array.shape);
  if (tensors.size() > 12) s += ", ... (" + std::to_string(tensors.size()) + " tensors)";
  return s;
}

TensorFile read_tensor_file(const std::string& path, const NpyReadOptions& options) {
  const std::uint64_t size = file_size_of(path);
  TensorFile tf;
  tf.path = path;
  tf.format = sniff(path, size);
  NpyReadOptions o = options;
  o.stream = false;
  if (tf.format == TensorFormat::npy) tf.tensors.push_back({"", read_npy_array(path, o)});
  else if (tf.format == TensorFormat::npz) read_npz(tf, size, o);
  else read_safetensors(tf, size, o);
  return tf;
}

NpyMatrix read_stream_tensor(const std::string& path, const std::optional<std::string>& tensor) {
  TensorFile tf = read_tensor_file(path);
  const NamedTensor* t = nullptr;
  if (tensor) {
    t = tf.find(*tensor);
    if (!t) fail(path, "has no tensor '" + *tensor + "' (it holds " + tf.listing() + ")");
  } else {
    if (tf.tensors.size() != 1)
      fail(path, "holds " + std::to_string(tf.tensors.size()) + " tensors (" + tf.listing() + "); name one with --tensor NAME");
    t = &tf.tensors[0];
  }
  const std::string where = path + (t->name.empty() ? "" : " (tensor '" + t->name + "')");
  if (t->array.shape.size() != 2)
    fail(where, "shape " + detail::shape_text(t->array.shape) + " has rank " + std::to_string(t->array.shape.size()) +
                    "; audit reads a stream [T, d] -- for a cache [layers, heads, T, d] use audit-stream with --layout");
  NpyMatrix m;
  m.rows = t->array.shape[0];
  m.cols = t->array.shape[1];
  m.dtype = t->array.dtype;
  m.data = std::move(const_cast<NamedTensor*>(t)->array.data);
  return m;
}

std::string safetensors_bytes(const std::vector<SafetensorsEntry>& entries) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  std::string data;
  for (const SafetensorsEntry& e : entries) {
    const std::size_t begin = data.size();
    for (double v : e.data) put(data, v, e.dtype);
    header[e.name] = {{"dtype", e.dtype}, {"shape", e.shape}, {"data_offsets", {begin, data.size()}}};
  }
  std::string h = header.dump();
  while ((8 + h.size()) % 8) h.push_back(' ');
  std::string out;
  for (int k = 0; k < 8; ++k) out.push_back(static_cast<char>((std::uint64_t{h.size()} >> (8 * k)) & 0xff));
  return out + h + data;
}

}  // namespace dpq
