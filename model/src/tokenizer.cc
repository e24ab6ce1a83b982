#include "deltapq/model/tokenizer.h"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <queue>
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
  max_token_length_ = max_len;
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
  if (vocab_size > 0 && static_cast<int>(pieces_.size()) != vocab_size)
    throw Error(path + ": has " + std::to_string(pieces_.size()) + " tokens but the model's vocabulary has " +
                std::to_string(vocab_size));
  if (pieces_.size() < 259) throw Error(path + ": fewer than 259 tokens: no room for the 256 byte fallbacks");
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
  return merge(tokens);
}

std::vector<int> Tokenizer::merge(std::vector<int> tokens) const {
  // llama2.c's rule: repeatedly merge the adjacent pair whose merged piece has the highest score
  // (the leftmost among equal scores; a score must exceed -1e30), until none merges. Done with a
  // heap of candidate pairs over a linked list, O(n log n) instead of O(n^2): every merge changes only
  // the two pairs around it; stale heap entries are recognised by node versions.
  const std::size_t n = tokens.size();
  if (n < 2) return tokens;
  std::vector<std::size_t> prev(n), next(n);
  std::vector<unsigned> version(n, 0);
  std::vector<bool> alive(n, true);
  for (std::size_t i = 0; i < n; ++i) {
    prev[i] = i == 0 ? SIZE_MAX : i - 1;
    next[i] = i + 1 == n ? SIZE_MAX : i + 1;
  }
  struct Candidate {
    float score;
    std::size_t left, right;
    unsigned left_version, right_version;
    int merged;
  };
  // Highest score first; among equal scores the leftmost (lowest position, which merges preserve).
  auto worse = [](const Candidate& a, const Candidate& b) { return a.score < b.score || (a.score == b.score && a.left > b.left); };
  std::priority_queue<Candidate, std::vector<Candidate>, decltype(worse)> heap(worse);
  auto offer = [&](std::size_t l, std::size_t r) {
    if (l == SIZE_MAX || r == SIZE_MAX) return;
    auto it = lookup_.find(pieces_[static_cast<std::size_t>(tokens[l])] + pieces_[static_cast<std::size_t>(tokens[r])]);
    if (it == lookup_.end() || !(scores_[static_cast<std::size_t>(it->second)] > -1e30f)) return;
    heap.push({scores_[static_cast<std::size_t>(it->second)], l, r, version[l], version[r], it->second});
  };
  for (std::size_t i = 0; i + 1 < n; ++i) offer(i, i + 1);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    if (!alive[c.left] || !alive[c.right] || next[c.left] != c.right || version[c.left] != c.left_version ||
        version[c.right] != c.right_version)
      continue;  // stale: one of its tokens changed since it was offered
    tokens[c.left] = c.merged;
    ++version[c.left];
    alive[c.right] = false;
    next[c.left] = next[c.right];
    if (next[c.right] != SIZE_MAX) prev[next[c.right]] = c.left;
    offer(prev[c.left], c.left);
    offer(c.left, next[c.left]);
  }
  std::vector<int> out;
  for (std::size_t i = 0; i != SIZE_MAX; i = next[i]) out.push_back(tokens[i]);
  return out;
}

std::vector<int> Tokenizer::merge_quadratic(std::vector<int> tokens) const {
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

std::vector<int> tokenize_file(const Tokenizer& tok, const std::string& path, int seq_len, int min_text_tokens,
                               std::optional<int> max_tokens) {
  if (max_tokens && (*max_tokens < 2 || *max_tokens > seq_len))
    throw Error("--max-tokens " + std::to_string(*max_tokens) + " is outside 2.." + std::to_string(seq_len) +
                " (the model's seq_len, BOS included)");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(path + ": cannot read the text file (no such file)");
  const auto bytes = std::filesystem::file_size(path, ec);
  if (ec) throw Error(path + ": cannot read the text file: " + ec.message());
  // Every token is at most max_token_length bytes: a longer text cannot fit seq_len, whatever merges.
  constexpr std::uintmax_t kMaxTextBytes = std::uintmax_t{64} << 20;
  if (max_tokens && bytes > kMaxTextBytes)
    throw Error(path + ": " + std::to_string(bytes) + " bytes; --max-tokens reads texts of up to 64 MiB (cut it first)");
  if (!max_tokens && bytes > static_cast<std::uintmax_t>(seq_len) * static_cast<std::uintmax_t>(tok.max_token_length()))
    throw Error(path + ": " + std::to_string(bytes) + " bytes cannot fit the model's seq_len " + std::to_string(seq_len) +
                " (at most " + std::to_string(tok.max_token_length()) + " bytes per token); shorten the text or pass "
                "--max-tokens N to keep its first N tokens");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read the text file");
  std::stringstream ss;
  ss << in.rdbuf();
  std::vector<int> tokens{Tokenizer::kBos};
  for (int t : tok.encode(ss.str())) tokens.push_back(t);
  if (max_tokens && static_cast<int>(tokens.size()) > *max_tokens) tokens.resize(static_cast<std::size_t>(*max_tokens));
  if (static_cast<int>(tokens.size()) > seq_len)
    throw Error(path + ": " + std::to_string(tokens.size()) + " tokens (with BOS) exceed the model's seq_len " +
                std::to_string(seq_len) + "; shorten the text or pass --max-tokens N (at most " + std::to_string(seq_len) +
                ") to keep its first N tokens");
  if (static_cast<int>(tokens.size()) - 1 < min_text_tokens)
    throw Error(path + ": " + std::to_string(tokens.size() - 1) + " tokens of text; need at least " +
                std::to_string(min_text_tokens));
  return tokens;
}

}  // namespace dpq::model
