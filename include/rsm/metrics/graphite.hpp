#pragma once
/// Graphite plaintext push, compatible with the original redis-ctl: every period, one line per
/// selected INFO field of every node:
///
///     <domain>.<app>.<instanceNo>.<Section>.<field> <value> <unix_ts>
///     lain_local.redis_service_sm.1.Memory.used_memory 1024000 1472440000
///
/// where '.' in the domain and '-' in the app name become '_'.
#include "rsm/address.hpp"
#include "rsm/duration.hpp"
#include "rsm/net/asio.hpp"
#include "rsm/redis/info.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rsm::metrics {

/// The original's fields, by INFO section (with the section's original capitalisation).
const std::vector<std::pair<std::string_view, std::vector<std::string_view>>>& graphite_fields();

/// "lain_local.redis_service_sm" (just the app part when the domain is empty).
std::string graphite_prefix(std::string_view domain, std::string_view app);

/// The lines for one node; fields missing from `i` (or not numeric) are left out.
std::string graphite_lines(std::string_view prefix, int instance, const redis::info& i,
                           std::int64_t unix_ts);

/// Sends `payload` over a fresh TCP connection within `timeout`.
awaitable<result<void>> async_graphite_push(address server, std::string payload, duration timeout);

}  // namespace rsm::metrics
