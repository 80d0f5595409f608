#include "rsm/log.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace rsm::log {
namespace {

std::atomic<level> g_level{level::info};
std::atomic<format> g_format{format::text};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

// Text values with spaces, quotes or '=' are quoted so a line stays machine-splittable.
void append_text_value(std::string& out, std::string_view v) {
  bool plain = !v.empty() && std::none_of(v.begin(), v.end(), [](unsigned char c) {
    return c <= ' ' || c == '"' || c == '=' || c >= 0x7f;
  });
  if (plain) {
    out += v;
  } else {
    append_json_string(out, v);
  }
}

std::string_view upper_name(level l) {
  switch (l) {
    case level::debug:
      return "DEBUG";
    case level::info:
      return "INFO";
    case level::warn:
      return "WARN";
    case level::error:
      return "ERROR";
    case level::off:
      return "OFF";
  }
  return "?";
}

}  // namespace

std::optional<level> parse_level(std::string_view s) {
  auto l = lower(s);
  if (l == "debug") return level::debug;
  if (l == "info") return level::info;
  if (l == "warn" || l == "warning") return level::warn;
  if (l == "error") return level::error;
  if (l == "off" || l == "none") return level::off;
  return std::nullopt;
}

std::optional<format> parse_format(std::string_view s) {
  auto l = lower(s);
  if (l == "text") return format::text;
  if (l == "json") return format::json;
  return std::nullopt;
}

std::string_view to_string(level l) {
  switch (l) {
    case level::debug:
      return "debug";
    case level::info:
      return "info";
    case level::warn:
      return "warn";
    case level::error:
      return "error";
    case level::off:
      return "off";
  }
  return "?";
}

void set_level(level l) {
  g_level.store(l, std::memory_order_relaxed);
}
void set_format(format f) {
  g_format.store(f, std::memory_order_relaxed);
}
level current_level() {
  return g_level.load(std::memory_order_relaxed);
}
bool enabled(level l) {
  return l != level::off && l >= current_level();
}

bool is_secret_key(std::string_view key) {
  auto k = lower(key);
  for (std::string_view word : {"pass", "secret", "token", "auth", "credential"}) {
    if (k.find(word) != std::string::npos) return true;
  }
  return false;
}

std::string format_line(level l, std::string_view component, std::string_view msg,
                        std::initializer_list<field> fields) {
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t t = system_clock::to_time_t(now);
  std::tm tm{};
  std::string line;
  line.reserve(128);
  char ts[64];
  if (g_format.load(std::memory_order_relaxed) == format::json) {
    gmtime_r(&t, &tm);
    auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    line += "{\"time\":\"";
    line += ts;
    line += "\",\"level\":\"";
    line += to_string(l);
    line += "\",\"component\":";
    append_json_string(line, component);
    line += ",\"msg\":";
    append_json_string(line, msg);
    for (const auto& f : fields) {
      line += ',';
      append_json_string(line, f.key);
      line += ':';
      append_json_string(line, is_secret_key(f.key) ? std::string_view("<redacted>") : f.value);
    }
    line += "}\n";
  } else {
    localtime_r(&t, &tm);
    std::snprintf(ts, sizeof ts, "%04d/%02d/%02d %02d:%02d:%02d ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    line += ts;
    line += upper_name(l);
    line += ' ';
    line += component;
    line += ": ";
    line += msg;
    for (const auto& f : fields) {
      line += ' ';
      line += f.key;
      line += '=';
      append_text_value(line, is_secret_key(f.key) ? std::string_view("<redacted>") : f.value);
    }
    line += '\n';
  }
  return line;
}

void write(level l, std::string_view component, std::string_view msg,
           std::initializer_list<field> fields) {
  auto line = format_line(l, component, msg, fields);
  std::string_view rest = line;
  while (!rest.empty()) {
    auto n = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (n <= 0) break;  // stderr gone: nowhere left to report it
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace rsm::log
