#pragma once
/// Replies the proxy rewrites before a client sees them (sans-io).
#include <cstdint>
#include <string>
#include <string_view>

namespace rsm::proxy {

/// The server parameters whose values are secrets (Redis 7.0: requirepass, masterauth and the
/// TLS key passphrases), case-insensitive.
bool is_secret_parameter(std::string_view name);

/// The value CONFIG GET shows for a secret parameter that is set.
inline constexpr std::string_view k_redacted = "(redacted by rsm proxy)";

/// A CONFIG GET reply (RESP2 flat array or RESP3 map of parameter names and values, one whole
/// frame) with the value of every secret parameter that is set replaced by `k_redacted`.
/// Anything else (an error, an unexpected shape) comes back unchanged.
std::string redact_config_reply(std::string_view reply);

/// HELLO's reply (RESP2 array or RESP3 map) with its `id` field set to `id` (the proxy's id of
/// the client connection, as CLIENT ID gives it). Anything else comes back unchanged.
std::string hello_with_id(std::string_view reply, std::uint64_t id);

}  // namespace rsm::proxy
