// Tensor files (.npz, safetensors, N-D .npy) and their mapping to KV streams (app/kv_source.h).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>

#include "deltapq/app/kv_source.h"
#include "deltapq/core/npy.h"
#include "deltapq/core/tensor_file.h"
#include "test_files.h"

namespace dpq {
namespace {

std::string write(const std::string& name, const std::string& bytes) {
  const std::string p = testing::temp_path(name);
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

TEST(TensorFile, safetensors_round_trip_in_every_float_dtype) {
  const std::vector<double> v = {1, -2.5, 0.1, 65504, 1e-7, -0.0};
  for (const char* dt : {"F64", "F32", "F16", "BF16"}) {
    const std::string p = write(std::string("rt_") + dt + ".safetensors", safetensors_bytes({{"x", {2, 3}, v, dt}}));
    const TensorFile tf = read_tensor_file(p);
    ASSERT_EQ(tf.format, TensorFormat::safetensors);
    ASSERT_EQ(tf.tensors.size(), 1u);
    EXPECT_EQ(tf.tensors[0].array.shape, (std::vector<std::size_t>{2, 3}));
    for (std::size_t i = 0; i < v.size(); ++i) {
      const double got = tf.tensors[0].array.data[i];
      const double tol = std::string(dt) == "F64" ? 0 : std::string(dt) == "F32" ? 1e-7 : std::string(dt) == "F16" ? 1e-3 : 8e-3;
      EXPECT_LE(std::abs(got - v[i]), tol * std::max(1.0, std::abs(v[i])) + (std::string(dt) == "F16" ? 6e-8 : 0)) << dt << " " << i;
    }
  }
}

TEST(TensorFile, float_to_half_inverts_half_to_double_on_every_finite_half) {
  // Every finite binary16 value written through the F16 writer reads back as the same bits.
  std::vector<double> values;
  std::vector<unsigned short> bits;
  for (unsigned h = 0; h < 65536; ++h) {
    const double x = half_to_double(static_cast<unsigned short>(h));
    if (!std::isfinite(x)) continue;
    values.push_back(x);
    bits.push_back(static_cast<unsigned short>(h));
  }
  const std::string bytes = safetensors_bytes({{"h", {values.size()}, values, "F16"}});
  const std::string tail = bytes.substr(bytes.size() - 2 * values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    unsigned short got;
    std::memcpy(&got, tail.data() + 2 * i, 2);
    ASSERT_EQ(got, bits[i]) << "half 0x" << std::hex << bits[i];
  }
}

TEST(TensorFile, bad_safetensors_name_the_tensor_and_field) {
  const std::string good = safetensors_bytes({{"k", {2, 2}, {1, 2, 3, 4}, "F32"}});
  struct Case {
    std::string bytes, message;
  } cases[] = {
      {good.substr(0, good.size() - 1), "lies outside the data section"},
      {good + "x", ""},  // trailing bytes after the last tensor are allowed by the format
      {std::string("\x10\0\0\0\0\0\0\0", 8) + R"({"k": {"dtype": "F32"}})", "not valid JSON"},
      {std::string("\x64\0\0\0\0\0\0\0", 8) + R"({"k": 1})", "truncated: the safetensors header claims 100 bytes"},
      {std::string("\x1a\0\0\0\0\0\0\0", 8) + R"({"k": {"dtype": "F32"}}   )", "needs \"dtype\", \"shape\" and \"data_offsets\""},
  };
  for (const Case& c : cases) {
    const std::string p = write("bad.safetensors", c.bytes);
    if (c.message.empty()) {
      EXPECT_NO_THROW(read_tensor_file(p));
      continue;
    }
    const std::string e = testing::error_of([&] { read_tensor_file(p); });
    EXPECT_NE(e.find(c.message), std::string::npos) << e;
    EXPECT_NE(e.find("bad.safetensors"), std::string::npos) << e;
  }
  const std::string nan = write("nan.safetensors", safetensors_bytes({{"kk", {2, 2}, {1, 2, NAN, 4}, "F32"}}));
  const std::string e = testing::error_of([&] { read_tensor_file(nan); });
  EXPECT_NE(e.find("tensor 'kk'"), std::string::npos) << e;
  EXPECT_NE(e.find("NaN at row 1, column 0"), std::string::npos) << e;
}

TEST(KvSource, names_say_layer_and_kind) {
  struct Case {
    const char* name;
    int layer;
    const char* kind;
  } cases[] = {
      {"model.layers.3.self_attn.k_proj", 3, "k_pre"}, {"k_cache[3]", 3, "k_post"}, {"key_cache.12", 12, "k_post"},
      {"value_cache.0", 0, "v"}, {"layers.7.v", 7, "v"}, {"past_key_values.3.0", 3, "k_post"},
      {"past_key_values.3.1", 3, "v"}, {"layer5_keys", 5, "k_post"}, {"blocks.2.attn.q", 2, "q"},
  };
  for (const Case& c : cases) {
    const app::KvName n = app::parse_kv_name(c.name, false);
    ASSERT_TRUE(n.layer && n.kind) << c.name;
    EXPECT_EQ(*n.layer, c.layer) << c.name;
    EXPECT_EQ(*n.kind, c.kind) << c.name;
  }
  EXPECT_FALSE(app::parse_kv_name("kv_cache.3", false).kind);  // both k and v: ambiguous, not guessed
  EXPECT_EQ(*app::parse_kv_name("k_cache[3]", true).kind, "k_pre");
}

TEST(KvSource, a_layout_slices_the_right_values) {
  // [L=2, S=2, H=3, T=4, D=5] with value = 10000 l + 1000 s + 100 h + 10 t + d.
  NpyArray a;
  a.shape = {2, 2, 3, 4, 5};
  for (int l = 0; l < 2; ++l)
    for (int s = 0; s < 2; ++s)
      for (int h = 0; h < 3; ++h)
        for (int t = 0; t < 4; ++t)
          for (int d = 0; d < 5; ++d) a.data.push_back(10000 * l + 1000 * s + 100 * h + 10 * t + d);
  auto tensors = std::make_shared<const std::vector<NamedTensor>>(std::vector<NamedTensor>{{"", a}});
  app::KvLayout lay;
  lay.axes = "L,S,H,T,D";
  const app::KvStreams ks = app::kv_streams(tensors, "<test>", lay);
  ASSERT_EQ(ks.files.size(), 12u);
  const app::KvFile* f = ks.find(1, 2, "v");
  ASSERT_TRUE(f);
  const pipeline::Stream st = ks.load(*f);
  ASSERT_EQ(st.rows, 4u);
  ASSERT_EQ(st.dim, 5u);
  EXPECT_EQ(st.data[3 * 5 + 4], 10000 + 1000 + 200 + 30 + 4);
  // The wrong rank, a missing kind, and an oversize batch are named.
  lay.axes = "L,H,T,D";
  EXPECT_NE(testing::error_of([&] { app::kv_streams(tensors, "<test>", lay); }).find("names 4 axes"), std::string::npos);
  lay.axes = "L,B,H,T,D";
  EXPECT_NE(testing::error_of([&] { app::kv_streams(tensors, "<test>", lay); }).find("no k/v axis"), std::string::npos);
  lay.kind = "v";
  EXPECT_NE(testing::error_of([&] { app::kv_streams(tensors, "<test>", lay); }).find("axis B has extent 2"), std::string::npos);
  lay.batch = 1;
  EXPECT_EQ(app::kv_streams(tensors, "<test>", lay).files.size(), 6u);
}

}  // namespace
}  // namespace dpq
