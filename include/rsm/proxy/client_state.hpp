#pragma once
/// The connection state the proxy keeps for a client itself (sans-io): HELLO's arguments and
/// client names, checked exactly as Redis 7.0 checks them, so that the errors are Redis's.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rsm::proxy {

/// Redis's string2ll: an optional '-', then digits without a leading zero (or "0" alone), in
/// range. Nothing else (no '+', no space) is an integer to Redis.
std::optional<long long> redis_integer(std::string_view s);

/// Redis's check of a CLIENT SETNAME / HELLO SETNAME name: the error reply's text (without the
/// leading '-' and the CRLF), or nothing when the name is valid ("" clears it).
std::optional<std::string> client_name_error(std::string_view name);

/// HELLO [protover [AUTH username password] [SETNAME clientname]], parsed.
struct hello_request {
  /// 2 or 3; 0: not given (the protocol stays).
  int protocol = 0;
  bool auth = false;
  std::string username;
  std::string password;
  /// The name set. Redis 7.0 sets it as it meets the option, before it checks what follows and
  /// before authentication: it holds even when `error` is set, or AUTH fails.
  std::optional<std::string> setname;
  /// The error reply's text (without '-' and CRLF), in the order Redis checks: the version,
  /// then each option in turn; empty: none. Authentication (WRONGPASS, NOAUTH) is the
  /// caller's, after this.
  std::string error;
};

/// `args` is the whole command, HELLO included.
hello_request parse_hello(const std::vector<std::string>& args);

/// Redis 7.0's reply to a command it does not have (`args`: the whole command), without the
/// leading '-' and the CRLF: the name and the first arguments up to 128 bytes, each cut at its
/// first NUL byte, CR and LF turned into spaces.
std::string unknown_command_error(const std::vector<std::string>& args);

/// Redis 7.0's reply to a subcommand `sub` that the container `container` (as Redis prints it:
/// "CLIENT") does not have, in the same form.
std::string unknown_subcommand_error(std::string_view container, std::string_view sub);

/// Redis 7.0's NOAUTH reply to HELLO from an unauthenticated client without AUTH.
inline constexpr std::string_view k_hello_noauth =
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
    "AUTH <user> <pass> option can be used to authenticate the client and select the RESP "
    "protocol version at the same time";

}  // namespace rsm::proxy
