#include "deltapq/model/tokenizer.h"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "deltapq/core/error.h"

namespace dpq::model {

Tokenizer::Tokenizer(const std::string& path, int vocab_size) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(path + ": no such tokenizer file");
  std::ifstream in(path, std::ios::binary);
  std::int32_t max_len = 0;
  if (!in.read(reinterpret_cast<char*>(&max_len), 4)) throw Error(path + ": truncated: no header");
  if (max_len <= 0 || max_len > (1 << 16)) throw Error(path + ": max_token_length " + std::to_string(max_len) + " is absurd");
  while (true) {
    float score;
    if (!in.read(reinterpret_cast<char*>(&score), 4)) break;
    std::int32_t len;
    if (!in.read(reinterpret_cast<char*>(&len), 4))
      throw Error(path + ": truncated inside token " + std::to_string(pieces_.size()));
    if (len < 0 || len > max_len)
      throw Error(path + ": token " + std::to_string(pieces_.size()) + " has length " + std::to_string(len) +
                  " (max_token_length " + std::to_string(max_len) + ")");
    std::string piece(static_cast<std::size_t>(len), '\0');
    if (len && !in.read(piece.data(), len)) throw Error(path + ": truncated inside token " + std::to_string(pieces_.size()));
    lookup_.emplace(piece, static_cast<int>(pieces_.size()));
    pieces_.push_back(std::move(piece));
    scores_.push_back(score);
  }
  if (static_cast<int>(pieces_.size()) != vocab_size)
    throw Error(path + ": has " + std::to_string(pieces_.size()) + " tokens but the model's vocabulary has " +
                std::to_string(vocab_size));
  if (vocab_size < 259) throw Error(path + ": fewer than 259 tokens: no room for the 256 byte fallbacks");
}

std::vector<int> Tokenizer::encode(const std::string& text) const {
  std::vector<int> tokens;
  if (text.empty()) return tokens;
  if (auto it = lookup_.find(" "); it != lookup_.end()) tokens.push_back(it->second);  // dummy prefix
  for (std::size_t i = 0; i < text.size();) {
    // One UTF-8 character: a lead byte and its continuation bytes (at most 4 in all).
    std::size_t len = 1;
    while (i + len < text.size() && len < 4 && (static_cast<unsigned char>(text[i + len]) & 0xC0) == 0x80) ++len;
    const std::string ch = text.substr(i, len);
    if (auto it = lookup_.find(ch); it != lookup_.end()) {
      tokens.push_back(it->second);
    } else {
      for (char b : ch) tokens.push_back(static_cast<unsigned char>(b) + 3);  // byte fallback
    }
    i += len;
  }
  while (true) {  // merge the best-scoring adjacent pair until none merges
    float best = -1e30f;
    int best_id = -1;
    std::size_t best_at = 0;
    for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
      auto it = lookup_.find(pieces_[tokens[i]] + pieces_[tokens[i + 1]]);
      if (it != lookup_.end() && scores_[it->second] > best) {
        best = scores_[it->second];
        best_id = it->second;
        best_at = i;
      }
    }
    if (best_id < 0) break;
    tokens[best_at] = best_id;
    tokens.erase(tokens.begin() + static_cast<std::ptrdiff_t>(best_at) + 1);
  }
  return tokens;
}

std::string Tokenizer::decode(int previous, int token) const {
  if (token < 0 || token >= size()) throw Error("decode: token " + std::to_string(token) + " outside the vocabulary");
  std::string piece = pieces_[token];
  if (previous == kBos && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
  unsigned byte;
  if (piece.size() == 6 && std::sscanf(piece.c_str(), "<0x%02X>", &byte) == 1) return std::string(1, static_cast<char>(byte));
  return piece;
}

std::vector<int> tokenize_file(const Tokenizer& tok, const std::string& path, int seq_len, int min_text_tokens) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read the text file");
  std::stringstream ss;
  ss << in.rdbuf();
  std::vector<int> tokens{Tokenizer::kBos};
  for (int t : tok.encode(ss.str())) tokens.push_back(t);
  if (static_cast<int>(tokens.size()) > seq_len)
    throw Error(path + ": " + std::to_string(tokens.size()) + " tokens (with BOS) exceed the model's seq_len " +
                std::to_string(seq_len) + "; shorten the text (deltapq does not window)");
  if (static_cast<int>(tokens.size()) - 1 < min_text_tokens)
    throw Error(path + ": " + std::to_string(tokens.size() - 1) + " tokens of text; need at least " +
                std::to_string(min_text_tokens));
  return tokens;
}

}  // namespace dpq::model
