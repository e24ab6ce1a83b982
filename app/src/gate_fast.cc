// deltapq's own fast path in the gate's form: its bit-packed records unpacked into the gate's arrays
// (and back), rows it refuses marked refused.
#include <cmath>
#include <cstring>
#include <functional>

#include "deltapq/app/gate.h"
#include "deltapq/core/error.h"
#include "deltapq/fast/codec.h"
#include "deltapq/fast/pq.h"
#include "deltapq/fast/turbo_codec.h"

namespace dpq::app {
namespace {

// deltapq's code layout (fast/codec.h): a little-endian bit stream, least significant bit first.
std::uint32_t get_bits(const std::uint8_t* p, std::size_t bit, int width) {
  std::uint32_t v = 0;
  for (int k = 0; k < width; ++k, ++bit) v |= static_cast<std::uint32_t>((p[bit / 8] >> (bit % 8)) & 1u) << k;
  return v;
}
void put_bits(std::uint8_t* p, std::size_t bit, std::uint32_t v, int width) {
  for (int k = 0; k < width; ++k, ++bit)
    if ((v >> k) & 1u) p[bit / 8] |= static_cast<std::uint8_t>(1u << (bit % 8));
}

// Encodes the finite rows in one call of `batch(rows)`; when that throws (a row the codec refuses,
// e.g. one whose float32 arithmetic overflows), row by row, marking the rows that throw refused.
GateOutputs encode_refusing(const float* x, std::size_t n, std::size_t d, std::size_t codes_per_row,
                            const std::function<void(const std::vector<std::size_t>&, GateOutputs&)>& batch) {
  GateOutputs o;
  o.rows = n;
  o.codes.assign(n * codes_per_row, 0);
  o.refused = std::vector<bool>(n, false);
  std::vector<std::size_t> ok;
  for (std::size_t r = 0; r < n; ++r) {
    bool finite = true;
    for (std::size_t j = 0; j < d && finite; ++j) finite = std::isfinite(x[r * d + j]);
    (*o.refused)[r] = !finite;
    if (finite) ok.push_back(r);
  }
  try {
    batch(ok, o);
    return o;
  } catch (const Error&) {
  }
  for (std::size_t r : ok) {
    try {
      batch({r}, o);
    } catch (const Error&) {
      (*o.refused)[r] = true;
    }
  }
  return o;
}

std::vector<float> gather(const float* x, const std::vector<std::size_t>& rows, std::size_t d) {
  std::vector<float> in(rows.size() * d);
  for (std::size_t a = 0; a < rows.size(); ++a) std::memcpy(in.data() + a * d, x + rows[a] * d, d * sizeof(float));
  return in;
}

// Decodes the accepted rows' records into o.decoded (NaN elsewhere: refused rows are not checked).
template <class Decode>
void decode_accepted(GateOutputs& o, std::size_t d, const Decode& decode) {
  o.decoded = std::vector<float>(o.rows * d, std::nanf(""));
  std::vector<std::size_t> keep;
  for (std::size_t r = 0; r < o.rows; ++r)
    if (!(*o.refused)[r]) keep.push_back(r);
  std::vector<float> y(keep.size() * d);
  decode(keep, y.data());
  for (std::size_t a = 0; a < keep.size(); ++a) std::memcpy(o.decoded->data() + keep[a] * d, y.data() + a * d, d * sizeof(float));
}

}  // namespace

GateOutputs fast_gate_outputs(const fast::Codec& codec, const float* x, std::size_t n, bool decode) {
  const std::size_t d = codec.dim(), bpr = codec.bytes_per_row();
  const auto& kd = codec.kernel();
  GateOutputs o = encode_refusing(x, n, d, d, [&](const std::vector<std::size_t>& rows, GateOutputs& out) {
    const std::vector<float> in = gather(x, rows, d);
    std::vector<std::uint8_t> packed(rows.size() * bpr);
    codec.encode(in.data(), rows.size(), packed.data());
    for (std::size_t a = 0; a < rows.size(); ++a)
      for (std::size_t i = 0; i < d; ++i)
        out.codes[rows[a] * d + i] = get_bits(packed.data() + a * bpr, static_cast<std::size_t>(kd.bit_offset[i]), kd.bits[i]);
  });
  if (decode)
    decode_accepted(o, d, [&](const std::vector<std::size_t>& rows, float* y) {
      std::vector<std::int32_t> c;
      for (std::size_t r : rows) c.insert(c.end(), o.codes.begin() + static_cast<std::ptrdiff_t>(r * d), o.codes.begin() + static_cast<std::ptrdiff_t>((r + 1) * d));
      fast_gate_decode(codec, c.data(), rows.size(), y);
    });
  return o;
}

void fast_gate_decode(const fast::Codec& codec, const std::int32_t* codes, std::size_t n, float* out) {
  const std::size_t d = codec.dim(), bpr = codec.bytes_per_row();
  const auto& kd = codec.kernel();
  std::vector<std::uint8_t> packed(n * bpr, 0);
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t i = 0; i < d; ++i)
      put_bits(packed.data() + r * bpr, static_cast<std::size_t>(kd.bit_offset[i]), static_cast<std::uint32_t>(codes[r * d + i]), kd.bits[i]);
  codec.decode(packed.data(), n, out);
}

GateOutputs fast_gate_outputs(const fast::TurboCodec& codec, const float* x, std::size_t n, bool decode) {
  const std::size_t d = static_cast<std::size_t>(codec.dim()), rb = codec.bytes_per_vector(), b = static_cast<std::size_t>(codec.bits()),
                    cb = (d * b + 7) / 8, m = codec.qjl() ? static_cast<std::size_t>(codec.qjl()->m()) : 0;
  std::vector<float> norms(n, 0.0f), res(n, 0.0f);
  std::vector<std::uint8_t> signs(n * m, 0);
  GateOutputs o = encode_refusing(x, n, d, d, [&](const std::vector<std::size_t>& rows, GateOutputs& out) {
    const std::vector<float> in = gather(x, rows, d);
    std::vector<std::uint8_t> rec(rows.size() * rb);
    codec.encode(in.data(), rows.size(), rec.data());
    for (std::size_t a = 0; a < rows.size(); ++a) {
      const std::uint8_t* p = rec.data() + a * rb;
      const std::size_t r = rows[a];
      std::memcpy(&norms[r], p, 4);
      for (std::size_t i = 0; i < d; ++i) out.codes[r * d + i] = get_bits(p + 4, i * b, static_cast<int>(b));
      if (m) {
        std::memcpy(&res[r], p + 4 + cb, 4);
        for (std::size_t j = 0; j < m; ++j) signs[r * m + j] = static_cast<std::uint8_t>(get_bits(p + 8 + cb, j, 1));
      }
    }
  });
  o.norms = norms;
  if (m) {
    o.signs = signs;
    o.residual_norms = res;
  }
  if (decode)
    decode_accepted(o, d, [&](const std::vector<std::size_t>& rows, float* y) {
      std::vector<std::int32_t> c;
      std::vector<float> nk, rk;
      std::vector<std::uint8_t> sk;
      for (std::size_t r : rows) {
        c.insert(c.end(), o.codes.begin() + static_cast<std::ptrdiff_t>(r * d), o.codes.begin() + static_cast<std::ptrdiff_t>((r + 1) * d));
        nk.push_back(norms[r]);
        rk.push_back(res[r]);
        sk.insert(sk.end(), signs.begin() + static_cast<std::ptrdiff_t>(r * m), signs.begin() + static_cast<std::ptrdiff_t>((r + 1) * m));
      }
      fast_gate_decode(codec, c.data(), nk.data(), sk.data(), rk.data(), rows.size(), y);
    });
  return o;
}

void fast_gate_decode(const fast::TurboCodec& codec, const std::int32_t* codes, const float* norms, const std::uint8_t* signs,
                      const float* residual_norms, std::size_t n, float* out) {
  const std::size_t d = static_cast<std::size_t>(codec.dim()), rb = codec.bytes_per_vector(), b = static_cast<std::size_t>(codec.bits()),
                    cb = (d * b + 7) / 8, m = codec.qjl() ? static_cast<std::size_t>(codec.qjl()->m()) : 0;
  std::vector<std::uint8_t> rec(n * rb, 0);
  for (std::size_t r = 0; r < n; ++r) {
    std::uint8_t* p = rec.data() + r * rb;
    std::memcpy(p, &norms[r], 4);
    for (std::size_t i = 0; i < d; ++i) put_bits(p + 4, i * b, static_cast<std::uint32_t>(codes[r * d + i]), static_cast<int>(b));
    if (m) {
      std::memcpy(p + 4 + cb, &residual_norms[r], 4);
      for (std::size_t j = 0; j < m; ++j) put_bits(p + 8 + cb, j, signs[r * m + j], 1);
    }
  }
  codec.decode(rec.data(), n, out);
}

GateOutputs fast_gate_outputs(const fast::ProductQuantizer& pq, const float* x, std::size_t n, bool decode) {
  const std::size_t d = static_cast<std::size_t>(pq.dim()), M = static_cast<std::size_t>(pq.blocks());
  GateOutputs o = encode_refusing(x, n, d, M, [&](const std::vector<std::size_t>& rows, GateOutputs& out) {
    const std::vector<float> in = gather(x, rows, d);
    std::vector<std::uint8_t> c(rows.size() * M);
    pq.encode(in.data(), rows.size(), c.data());
    for (std::size_t a = 0; a < rows.size(); ++a)
      for (std::size_t k = 0; k < M; ++k) out.codes[rows[a] * M + k] = c[a * M + k];
  });
  if (decode)
    decode_accepted(o, d, [&](const std::vector<std::size_t>& rows, float* y) {
      std::vector<std::int32_t> c;
      for (std::size_t r : rows) c.insert(c.end(), o.codes.begin() + static_cast<std::ptrdiff_t>(r * M), o.codes.begin() + static_cast<std::ptrdiff_t>((r + 1) * M));
      fast_gate_decode(pq, c.data(), rows.size(), y);
    });
  return o;
}

void fast_gate_decode(const fast::ProductQuantizer& pq, const std::int32_t* codes, std::size_t n, float* out) {
  const std::size_t M = static_cast<std::size_t>(pq.blocks());
  std::vector<std::uint8_t> c(n * M);
  for (std::size_t k = 0; k < n * M; ++k) c[k] = static_cast<std::uint8_t>(codes[k]);
  pq.decode(c.data(), n, out);
}

}  // namespace dpq::app
