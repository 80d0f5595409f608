#include "rsm/metrics/prometheus.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

namespace rsm::metrics {
namespace {

std::string escape_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

bool valid_metric_name(std::string_view n) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool valid_label_name(std::string_view n) {
  return valid_metric_name(n) && n.find(':') == std::string_view::npos;
}

}  // namespace

void exposition::add(std::string_view name, type t, std::string_view help, const labels& l,
                     double value) {
  auto it = index_.find(name);
  if (it == index_.end()) {
    it = index_.emplace(std::string(name), families_.size()).first;
    families_.push_back({std::string(name), t, std::string(help), {}});
  }
  std::string line(name);
  if (!l.empty()) {
    line += '{';
    for (std::size_t i = 0; i < l.size(); ++i) {
      if (i) line += ',';
      line += l[i].first + "=\"" + escape_label(l[i].second) + "\"";
    }
    line += '}';
  }
  line += ' ';
  line += format_value(value);
  families_[it->second].lines.push_back(std::move(line));
}

std::string exposition::text() const {
  std::string out;
  for (const auto& f : families_) {
    out += "# HELP " + f.name + " " + f.help + "\n";
    out += "# TYPE " + f.name + " " + (f.kind == type::gauge ? "gauge" : "counter") + "\n";
    for (const auto& l : f.lines) out += l + "\n";
  }
  return out;
}

const sample* parsed_exposition::find(std::string_view name,
                                      const std::map<std::string, std::string>& l) const {
  for (const auto& s : samples) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : l) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) match = false;
    }
    if (match) return &s;
  }
  return nullptr;
}

result<parsed_exposition> parse_exposition(std::string_view text) {
  parsed_exposition out;
  std::set<std::string> series;
  std::set<std::string> families_with_samples;
  int lineno = 0;
  auto bad = [&](const std::string& why) {
    return error(errc::protocol_error,
                 "prometheus text line " + std::to_string(lineno) + ": " + why);
  };
  auto family_of = [&](const std::string& name) {
    for (const char* suffix : {"_total", "_bucket", "_sum", "_count"}) {
      std::string_view n(name), s(suffix);
      if (n.size() > s.size() && n.substr(n.size() - s.size()) == s) {
        auto base = std::string(n.substr(0, n.size() - s.size()));
        if (out.types.count(base)) return base;
      }
    }
    return name;
  };
  while (!text.empty()) {
    ++lineno;
    auto nl = text.find('\n');
    if (nl == std::string_view::npos) return bad("missing final newline");
    auto line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    if (line.empty()) continue;
    if (line[0] == '#') {
      if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
        bool is_type = line[2] == 'T';
        auto rest = line.substr(7);
        auto sp = rest.find(' ');
        std::string name(rest.substr(0, sp));
        if (!valid_metric_name(name)) return bad("bad metric name '" + name + "'");
        std::string value(sp == std::string_view::npos ? "" : rest.substr(sp + 1));
        auto& m = is_type ? out.types : out.help;
        if (m.count(name))
          return bad("second " + std::string(is_type ? "TYPE" : "HELP") + " for " + name);
        if (families_with_samples.count(name)) return bad("TYPE/HELP after samples of " + name);
        if (is_type && value != "gauge" && value != "counter" && value != "histogram" &&
            value != "summary" && value != "untyped") {
          return bad("unknown type '" + value + "'");
        }
        m[name] = value;
      }
      continue;
    }
    sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = std::string(line.substr(0, i));
    if (!valid_metric_name(s.name)) return bad("bad metric name '" + s.name + "'");
    if (i < line.size() && line[i] == '{') {
      ++i;
      for (;;) {
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        auto eq = line.find('=', i);
        if (eq == std::string_view::npos) return bad("label without '='");
        std::string lname(line.substr(i, eq - i));
        if (!valid_label_name(lname)) return bad("bad label name '" + lname + "'");
        i = eq + 1;
        if (i >= line.size() || line[i] != '"') return bad("label value not quoted");
        ++i;
        std::string value;
        for (;;) {
          if (i >= line.size()) return bad("unterminated label value");
          char c = line[i++];
          if (c == '"') break;
          if (c == '\\') {
            if (i >= line.size()) return bad("bad escape");
            char e = line[i++];
            if (e == 'n') {
              value += '\n';
            } else if (e == '\\' || e == '"') {
              value += e;
            } else {
              return bad("bad escape");
            }
          } else {
            value += c;
          }
        }
        if (s.labels.count(lname)) return bad("duplicate label '" + lname + "'");
        s.labels[lname] = value;
        if (i < line.size() && line[i] == ',') ++i;
      }
    }
    if (i >= line.size() || line[i] != ' ') return bad("missing value");
    auto value_text = std::string(line.substr(i + 1));
    auto sp = value_text.find(' ');  // an optional timestamp follows
    auto v = value_text.substr(0, sp);
    if (v == "NaN") {
      s.value = std::nan("");
    } else if (v == "+Inf") {
      s.value = INFINITY;
    } else if (v == "-Inf") {
      s.value = -INFINITY;
    } else {
      char* end = nullptr;
      s.value = std::strtod(v.c_str(), &end);
      if (v.empty() || end != v.c_str() + v.size()) return bad("bad value '" + v + "'");
    }
    std::string key = s.name;
    for (const auto& [k, val] : s.labels) key += "\x01" + k + "\x02" + val;
    if (!series.insert(key).second) return bad("duplicate series " + s.name);
    families_with_samples.insert(family_of(s.name));
    out.samples.push_back(std::move(s));
  }
  return out;
}

}  // namespace rsm::metrics
