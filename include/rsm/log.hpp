#pragma once
/// Structured logging to stderr.
///
/// One line per event, written with a single write(2) so lines from several threads never
/// interleave. Text format:
///
///     2026/11/24 22:19:20 INFO proxy: listening addr=0.0.0.0:8889
///
/// JSON format: {"time":"2026-11-24T22:19:20.123Z","level":"info","component":"proxy",
/// "msg":"listening","addr":"0.0.0.0:8889"}
///
/// Secrets: a field whose key names a secret (password, pass, secret, token, auth) is always
/// written as "<redacted>"; callers never put secrets in the message itself.
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace rsm::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3, off = 4 };
enum class format { text, json };

/// One key=value pair of a log line.
struct field {
  std::string_view key;
  std::string value;

  field(std::string_view k, std::string v) : key(k), value(std::move(v)) {}
  field(std::string_view k, std::string_view v) : key(k), value(v) {}
  field(std::string_view k, const char* v) : key(k), value(v) {}
  template <class N>
  requires std::is_arithmetic_v<N> field(std::string_view k, N n)
      : key(k), value(std::to_string(n)) {}
};

/// Parses "debug", "info", "warn"/"warning", "error", "off".
std::optional<level> parse_level(std::string_view s);
/// Parses "text" or "json".
std::optional<format> parse_format(std::string_view s);
std::string_view to_string(level l);

void set_level(level l);
void set_format(format f);
level current_level();
bool enabled(level l);

/// Whether a field with this key is written as "<redacted>".
bool is_secret_key(std::string_view key);

/// Formats one line (with the trailing newline) without writing it. For tests.
std::string format_line(level l, std::string_view component, std::string_view msg,
                        std::initializer_list<field> fields);

void write(level l, std::string_view component, std::string_view msg,
           std::initializer_list<field> fields = {});

inline void debug(std::string_view c, std::string_view m, std::initializer_list<field> f = {}) {
  if (enabled(level::debug)) write(level::debug, c, m, f);
}
inline void info(std::string_view c, std::string_view m, std::initializer_list<field> f = {}) {
  if (enabled(level::info)) write(level::info, c, m, f);
}
inline void warn(std::string_view c, std::string_view m, std::initializer_list<field> f = {}) {
  if (enabled(level::warn)) write(level::warn, c, m, f);
}
inline void error(std::string_view c, std::string_view m, std::initializer_list<field> f = {}) {
  if (enabled(level::error)) write(level::error, c, m, f);
}

}  // namespace rsm::log
