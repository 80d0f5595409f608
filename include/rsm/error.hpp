#pragma once
/// Errors at rsm's network and protocol boundaries.
///
/// System and Asio errors (connection refused, reset, end of file) travel as they are; rsm's
/// own conditions use `rsm::errc`. `rsm::error` adds a detail text (such as the server's error
/// reply) for logs and messages; it never carries a secret.
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <ostream>
#include <string>
#include <system_error>

namespace rsm {

using boost::system::error_code;

enum class errc {
  /// Not an error.
  ok = 0,
  /// The connection was not established within the connect timeout.
  connect_timeout,
  /// No reply arrived within the command timeout.
  timed_out,
  /// The peer sent bytes that are not valid RESP.
  protocol_error,
  /// The server answered with an error reply (the detail holds its text).
  error_reply,
  /// The reply had a type or shape the caller did not expect.
  unexpected_reply,
  /// The connection is closed, or failed earlier.
  not_connected,
  /// The operation was cancelled before it completed.
  cancelled,
  /// AUTH or SELECT on connect was refused.
  handshake_failed,
  /// A bound on a buffer or queue was reached.
  buffer_full,
  /// The host name could not be resolved.
  resolve_failed,
  /// Input (configuration, address, duration) could not be parsed.
  invalid_argument,
};

/// The category of `rsm::errc`, named "rsm".
const boost::system::error_category& rsm_category() noexcept;

inline error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), rsm_category()};
}

/// An error code plus a human-readable detail (e.g. "-READONLY You can't write...").
struct error {
  error_code code;
  std::string detail;

  error() = default;
  error(error_code c) : code(c) {}             // NOLINT: implicit on purpose
  error(errc e) : code(make_error_code(e)) {}  // NOLINT
  error(error_code c, std::string d) : code(c), detail(std::move(d)) {}
  error(errc e, std::string d) : code(make_error_code(e)), detail(std::move(d)) {}

  /// "what happened: detail" for logs.
  std::string message() const;
  friend bool operator==(const error& e, errc c) { return e.code == make_error_code(c); }
  friend bool operator==(const error& a, const error& b) {
    return a.code == b.code && a.detail == b.detail;
  }
  friend std::ostream& operator<<(std::ostream& os, const error& e) { return os << e.message(); }
};

/// Throws `boost::system::system_error` for `result::value()` on an error.
[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location& loc);

/// A value or an `rsm::error`.
template <class T>
using result = boost::system::result<T, error>;

}  // namespace rsm

template <>
struct boost::system::is_error_code_enum<rsm::errc> : std::true_type {};
