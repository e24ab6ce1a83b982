#include "deltapq/app/report_csv.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "deltapq/core/atomic_file.h"
#include "deltapq/core/error.h"

namespace dpq::app {
namespace {

using json = nlohmann::ordered_json;

std::string cell(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_float()) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v.get<double>());
    return buf;
  }
  return v.dump();
}

bool scalar_array(const json& v) {
  if (!v.is_array() || v.empty()) return false;
  return std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_primitive(); });
}
bool object_array(const json& v) {
  return v.is_array() && !v.empty() && std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_object(); });
}
bool ends_with(const std::string& s, const std::string& t) { return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0; }

struct Builder {
  std::map<std::string, std::size_t> index;
  std::vector<CsvTable> tables;
  // Rows as column -> value, in column order of first appearance.
  struct Pending {
    std::vector<std::string> columns;
    std::vector<std::map<std::string, std::string>> rows;
  };
  std::vector<Pending> pending;

  Pending& table(const std::string& name) {
    auto it = index.find(name);
    if (it != index.end()) return pending[it->second];
    index[name] = tables.size();
    tables.push_back({name, {}, {}});
    pending.push_back({});
    return pending.back();
  }
  static void add(Pending& p, std::map<std::string, std::string>& row, const std::string& col, const std::string& v) {
    if (std::find(p.columns.begin(), p.columns.end(), col) == p.columns.end()) p.columns.push_back(col);
    row[col] = v;
  }

  // One object as a row of `name`; nested arrays of objects become child tables.
  void object_row(const std::string& name, const json& o, const std::vector<std::pair<std::string, std::string>>& keys) {
    std::map<std::string, std::string> row;
    Pending& p = table(name);
    for (const auto& [k, v] : keys) add(p, row, k, v);
    std::vector<std::pair<std::string, std::string>> child_keys = keys;
    for (const char* id : {"layer", "head", "kind", "id", "source", "block", "data", "d", "n", "metric"})
      if (o.contains(id) && o.at(id).is_primitive()) child_keys.push_back({id, cell(o.at(id))});
    std::vector<std::pair<std::string, const json*>> children;
    flatten(p, row, "", o, name, children);
    pending[index[name]].rows.push_back(std::move(row));
    for (const auto& [child, arr] : children)
      for (std::size_t i = 0; i < arr->size(); ++i) {
        auto ck = child_keys;
        ck.push_back({"index", std::to_string(i)});
        object_row(child, (*arr)[i], ck);
      }
  }

  void flatten(Pending& p, std::map<std::string, std::string>& row, const std::string& prefix, const json& o,
               const std::string& table_name, std::vector<std::pair<std::string, const json*>>& children) {
    for (auto it = o.begin(); it != o.end(); ++it) {
      const std::string col = prefix + it.key();
      const json& v = it.value();
      if (v.is_object()) {
        flatten(p, row, col + ".", v, table_name, children);
      } else if (object_array(v)) {
        std::string child = table_name + "_" + col;
        std::replace(child.begin(), child.end(), '.', '_');
        children.push_back({child, &v});
      } else if (v.is_array() && v.size() == 2 && scalar_array(v) && ends_with(it.key(), "_ci95")) {
        add(p, row, col + "_lo", cell(v[0]));
        add(p, row, col + "_hi", cell(v[1]));
      } else if (v.is_array()) {
        std::string joined;
        for (std::size_t i = 0; i < v.size(); ++i) joined += (i ? " " : "") + cell(v[i]);
        add(p, row, col, joined);
      } else {
        add(p, row, col, cell(v));
      }
    }
  }

  // Outside arrays of objects: scalars to summary, arrays of objects to tables, and each group of
  // equal-length number arrays of one object to a table with an index column.
  std::vector<std::string> summary_keys;
  std::map<std::string, std::string> summary;
  void add_summary(const std::string& k, const std::string& v) {
    if (!summary.count(k)) summary_keys.push_back(k);
    summary[k] = v;
  }

  void walk(const std::string& name, const json& o) {
    std::map<std::size_t, std::vector<std::string>> by_length;
    for (auto it = o.begin(); it != o.end(); ++it) {
      const std::string key = it.key();
      const std::string path = name.empty() ? key : name + "_" + key;
      const json& v = it.value();
      if (object_array(v)) {
        for (const json& e : v) object_row(path, e, {});
      } else if (v.is_object()) {
        walk(path, v);
      } else if (scalar_array(v) && !(v.size() == 2 && ends_with(key, "_ci95"))) {
        by_length[v.size()].push_back(key);
      } else if (v.is_array() && v.size() == 2) {
        add_summary((name.empty() ? "" : name + ".") + key + "_lo", cell(v[0]));
        add_summary((name.empty() ? "" : name + ".") + key + "_hi", cell(v[1]));
      } else if (!v.is_array()) {
        add_summary((name.empty() ? "" : name + ".") + key, cell(v));
      }
    }
    for (const auto& [n, keys] : by_length) {
      std::string tname = name.empty() ? keys.front() : name;
      if (by_length.size() > 1 || name.empty()) tname = (name.empty() ? "" : name + "_") + keys.front();
      Pending& p = table(tname);
      for (std::size_t i = 0; i < n; ++i) {
        std::map<std::string, std::string> row;
        add(p, row, "index", std::to_string(i));
        for (const std::string& k : keys) add(p, row, k, cell(o.at(k)[i]));
        pending[index[tname]].rows.push_back(std::move(row));
      }
    }
  }
};

std::string quote(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

}  // namespace

std::string CsvTable::text() const {
  std::string out;
  for (std::size_t i = 0; i < header.size(); ++i) out += (i ? "," : "") + quote(header[i]);
  out += "\n";
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i) out += (i ? "," : "") + quote(r[i]);
    out += "\n";
  }
  return out;
}

std::vector<CsvTable> csv_tables(const std::string& report_json) {
  const json j = json::parse(report_json);
  if (!j.is_object()) throw Error("csv: a report is a JSON object");
  Builder b;
  b.walk("", j);
  std::vector<CsvTable> out;
  CsvTable summary{"summary", {"key", "value"}, {}};
  for (const std::string& k : b.summary_keys) summary.rows.push_back({k, b.summary.at(k)});
  out.push_back(std::move(summary));
  for (std::size_t t = 0; t < b.tables.size(); ++t) {
    CsvTable tab = b.tables[t];
    const Builder::Pending& p = b.pending[t];
    {
      tab.header = p.columns;
      for (const auto& r : p.rows) {
        std::vector<std::string> row;
        for (const std::string& c : p.columns) {
          auto it = r.find(c);
          row.push_back(it == r.end() ? "" : it->second);
        }
        tab.rows.push_back(std::move(row));
      }
    }
    out.push_back(std::move(tab));
  }
  return out;
}

void write_csv_tables(const std::string& dir, const std::string& report_json) {
  const std::vector<CsvTable> tables = csv_tables(report_json);
  AtomicDirectory out(dir, "summary.csv");
  for (const CsvTable& t : tables) out.write(t.name + ".csv", t.text());
  out.commit();
}

}  // namespace dpq::app
