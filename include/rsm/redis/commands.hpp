#pragma once
/// Typed helpers over `connection` for the commands the controller and the proxy's master
/// tracking use. An error reply becomes errc::error_reply with the server's text as detail.
/// The connection must outlive the call (as with Asio's stream operations).
#include "rsm/address.hpp"
#include "rsm/redis/connection.hpp"
#include "rsm/redis/info.hpp"
#include "rsm/redis/role.hpp"

#include <map>
#include <optional>
#include <string>

namespace rsm::redis {

/// The reply if it is not an error reply.
result<resp::reply> check(result<resp::reply> r);
/// Success for +OK, errc::error_reply / errc::unexpected_reply otherwise.
result<void> expect_ok(const result<resp::reply>& r);

awaitable<result<role_info>> async_role(connection& c);
/// INFO [section] ("" for the default sections, "all" or "everything" for more).
awaitable<result<info>> async_info(connection& c, std::string section = "");
/// REPLICAOF host port, or REPLICAOF NO ONE when `master` is empty.
awaitable<result<void>> async_replicaof(connection& c, std::optional<address> master);
awaitable<result<std::map<std::string, std::string>>> async_config_get(connection& c,
                                                                       std::string pattern);
awaitable<result<void>> async_config_set(connection& c, std::string key, std::string value);

}  // namespace rsm::redis
