// The llama2.c loader, forward pass and tokenizer, on the shared real model.
// The model is found through DPQ_MODELS (default: ../shared/models next to the repository).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>

#include "deltapq/core/error.h"
#include "deltapq/model/llama2.h"
#include "deltapq/model/tokenizer.h"
#include "test_files.h"

namespace dpq::model {
namespace {

using testing::error_of;
std::string models_dir() { return testing::shared_models(); }
std::string checkpoint() { return models_dir() + "/stories260K.bin"; }
std::string tokenizer() { return models_dir() + "/tok512.bin"; }


TEST(Model, header_is_read_not_assumed) {
  DPQ_REQUIRE_SHARED_MODEL(checkpoint());
  const Llama2 m(checkpoint());
  const Config& c = m.config();
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.n_layers, 5);
  EXPECT_EQ(c.n_kv_heads, 4);
  EXPECT_EQ(c.head_dim(), 8);
  EXPECT_EQ(c.kv_group(), 2);
  EXPECT_TRUE(c.shared_classifier);
}

TEST(Model, greedy_generation_tells_the_story_of_lily) {
  DPQ_REQUIRE_SHARED_MODEL(checkpoint());
  Llama2 m(checkpoint());
  const Tokenizer tok(tokenizer(), m.config().vocab_size);
  std::string text;
  int token = Tokenizer::kBos;
  for (int pos = 0; pos < 20; ++pos) {
    const auto& logits = m.forward(token, pos);
    const int next = static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    text += tok.decode(token, next);
    token = next;
  }
  EXPECT_EQ(text.rfind("Once upon a time, there was a little girl named Lily.", 0), 0u) << text;
}

TEST(Model, tokenizer_round_trip_and_byte_fallback) {
  DPQ_REQUIRE_SHARED_MODEL(checkpoint());
  const Tokenizer tok(tokenizer(), 512);
  const std::string text = "Lily saw a big dog. Ünïcode ☃!";
  const auto ids = tok.encode(text);
  std::string back;
  int prev = Tokenizer::kBos;
  for (int id : ids) {
    back += tok.decode(prev, id);
    prev = id;
  }
  EXPECT_EQ(back, text);  // the dummy-prefix space is dropped after BOS
  // ☃ (U+2603) is not in a 512-token vocabulary: three byte-fallback tokens 3 + 0xE2, 0x98, 0x83.
  const auto snow = tok.encode("☃");
  const std::vector<int> fallback{3 + 0xE2, 3 + 0x98, 3 + 0x83};
  EXPECT_NE(std::search(snow.begin(), snow.end(), fallback.begin(), fallback.end()), snow.end());
}

TEST(Model, kv_hook_sees_pre_and_post_rope_keys) {
  DPQ_REQUIRE_SHARED_MODEL(checkpoint());
  Llama2 m(checkpoint());
  const int hd = m.config().head_dim();
  int calls = 0;
  m.forward(Tokenizer::kBos, 0, [&](int, int, int pos, const float* k_pre, float* k_post, float*) {
    ++calls;
    for (int i = 0; i < hd; ++i) EXPECT_EQ(k_pre[i], k_post[i]) << "position 0: RoPE is the identity";
    EXPECT_EQ(pos, 0);
  });
  EXPECT_EQ(calls, m.config().n_layers * m.config().n_kv_heads);
  bool rotated = false;
  m.forward(Tokenizer::kBos, 1, [&](int, int, int, const float* k_pre, float* k_post, float*) {
    for (int i = 0; i < hd; ++i) rotated = rotated || k_pre[i] != k_post[i];
  });
  EXPECT_TRUE(rotated);
}

TEST(Model, heap_merges_equal_llama2cs_quadratic_loop) {
  // The O(n log n) merge must give exactly the tokens of llama2.c's loop (highest score, leftmost
  // among ties), on texts that exercise ties, byte fallbacks and long runs.
  DPQ_REQUIRE_SHARED_MODEL(checkpoint());
  const Tokenizer tok(tokenizer(), 512);
  std::mt19937_64 rng(7);
  const std::string alphabet = "abcdefghij  .,Lily Ben the park dog \xc3\xa9\xe2\x98\x83";
  for (int trial = 0; trial < 200; ++trial) {
    std::string text;
    const int n = static_cast<int>(rng() % 300);
    for (int i = 0; i < n; ++i) text += alphabet[rng() % alphabet.size()];
    std::vector<int> start;
    for (unsigned char ch : text) start.push_back(ch + 3);  // byte tokens: the merges do the rest
    EXPECT_EQ(tok.merge(start), tok.merge_quadratic(start)) << text;
  }
  const std::string story = "Once upon a time, there was a little girl named Lily. She liked to play outside.";
  std::vector<int> start;
  for (unsigned char ch : story) start.push_back(ch + 3);
  EXPECT_EQ(tok.merge(start), tok.merge_quadratic(start));
}

TEST(E2, bad_checkpoints_and_tokenizers) {
  DPQ_REQUIRE_SHARED_MODEL(checkpoint());
  std::ifstream in(checkpoint(), std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto write = [](const std::string& p, const std::vector<char>& b) {
    std::ofstream(p, std::ios::binary).write(b.data(), static_cast<std::streamsize>(b.size()));
  };
  auto p = testing::temp_path("trunc.bin");
  write(p, std::vector<char>(bytes.begin(), bytes.end() - 100));
  EXPECT_NE(error_of([&] { Llama2 m(p); }).find("truncated"), std::string::npos) << error_of([&] { Llama2 m(p); });
  write(p, std::vector<char>(bytes.begin(), bytes.begin() + 10));
  EXPECT_NE(error_of([&] { Llama2 m(p); }).find("header"), std::string::npos);
  auto changed = bytes;
  const std::int32_t layers = 6;  // header says 6 layers: the sizes no longer add up
  std::memcpy(changed.data() + 8, &layers, 4);
  write(p, changed);
  EXPECT_NE(error_of([&] { Llama2 m(p); }).find("needs"), std::string::npos) << error_of([&] { Llama2 m(p); });
  const std::int32_t heads = 7;  // 64 does not split into 7 heads
  changed = bytes;
  std::memcpy(changed.data() + 12, &heads, 4);
  write(p, changed);
  EXPECT_NE(error_of([&] { Llama2 m(p); }).find("inconsistent header"), std::string::npos);
  EXPECT_NE(error_of([] { Tokenizer t(tokenizer(), 1000); }).find("has 512 tokens but the model's vocabulary has 1000"),
            std::string::npos);
  Llama2 m(checkpoint());
  EXPECT_NE(error_of([&] { m.forward(1, 512); }).find("seq_len"), std::string::npos);
}

}  // namespace
}  // namespace dpq::model
