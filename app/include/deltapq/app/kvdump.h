// The kvdump directory: a model's KV cache as one .npy per (layer, KV head, kind) plus the post-RoPE
// queries per query head, described by manifest.json. Written by `deltapq kvdump`, read by
// audit-stream and paper-check --kv (and writable by hand; schema in README.md, "kvdump format").
//
// manifest.json: {"files": [{"layer": int, "head": int, "kind": "k_pre" | "k_post" | "v", "path": str}, ...],
//                 "queries": [{"layer": int, "query_head": int, "kv_head": int, "path": str}, ...] (optional),
//                 "model", "config", "tokens" (informational)}; each entry may carry "bytes" and "fnv1a64"
// (kvdump writes them), which readers verify.
// Paths are relative to the directory and may not leave it (no absolute path, no ".." component).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "deltapq/model/llama2.h"
#include "deltapq/pipeline/pipeline.h"

namespace dpq::app {

// One array of the dump. kvdump records its size and FNV-1a 64 hash; a reader verifies them when
// present (a hand-written manifest may leave them out), so an array replaced after the dump was
// written is an error, not silently another stream.
struct KvArray {
  std::string path;  // relative to the dump directory
  std::optional<std::uint64_t> bytes, fnv1a64;
};
struct KvFile : KvArray {
  int layer = 0, head = 0;
  std::string kind;  // "k_pre", "k_post" or "v"
};
struct KvQuery : KvArray {
  int layer = 0, query_head = 0, kv_head = 0;
};
struct KvManifest {
  std::string dir;
  std::vector<KvFile> files;
  bool has_queries = false;
  std::vector<KvQuery> queries;
  // The file's full path (dir / relative path).
  std::string resolve(const std::string& relative) const;
  // The stream of a (layer, head, kind), or nullptr.
  const KvFile* find(int layer, int head, const std::string& kind) const;
};

// Throws dpq::Error naming manifest.json and the entry (index, key, value) when the manifest is missing,
// not JSON, lacks "files", has an entry of the wrong type, a path that is absolute or leaves the
// directory, or lists the same (layer, head, kind) twice.
KvManifest read_kv_manifest(const std::string& dir);

// One array of the dump as float rows (the .npy reader's checks apply, and the recorded size and hash).
pipeline::Stream load_stream(const KvManifest& manifest, const KvArray& array);

// The kvdump workflow: runs the model over `tokens` (BOS first) and writes every k_pre, k_post, v and
// query array and the manifest into out_dir.
struct KvDumpReport {
  std::string dir;
  std::size_t arrays = 0, tokens = 0, head_dim = 0;
};
KvDumpReport dump_kv(model::Llama2& llm, const std::vector<int>& tokens, const std::string& model_path,
                     const std::string& out_dir);

}  // namespace dpq::app
