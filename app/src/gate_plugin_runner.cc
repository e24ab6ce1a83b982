// The gate's plugin property runner: a user's kernel behind deltapq/gate_plugin.h, driven by RapidCheck.
#include "deltapq/app/gate_plugin_runner.h"

#include <dlfcn.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <rapidcheck.h>

#include "deltapq/core/atomic_file.h"
#include "deltapq/core/error.h"
#include "deltapq/gate_plugin.h"
#include "gate_internal.h"

namespace dpq::app {
namespace {

using InfoFn = const dpq_gate_info* (*)();
using EncodeFn = int (*)(const float*, size_t, int32_t*, float*, uint8_t*, float*, uint8_t*);
using DecodeFn = int (*)(const int32_t*, const float*, const uint8_t*, const float*, size_t, float*);

class Plugin {
 public:
  explicit Plugin(const std::string& path) : path_(path) {
    handle_ = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_) {
      const char* e = ::dlerror();
      throw Error(path + ": cannot load the plugin: " + (e ? e : "unknown dlopen error"));
    }
    const auto info = reinterpret_cast<InfoFn>(sym("dpq_gate_info_v1", true));
    encode = reinterpret_cast<EncodeFn>(sym("dpq_gate_encode_v1", true));
    decode = reinterpret_cast<DecodeFn>(sym("dpq_gate_decode_v1", false));
    info_ = info();
    if (!info_) throw Error(path + ": dpq_gate_info_v1() returned NULL");
    if (info_->abi_version != DPQ_GATE_ABI_VERSION)
      throw Error(path + ": the plugin declares ABI version " + std::to_string(info_->abi_version) + "; this deltapq speaks version " +
                  std::to_string(DPQ_GATE_ABI_VERSION));
    if (info_->has_decode && !decode) throw Error(path + ": has_decode = 1 but dpq_gate_decode_v1 is not exported");
  }
  ~Plugin() {
    if (handle_) ::dlclose(handle_);
  }
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;
  const dpq_gate_info& info() const { return *info_; }
  EncodeFn encode = nullptr;
  DecodeFn decode = nullptr;

 private:
  void* sym(const char* name, bool required) {
    void* p = ::dlsym(handle_, name);
    if (!p && required) throw Error(path_ + ": the plugin does not export " + name + " (see deltapq/gate_plugin.h)");
    return p;
  }
  std::string path_;
  void* handle_ = nullptr;
  const dpq_gate_info* info_ = nullptr;
};

// Memory shared with a child process (the outputs of one call), page-granular, zero-initialised.
class SharedBytes {
 public:
  explicit SharedBytes(std::size_t n) : n_(std::max<std::size_t>(n, 1)) {
    p_ = ::mmap(nullptr, n_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p_ == MAP_FAILED) throw Error("gate: cannot map " + std::to_string(n_) + " bytes of shared memory: " + std::strerror(errno));
  }
  ~SharedBytes() { ::munmap(p_, n_); }
  SharedBytes(const SharedBytes&) = delete;
  SharedBytes& operator=(const SharedBytes&) = delete;
  template <class T>
  T* at(std::size_t byte_offset) const {
    return reinterpret_cast<T*>(static_cast<char*>(p_) + byte_offset);
  }

 private:
  std::size_t n_;
  void* p_;
};

// Runs `call` (which returns the plugin's status) in a child process when `fork` is set: a crash, a
// hang or an exit becomes a message instead of taking deltapq down. Empty: the call returned 0.
std::string isolated(const std::function<int()>& call, const GatePluginOptions& o, const char* what) {
  if (!o.fork) {
    const int st = call();
    return st == 0 ? "" : std::string(what) + " returned " + std::to_string(st);
  }
  SharedBytes status(sizeof(int) * 2);
  status.at<int>(0)[0] = 0;
  status.at<int>(0)[1] = 0;  // 1 once the call returned
  std::cout.flush();
  std::cerr.flush();
  const pid_t pid = ::fork();
  if (pid < 0) throw Error(std::string("gate: cannot fork to isolate the plugin's ") + what + ": " + std::strerror(errno));
  if (pid == 0) {
    ::signal(SIGALRM, SIG_DFL);
    ::alarm(static_cast<unsigned>(o.timeout_seconds));
    const int st = call();
    status.at<int>(0)[0] = st;
    status.at<int>(0)[1] = 1;
    ::_exit(0);
  }
  int ws = 0;
  while (::waitpid(pid, &ws, 0) < 0)
    if (errno != EINTR) throw Error(std::string("gate: waiting for the plugin's ") + what + ": " + std::strerror(errno));
  if (WIFSIGNALED(ws)) {
    const int sig = WTERMSIG(ws);
    if (sig == SIGALRM) return std::string(what) + " did not return within " + std::to_string(o.timeout_seconds) + " s";
    const char* name = ::sigabbrev_np(sig);
    return std::string(what) + " crashed (SIG" + (name ? name : std::to_string(sig).c_str()) + ")";
  }
  if (!status.at<int>(0)[1]) return std::string(what) + " exited the process (status " + std::to_string(WEXITSTATUS(ws)) + ")";
  const int st = status.at<int>(0)[0];
  return st == 0 ? "" : std::string(what) + " returned " + std::to_string(st);
}

// One row of a batch as RapidCheck generates and shrinks it: kind index (0 = random; shrinks toward
// it), the seed of its values, and the index that picks its boundary / threshold / centroid.
struct RowSpec {
  int kind = 0;
  std::uint32_t seed = 0;
  int index = 0;
};
void showValue(const RowSpec& r, std::ostream& os) { os << "{kind " << r.kind << ", seed " << r.seed << ", index " << r.index << "}"; }

std::vector<GateRowKind> edge_kinds(GateFamily f) {
  using K = GateRowKind;
  std::vector<K> k{K::boundary, K::boundary_up, K::boundary_down, K::zero, K::signed_zeros, K::subnormal, K::near_flt_max, K::nan, K::inf};
  if (f == GateFamily::scalar) k.insert(k.end(), {K::clip_high, K::clip_low, K::clip_beyond});
  if (f == GateFamily::turbo) k.push_back(K::huge_norm);
  if (f == GateFamily::pq) k.push_back(K::clip_high);  // a copy of a centroid
  return k;
}

// Kind index i: the first half of the range is random rows (so batches mix), the rest the edge kinds.
GateRowKind kind_of(const std::vector<GateRowKind>& edges, int i) {
  const int n = static_cast<int>(edges.size());
  return i < n ? GateRowKind::random : edges[static_cast<std::size_t>(i - n)];
}

struct Outcome {
  std::string what;  // empty: passed
  GateReport report;
};

// Encodes (and decodes) one batch through the plugin and checks it.
Outcome evaluate(Plugin& plugin, const GateDesign& g, const std::vector<float>& x, std::size_t n, const GatePluginOptions& o) {
  const std::size_t d = static_cast<std::size_t>(g.dim()), c = static_cast<std::size_t>(g.codes_per_row()),
                    m = static_cast<std::size_t>(g.qjl_rows());
  const bool turbo = g.family == GateFamily::turbo;
  // Outputs, in shared memory, pre-filled with sentinels an honest kernel overwrites.
  const std::size_t off_norms = n * c * 4, off_res = off_norms + n * 4, off_signs = off_res + n * 4, off_ref = off_signs + n * m,
                    total = off_ref + n;
  SharedBytes out(total);
  std::int32_t* codes = out.at<std::int32_t>(0);
  float* norms = out.at<float>(off_norms);
  float* res = out.at<float>(off_res);
  std::uint8_t* signs = out.at<std::uint8_t>(off_signs);
  std::uint8_t* refused = out.at<std::uint8_t>(off_ref);
  std::fill(codes, codes + n * c, std::numeric_limits<std::int32_t>::min());
  std::fill(norms, norms + n, std::numeric_limits<float>::quiet_NaN());
  std::fill(res, res + n, std::numeric_limits<float>::quiet_NaN());
  std::fill(signs, signs + n * m, std::uint8_t{0xFF});
  std::fill(refused, refused + n, std::uint8_t{0});
  Outcome r;
  r.what = isolated([&] { return plugin.encode(x.data(), n, codes, turbo ? norms : nullptr, m ? signs : nullptr, m ? res : nullptr, refused); },
                    o, "encode");
  if (!r.what.empty()) return r;
  GateOutputs go;
  go.rows = n;
  go.codes.assign(codes, codes + n * c);
  if (turbo) go.norms = std::vector<float>(norms, norms + n);
  if (m) {
    go.signs = std::vector<std::uint8_t>(signs, signs + n * m);
    go.residual_norms = std::vector<float>(res, res + n);
  }
  go.refused = std::vector<bool>(refused, refused + n);
  for (std::size_t i = 0; i < n; ++i) (*go.refused)[i] = refused[i] != 0;
  if (plugin.info().has_decode) {
    // Decode the records of the rows the kernel accepted with codes in range (others are not checked).
    std::vector<std::size_t> keep;
    for (std::size_t i = 0; i < n; ++i) {
      if (refused[i] || row_status(g, x.data() + i * d) == RowStatus::must_refuse) continue;
      bool ok = true;
      for (std::size_t k = 0; k < c; ++k) ok = ok && codes[i * c + k] >= 0 && codes[i * c + k] <= g.max_code(k);
      for (std::size_t j = 0; j < m; ++j) ok = ok && signs[i * m + j] <= 1;
      if (ok) keep.push_back(i);
    }
    const std::size_t k = keep.size();
    std::vector<std::int32_t> kc(k * c);
    std::vector<float> kn(k), kr(k);
    std::vector<std::uint8_t> ks(k * m);
    for (std::size_t a = 0; a < k; ++a) {
      std::copy_n(codes + keep[a] * c, c, kc.begin() + static_cast<std::ptrdiff_t>(a * c));
      kn[a] = norms[keep[a]];
      kr[a] = res[keep[a]];
      std::copy_n(signs + keep[a] * m, m, ks.begin() + static_cast<std::ptrdiff_t>(a * m));
    }
    SharedBytes dec(k * d * 4);
    float* y = dec.at<float>(0);
    std::fill(y, y + k * d, std::numeric_limits<float>::quiet_NaN());
    if (k) {
      r.what = isolated([&] { return plugin.decode(kc.data(), turbo ? kn.data() : nullptr, m ? ks.data() : nullptr, m ? kr.data() : nullptr, k, y); },
                        o, "decode");
      if (!r.what.empty()) return r;
    }
    go.decoded = std::vector<float>(n * d, std::numeric_limits<float>::quiet_NaN());
    for (std::size_t a = 0; a < k; ++a) std::copy_n(y + a * d, d, go.decoded->begin() + static_cast<std::ptrdiff_t>(keep[a] * d));
  }
  r.report = check_gate(g, x.data(), n, go);
  if (!r.report.passes()) r.what = "wrong outputs";
  return r;
}

std::string design_mismatch(const dpq_gate_info& info, const GateDesign& g) {
  const std::string fam = info.family ? info.family : "";
  if (fam != to_string(g.family)) return "declares family '" + fam + "' but its design is " + to_string(g.family);
  if (info.dim != g.dim()) return "declares dim " + std::to_string(info.dim) + " but its design has dim " + std::to_string(g.dim());
  int bits = 0;
  if (g.family == GateFamily::scalar) bits = *std::max_element(g.scalar.design.bits.begin(), g.scalar.design.bits.end());
  if (g.family == GateFamily::turbo) bits = g.turbo.bits;
  if (g.family == GateFamily::pq) bits = g.pq.bits;
  if (info.bits != bits) return "declares bits " + std::to_string(info.bits) + " but its design has " + std::to_string(bits);
  return "";
}

}  // namespace

GatePluginReport run_gate_plugin(const std::string& library, const GatePluginOptions& o) {
  if (o.cases < 1 || o.max_batch < 1 || o.timeout_seconds < 1) throw Error("gate: --cases, --max-batch and --timeout must be >= 1");
  Plugin plugin(library);
  GatePluginReport rep;
  rep.library = library;
  rep.name = plugin.info().name ? plugin.info().name : "(unnamed)";
  if (o.design_path) {
    rep.design = read_gate_design(*o.design_path);
  } else {
    if (!plugin.info().design_json) throw Error(library + ": the plugin declares no design_json (or pass --design FILE)");
    rep.design = parse_gate_design(plugin.info().design_json, library + ": its declared design");
    const std::string mismatch = design_mismatch(plugin.info(), rep.design);
    if (!mismatch.empty()) throw Error(library + ": the plugin " + mismatch);
  }
  const GateDesign& g = rep.design;
  rep.decode_checked = plugin.info().has_decode != 0;
  rep.seed = o.seed ? *o.seed : std::random_device{}() * 0x100000000ULL + std::random_device{}();
  const std::vector<GateRowKind> edges = edge_kinds(g.family);
  const int kinds = 2 * static_cast<int>(edges.size());
  const std::size_t d = static_cast<std::size_t>(g.dim());
  std::optional<GatePluginFailure> last;
  auto realize = [&](const std::vector<RowSpec>& batch, std::vector<float>& x, std::vector<std::string>& names) {
    x.clear();
    names.clear();
    for (const RowSpec& s : batch) {
      const GateRowKind k = kind_of(edges, s.kind);
      const std::vector<float> row = gate_row(g, k, s.seed, s.index);
      x.insert(x.end(), row.begin(), row.end());
      names.emplace_back(to_string(k));
    }
  };
  // Full-range draws at every size (RapidCheck scales inRange with the size, which would keep the
  // edge kinds out of the early, small batches); shrinking still goes toward kind 0 (random), index 0.
  const auto gen_row = rc::gen::construct<RowSpec>(rc::gen::resize(100, rc::gen::inRange(0, kinds)),
                                                   rc::gen::resize(100, rc::gen::arbitrary<std::uint32_t>()),
                                                   rc::gen::resize(100, rc::gen::inRange(0, 64)));
  const auto gen_batch = rc::gen::nonEmpty(rc::gen::container<std::vector<RowSpec>>(gen_row));
  const auto property = [&] {
    const std::vector<RowSpec> batch = *gen_batch;
    std::vector<float> x;
    std::vector<std::string> names;
    realize(batch, x, names);
    Outcome out = evaluate(plugin, g, x, batch.size(), o);
    rep.rows_checked += batch.size();
    rep.codes.exact += out.report.codes.exact;
    rep.codes.acceptable += out.report.codes.acceptable;
    rep.codes.wrong += out.report.codes.wrong;
    rep.signs.exact += out.report.signs.exact;
    rep.signs.acceptable += out.report.signs.acceptable;
    rep.signs.wrong += out.report.signs.wrong;
    if (!out.what.empty()) last = GatePluginFailure{out.what, x, names, out.report};
    RC_ASSERT(out.what.empty());
  };
  // RapidCheck prints its global configuration (a random seed we do not use) when first touched:
  // load it with std::cerr silenced; a malformed RC_PARAMS in the environment is bad input.
  {
    std::ostringstream sink;
    std::streambuf* saved = std::cerr.rdbuf(sink.rdbuf());
    try {
      (void)rc::detail::configuration();
    } catch (const std::exception& e) {
      std::cerr.rdbuf(saved);
      throw Error(std::string("gate: RapidCheck's RC_PARAMS environment variable: ") + e.what());
    }
    std::cerr.rdbuf(saved);
  }
  rc::detail::TestParams params;
  params.seed = rep.seed;
  params.maxSuccess = o.cases;
  params.maxSize = o.max_batch;
  const auto result = rc::detail::checkTestable(property, rc::detail::TestMetadata{}, params);
  if (result.is<rc::detail::FailureResult>()) {
    const auto& f = result.get<rc::detail::FailureResult>();
    rep.cases = f.numSuccess;
    if (!last) throw Error("gate: RapidCheck reported a failure the runner did not see: " + f.description);
    rep.failure = std::move(last);
  } else if (result.is<rc::detail::SuccessResult>()) {
    rep.cases = result.get<rc::detail::SuccessResult>().numSuccess;
  } else {
    std::ostringstream ss;
    rc::detail::printResultMessage(result, ss);
    throw Error("gate: RapidCheck could not run the property: " + ss.str());
  }
  (void)d;
  return rep;
}

std::string to_json(const GatePluginReport& r) {
  using json = nlohmann::ordered_json;
  json j{{"mode", "plugin"},
         {"library", r.library},
         {"name", r.name},
         {"family", to_string(r.design.family)},
         {"dim", r.design.dim()},
         {"seed", std::to_string(r.seed)},
         {"verdict", r.passes() ? "passes" : "fails"},
         {"batches_passed", r.cases},
         {"rows_checked", r.rows_checked},
         {"decode_checked", r.decode_checked},
         {"codes", {{"exact", r.codes.exact}, {"acceptable", r.codes.acceptable}, {"wrong", r.codes.wrong}}}};
  if (r.signs.exact + r.signs.acceptable + r.signs.wrong)
    j["qjl_signs"] = {{"exact", r.signs.exact}, {"acceptable", r.signs.acceptable}, {"wrong", r.signs.wrong}};
  if (r.failure) {
    const std::size_t d = static_cast<std::size_t>(r.design.dim()), n = r.failure->row_kinds.size();
    json rows = json::array();
    for (std::size_t i = 0; i < n; ++i) {
      json row = json::array();
      for (std::size_t k = 0; k < d; ++k) {
        const float v = r.failure->rows[i * d + k];
        if (std::isfinite(v)) row.push_back(static_cast<double>(v));
        else row.push_back(std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
      }
      rows.push_back({{"kind", r.failure->row_kinds[i]}, {"values", row}});
    }
    j["counterexample"] = {{"what", r.failure->what}, {"rows", rows}, {"check", detail::gate_report_json(r.failure->report)}};
  }
  j["design"] = json::parse(gate_design_json(r.design));
  return j.dump(2) + "\n";
}

void print_text(const GatePluginReport& r, std::ostream& os) {
  os << "gate --plugin " << r.library << "\n  kernel: " << r.name << " (" << to_string(r.design.family) << ", dim " << r.design.dim()
     << (r.decode_checked ? ", encode + decode" : ", encode only") << ")\n";
  os << "  " << r.cases << " batches passed; " << r.rows_checked << " rows checked; codes " << r.codes.exact << " exact, "
     << r.codes.acceptable << " acceptable, " << r.codes.wrong << " wrong";
  if (r.signs.exact + r.signs.acceptable + r.signs.wrong)
    os << "; QJL signs " << r.signs.exact << " exact, " << r.signs.acceptable << " acceptable, " << r.signs.wrong << " wrong";
  os << "\n";
  if (!r.failure) {
    os << "  verdict: passes (seed " << r.seed << ")\n";
    return;
  }
  const auto& f = *r.failure;
  const std::size_t d = static_cast<std::size_t>(r.design.dim());
  os << "  verdict: FAILS -- " << f.what << "\n";
  os << "  minimal counterexample (shrunk by RapidCheck): " << f.row_kinds.size() << " row" << (f.row_kinds.size() == 1 ? "" : "s") << "\n";
  for (std::size_t i = 0; i < f.row_kinds.size() && i < 8; ++i) {
    os << "    row " << i << " (" << f.row_kinds[i] << "):";
    for (std::size_t k = 0; k < d && k < 8; ++k) os << " " << f.rows[i * d + k];
    if (d > 8) os << " ... (" << d << " values; --json has them all)";
    os << "\n";
  }
  if (f.what == "wrong outputs") print_text(f.report, "  check of the counterexample", os);
  os << "  reproduce: deltapq gate --plugin " << r.library << " --seed " << r.seed << " (with the same --cases and --max-batch)\n";
}

}  // namespace dpq::app
