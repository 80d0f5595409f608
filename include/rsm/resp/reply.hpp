#pragma once
/// An owned RESP2 reply value, as the control-plane client returns it.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rsm::resp {

struct reply {
  enum class kind { string, array, integer, nil, status, error };

  kind type = kind::nil;
  /// Bulk string, status or error text.
  std::string str;
  long long integer = 0;
  std::vector<reply> elements;

  static reply make_string(std::string s) { return {kind::string, std::move(s), 0, {}}; }
  static reply make_status(std::string s) { return {kind::status, std::move(s), 0, {}}; }
  static reply make_error(std::string s) { return {kind::error, std::move(s), 0, {}}; }
  static reply make_integer(long long n) { return {kind::integer, {}, n, {}}; }
  static reply make_nil() { return {}; }
  static reply make_array(std::vector<reply> e) { return {kind::array, {}, 0, std::move(e)}; }

  bool is_error() const { return type == kind::error; }
  bool is_nil() const { return type == kind::nil; }
  bool is_array() const { return type == kind::array; }
  bool is_integer() const { return type == kind::integer; }
  /// A bulk string or a status.
  bool is_text() const { return type == kind::string || type == kind::status; }
  /// The status "OK".
  bool is_ok() const { return type == kind::status && str == "OK"; }

  /// The text of a bulk string/status, or the decimal form of an integer.
  std::optional<std::string> as_text() const;
  /// An integer, or a text that is a whole decimal number.
  std::optional<long long> as_integer() const;

  /// A short readable form for logs and test failures, e.g. `["master",12,[]]`.
  std::string to_debug_string() const;

  friend bool operator==(const reply&, const reply&) = default;
};

}  // namespace rsm::resp
