// A KV cache's streams wherever they live: a kvdump directory (manifest.json), a tensor file (.npy,
// .npz, safetensors) or arrays handed over by Python. audit-stream and paper-check --kv read streams
// through this one interface.
//
// Tensors map to streams by an axis layout and their names:
//   --layout AXES   one letter per axis of every tensor, comma-separated: L (layer), H (KV head),
//                   T (token), D (head dimension), S (k/v stack: index 0 = keys, 1 = values),
//                   B (batch: extent 1, or pick one sequence with --batch I). T and D are required.
//                   Default for rank-2 tensors: T,D; a tensor of higher rank needs --layout.
//   names           a tensor whose layout has no L (or no S) takes its layer (kind) from its name:
//                   "model.layers.3.self_attn.k_proj", "k_cache[3]", "key_cache.3", "layers.3.v",
//                   "past_key_values.3.0" (the legacy tuple: .0 keys, .1 values). Keys are post-RoPE
//                   (kind k_post: what a cache holds) unless the name says k_proj / pre, or --keys pre.
//                   A tensor named q / query ("q[3]", "layers.3.query") holds post-RoPE queries (H = query
//                   heads), which paper-check --kv needs; they attend through KV head h / (Hq / Hkv).
// Examples for the dumps PyTorch users make:
//   torch cache [layers, 2, batch, heads, T, d] in one tensor          --layout L,S,B,H,T,D
//   {"k_cache[3]": [batch, heads, T, d], "v_cache[3]": ...}             --layout B,H,T,D
//   HF DynamicCache: {f"key_cache.{i}": [1, heads, T, d], f"value_cache.{i}": ...}   --layout B,H,T,D
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "deltapq/app/kvdump.h"
#include "deltapq/core/tensor_file.h"

namespace dpq::app {

struct KvStreams {
  std::string input;          // the directory, file or "<arrays>" the report names
  std::vector<KvFile> files;  // layer, head, kind; `path` says where the stream came from (for messages)
  std::function<pipeline::Stream(const KvFile&)> load;
  bool has_queries = false;   // paper-check --kv needs post-RoPE queries (kvdump writes them)
  std::vector<KvQuery> queries;
  std::function<pipeline::Stream(const KvQuery&)> load_query;
  const KvFile* find(int layer, int head, const std::string& kind) const;
};

KvStreams kv_streams(const KvManifest& manifest);

struct KvLayout {
  std::optional<std::string> axes;  // "L,H,T,D"; default T,D for rank 2
  std::optional<std::string> kind;  // every tensor is this kind (k_pre, k_post, v) when neither S nor its name says
  std::optional<std::size_t> batch; // the sequence to take along B
  bool keys_pre = false;            // --keys pre: keys named without "proj"/"pre" are pre-RoPE
};

// The streams of tensors (a file's, or arrays named by the caller). Throws dpq::Error naming the tensor
// and axis for a layout that does not fit, a name from which no layer or kind can be read, or two
// tensors that give the same (layer, head, kind).
KvStreams kv_streams(std::shared_ptr<const std::vector<NamedTensor>> tensors, const std::string& input, const KvLayout& layout);
KvStreams kv_streams(const std::string& tensor_file, const KvLayout& layout);

// The stream source of a positional argument: a directory is a kvdump, a file a tensor file.
KvStreams open_kv_streams(const std::string& path, const KvLayout& layout);

// What a tensor's name says: its layer and kind, when it says them.
struct KvName {
  std::optional<int> layer;
  std::optional<std::string> kind;  // "k_pre", "k_post", "v", "q"
};
KvName parse_kv_name(const std::string& name, bool keys_pre);

}  // namespace dpq::app
