#include "deltapq/app/kv_source.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>

#include "deltapq/core/error.h"

namespace dpq::app {
namespace {

std::string shape_str(const std::vector<std::size_t>& s) {
  std::string r = "(";
  for (std::size_t k = 0; k < s.size(); ++k) r += (k ? ", " : "") + std::to_string(s[k]);
  return r + (s.size() == 1 ? ",)" : ")");
}

std::vector<char> parse_axes(const std::string& text) {
  std::vector<char> axes;
  std::set<char> seen;
  std::size_t i = 0;
  while (i <= text.size()) {
    const std::size_t j = std::min(text.find(',', i), text.size());
    const std::string item = text.substr(i, j - i);
    if (item.size() != 1 || std::string("LHTDSB").find(item[0]) == std::string::npos)
      throw Error("--layout " + text + ": '" + item + "' is not an axis (L layer, H head, T token, D dim, S k/v stack, B batch)");
    if (!seen.insert(item[0]).second) throw Error("--layout " + text + ": axis " + item + " appears twice");
    axes.push_back(item[0]);
    i = j + 1;
  }
  if (!seen.count('T') || !seen.count('D')) throw Error("--layout " + text + ": needs a T (token) and a D (dim) axis");
  return axes;
}

struct Slice {
  const NamedTensor* tensor = nullptr;
  std::vector<char> axes;
  std::vector<std::size_t> fixed;  // index of every non-T/D axis (unused entries for T, D)
};

}  // namespace

const KvFile* KvStreams::find(int layer, int head, const std::string& kind) const {
  for (const KvFile& f : files)
    if (f.layer == layer && f.head == head && f.kind == kind) return &f;
  return nullptr;
}

KvStreams kv_streams(const KvManifest& manifest) {
  KvStreams s;
  s.input = manifest.dir;
  s.files = manifest.files;
  s.has_queries = manifest.has_queries;
  s.queries = manifest.queries;
  auto m = std::make_shared<KvManifest>(manifest);
  // Streams name their full path in messages; the loader maps it back to the manifest's entry.
  for (KvFile& f : s.files) f.path = manifest.resolve(f.path);
  for (KvQuery& q : s.queries) q.path = manifest.resolve(q.path);
  auto by_full = std::make_shared<std::map<std::string, KvArray>>();
  for (const KvFile& f : manifest.files) (*by_full)[manifest.resolve(f.path)] = f;
  for (const KvQuery& q : manifest.queries) (*by_full)[manifest.resolve(q.path)] = q;
  s.load = [m, by_full](const KvFile& f) { return load_stream(*m, by_full->at(f.path)); };
  s.load_query = [m, by_full](const KvQuery& q) { return load_stream(*m, by_full->at(q.path)); };
  return s;
}

KvName parse_kv_name(const std::string& name, bool keys_pre) {
  std::vector<std::string> tokens;
  std::string cur;
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c))) cur.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    else if (!cur.empty()) tokens.push_back(cur), cur.clear();
  }
  if (!cur.empty()) tokens.push_back(cur);
  // Split a letter run from a trailing number ("layer3", "k0") and drop the container "past_key_values".
  std::vector<std::string> t;
  for (const std::string& s : tokens) {
    std::size_t k = s.size();
    while (k > 0 && std::isdigit(static_cast<unsigned char>(s[k - 1]))) --k;
    if (k > 0 && k < s.size()) t.push_back(s.substr(0, k)), t.push_back(s.substr(k));
    else t.push_back(s);
  }
  for (std::size_t i = 0; i + 2 < t.size(); ++i)
    if (t[i] == "past" && t[i + 1] == "key" && t[i + 2] == "values") {
      t.erase(t.begin() + static_cast<std::ptrdiff_t>(i), t.begin() + static_cast<std::ptrdiff_t>(i + 3));
      break;
    }
  KvName r;
  bool key = false, value = false, pre = false, query = false;
  std::vector<std::pair<std::size_t, int>> ints;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const std::string& s = t[i];
    if (s == "q" || s == "query" || s == "queries" || s == "wq") query = true;
    else if (s == "k" || s == "key" || s == "keys" || s == "wk") key = true;
    else if (s == "v" || s == "value" || s == "values" || s == "wv") value = true;
    else if (s == "proj" || s == "pre" || s == "prerope") pre = true;
    else if (std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) && s.size() <= 7)
      ints.push_back({i, std::stoi(s)});
  }
  if (!key && !value && ints.size() == 2 && (ints[1].second == 0 || ints[1].second == 1)) {
    // past_key_values.L.I: the legacy tuple (keys, values) per layer.
    r.layer = ints[0].second;
    (ints[1].second == 0 ? key : value) = true;
    ints.pop_back();
  }
  if (int(key) + int(value) + int(query) == 1) r.kind = value ? "v" : query ? "q" : (pre || keys_pre ? "k_pre" : "k_post");
  if (!r.layer) {
    if (ints.size() == 1) r.layer = ints[0].second;
    else
      for (const auto& [i, v] : ints)
        if (i > 0 && (t[i - 1] == "layer" || t[i - 1] == "layers" || t[i - 1] == "block" || t[i - 1] == "blocks" ||
                      t[i - 1] == "l" || t[i - 1] == "h"))
          r.layer = v;
  }
  return r;
}

KvStreams kv_streams(std::shared_ptr<const std::vector<NamedTensor>> tensors, const std::string& input, const KvLayout& layout) {
  if (!tensors || tensors->empty()) throw Error(input + ": holds no tensor");
  if (layout.kind && *layout.kind != "k_pre" && *layout.kind != "k_post" && *layout.kind != "v")
    throw Error("--kind " + *layout.kind + " is not one of k_pre, k_post, v (a query tensor is named q / query)");
  KvStreams out;
  out.input = input;
  auto slices = std::make_shared<std::map<std::string, Slice>>();
  std::set<std::tuple<int, int, std::string>> seen;
  for (const NamedTensor& t : *tensors) {
    const std::string where = input + (t.name.empty() ? "" : " (tensor '" + t.name + "')");
    const std::vector<std::size_t>& shape = t.array.shape;
    std::vector<char> axes;
    if (layout.axes) axes = parse_axes(*layout.axes);
    else if (shape.size() == 2) axes = {'T', 'D'};
    else
      throw Error(where + ": shape " + shape_str(shape) + " has rank " + std::to_string(shape.size()) +
                  "; say what each axis is with --layout, e.g. --layout L,H,T,D or B,H,T,D (layout= in Python)");
    if (axes.size() != shape.size())
      throw Error(where + ": shape " + shape_str(shape) + " has rank " + std::to_string(shape.size()) + " but --layout " +
                  *layout.axes + " names " + std::to_string(axes.size()) + " axes");
    const KvName nm = parse_kv_name(t.name, layout.keys_pre);
    const auto has = [&](char a) { return std::find(axes.begin(), axes.end(), a) != axes.end(); };
    const auto extent = [&](char a) { return shape[static_cast<std::size_t>(std::find(axes.begin(), axes.end(), a) - axes.begin())]; };
    std::optional<int> layer = nm.layer;
    std::optional<std::string> kind = layout.kind ? layout.kind : nm.kind;
    if (!has('L') && !layer) {
      if (tensors->size() == 1) layer = 0;
      else
        throw Error(where + ": no layer axis in the layout and no layer number in the name (names like "
                    "'model.layers.3.self_attn.k_proj', 'k_cache[3]' or 'past_key_values.3.0' carry one)");
    }
    if (!has('S') && !kind)
      throw Error(where + ": no k/v axis (S) in the layout and the name does not say keys or values; name the kind "
                  "with --kind k_post|k_pre|v (kind= in Python), or names like 'k_cache[3]', 'value_cache.3'");
    if (has('S') && extent('S') > 2) throw Error(where + ": axis S (k/v) has extent " + std::to_string(extent('S')) + "; expected 1 or 2");
    std::size_t batch = 0;
    if (has('B')) {
      const std::size_t nb = extent('B');
      if (layout.batch) {
        if (*layout.batch >= nb)
          throw Error(where + ": --batch " + std::to_string(*layout.batch) + " but axis B has extent " + std::to_string(nb));
        batch = *layout.batch;
      } else if (nb != 1) {
        throw Error(where + ": axis B has extent " + std::to_string(nb) + "; pick one sequence with --batch I (batch= in Python)");
      }
    }
    if (extent('T') < 1 || extent('D') < 1) throw Error(where + ": empty T or D axis");
    // Enumerate every combination of the L, H, S axes.
    const std::size_t nl = has('L') ? extent('L') : 1, nh = has('H') ? extent('H') : 1, ns = has('S') ? extent('S') : 1;
    for (std::size_t l = 0; l < nl; ++l)
      for (std::size_t h = 0; h < nh; ++h)
        for (std::size_t s = 0; s < ns; ++s) {
          KvFile f;
          f.layer = has('L') ? static_cast<int>(l) : *layer;
          f.head = static_cast<int>(h);
          f.kind = has('S') ? (s == 0 ? (layout.keys_pre ? "k_pre" : "k_post") : "v") : *kind;
          std::string idx;
          Slice sl{&t, axes, std::vector<std::size_t>(axes.size(), 0)};
          for (std::size_t a = 0; a < axes.size(); ++a) {
            const char ax = axes[a];
            const std::size_t v = ax == 'L' ? l : ax == 'H' ? h : ax == 'S' ? s : ax == 'B' ? batch : 0;
            sl.fixed[a] = v;
            idx += (a ? "," : "") + (ax == 'T' || ax == 'D' ? std::string(":") : std::to_string(v));
          }
          f.path = input + (t.name.empty() ? "" : ":" + t.name) + (nl * nh * ns * (has('B') ? 2 : 1) > 1 ? "[" + idx + "]" : "");
          if (!seen.insert({f.layer, f.head, f.kind}).second)
            throw Error(where + ": layer " + std::to_string(f.layer) + ", head " + std::to_string(f.head) + ", kind " + f.kind +
                        " is given twice (by this tensor and an earlier one)");
          (*slices)[f.path] = sl;
          if (f.kind == "q") {
            KvQuery q;
            q.path = f.path;
            q.layer = f.layer;
            q.query_head = f.head;
            out.queries.push_back(q);
          } else {
            out.files.push_back(f);
          }
        }
  }
  std::sort(out.files.begin(), out.files.end(), [](const KvFile& a, const KvFile& b) {
    return std::tie(a.layer, a.head, a.kind) < std::tie(b.layer, b.head, b.kind);
  });
  // Queries attend through KV head query_head / (query heads / KV heads) of their layer (grouped-query
  // attention; equal counts: one to one).
  out.has_queries = !out.queries.empty();
  for (KvQuery& q : out.queries) {
    std::set<int> kv_heads, q_heads;
    for (const KvFile& f : out.files)
      if (f.layer == q.layer && f.kind == "k_post") kv_heads.insert(f.head);
    for (const KvQuery& o : out.queries)
      if (o.layer == q.layer) q_heads.insert(o.query_head);
    if (kv_heads.empty()) throw Error(q.path + ": queries of layer " + std::to_string(q.layer) + " but no post-RoPE keys of that layer");
    if (q_heads.size() % kv_heads.size())
      throw Error(q.path + ": layer " + std::to_string(q.layer) + " has " + std::to_string(q_heads.size()) + " query heads and " +
                  std::to_string(kv_heads.size()) + " KV heads: not a grouped-query layout");
    q.kv_head = q.query_head / static_cast<int>(q_heads.size() / kv_heads.size());
  }
  const auto load_path = [tensors, slices](const std::string& path) {
    const Slice& sl = slices->at(path);
    const std::vector<std::size_t>& shape = sl.tensor->array.shape;
    // C-order strides.
    std::vector<std::size_t> stride(shape.size(), 1);
    for (std::size_t a = shape.size() - 1; a-- > 0;) stride[a] = stride[a + 1] * shape[a + 1];
    std::size_t base = 0, ta = 0, da = 0;
    for (std::size_t a = 0; a < shape.size(); ++a) {
      if (sl.axes[a] == 'T') ta = a;
      else if (sl.axes[a] == 'D') da = a;
      else base += sl.fixed[a] * stride[a];
    }
    pipeline::Stream s{shape[ta], shape[da], {}};
    s.data.resize(s.rows * s.dim);
    const std::vector<double>& v = sl.tensor->array.data;
    for (std::size_t t = 0; t < s.rows; ++t)
      for (std::size_t d = 0; d < s.dim; ++d) {
        const double x = v[base + t * stride[ta] + d * stride[da]];
        const float y = static_cast<float>(x);
        if (!std::isfinite(y))
          throw Error(path + ": value " + std::to_string(x) + " at token " + std::to_string(t) + ", dim " + std::to_string(d) +
                      " overflows float32 (the pipeline codes float32 streams)");
        s.data[t * s.dim + d] = y;
      }
    return s;
  };
  out.load = [load_path](const KvFile& f) { return load_path(f.path); };
  out.load_query = [load_path](const KvQuery& q) { return load_path(q.path); };
  return out;
}

KvStreams kv_streams(const std::string& tensor_file, const KvLayout& layout) {
  TensorFile tf = read_tensor_file(tensor_file);
  auto tensors = std::make_shared<const std::vector<NamedTensor>>(std::move(tf.tensors));
  return kv_streams(tensors, tensor_file, layout);
}

KvStreams open_kv_streams(const std::string& path, const KvLayout& layout) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw Error(path + ": no such directory or file (a kvdump directory from `deltapq kvdump`, or a .npy / .npz / "
                "safetensors file)");
  if (std::filesystem::is_directory(path, ec)) {
    if (layout.axes || layout.kind || layout.batch || layout.keys_pre)
      throw Error(path + ": a kvdump directory: its manifest says what each array is (--layout, --kind, --batch and --keys are for tensor files)");
    return kv_streams(read_kv_manifest(path));
  }
  return kv_streams(path, layout);
}

}  // namespace dpq::app
