// The llama2.c tokenizer file: int32 max_token_length, then per token float score, int32 length,
// bytes. Ids 0..2 are special (1 = BOS), 3..258 the byte fallbacks <0x00>..<0xFF>.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace dpq::model {

class Tokenizer {
 public:
  // vocab_size comes from the model header; a file with another number of tokens is an error
  // (vocab_size <= 0 accepts the file's own count, at least 259).
  Tokenizer(const std::string& path, int vocab_size);

  static constexpr int kBos = 1;
  int size() const { return static_cast<int>(pieces_.size()); }
  // SentencePiece-style BPE as llama2.c: a dummy-prefix space, one token per UTF-8 character (byte
  // fallback when the character is not in the vocabulary), then greedy merges by best score.
  std::vector<int> encode(const std::string& text) const;
  // The text of `token` following `previous` (leading space dropped after BOS, <0xXX> as its byte).
  std::string decode(int previous, int token) const;
  int max_token_length() const { return max_token_length_; }
  // The merge step alone, and llama2.c's O(n^2) loop it replaces (kept as the tests' oracle).
  std::vector<int> merge(std::vector<int> tokens) const;
  std::vector<int> merge_quadratic(std::vector<int> tokens) const;

 private:
  int max_token_length_ = 0;
  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  std::unordered_map<std::string, int> lookup_;
};

// BOS followed by the tokens of a text file. Throws dpq::Error when the file cannot be read, holds
// fewer than `min_text_tokens` tokens, or the result exceeds seq_len without max_tokens; a file longer
// than seq_len x max_token_length bytes is then refused before it is read.
// max_tokens (2..seq_len, with BOS): keep the first max_tokens tokens of a longer text instead of refusing
// it (the text is then read up to 64 MiB).
std::vector<int> tokenize_file(const Tokenizer& tok, const std::string& path, int seq_len, int min_text_tokens = 1,
                               std::optional<int> max_tokens = std::nullopt);

}  // namespace dpq::model
