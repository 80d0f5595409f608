#pragma once
/// Typed helpers for the Sentinel commands rsm uses, over a `redis::connection` to a sentinel.
#include "rsm/address.hpp"
#include "rsm/redis/connection.hpp"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace rsm::sentinel {

/// A Sentinel record as flat field → value pairs ("name", "ip", "port", "flags", ...).
using fields = std::map<std::string, std::string, std::less<>>;

/// The fields of SENTINEL MASTER that rsm decides on, typed.
struct master_view {
  std::string name;
  address addr;
  std::set<std::string, std::less<>> flags;  // master, s_down, o_down, failover_in_progress...
  long long config_epoch = 0;
  long long num_replicas = 0;
  long long num_other_sentinels = 0;
  long long quorum = 0;
  std::string failover_state;

  bool has_flag(std::string_view f) const { return flags.find(f) != flags.end(); }
};

/// Turns a flat [k1, v1, k2, v2, ...] reply into fields.
result<fields> to_fields(const resp::reply& r);
result<master_view> to_master_view(const fields& f);

awaitable<result<std::vector<fields>>> async_masters(redis::connection& c);
/// SENTINEL MASTER name (errc::error_reply "ERR No such master with that name" if unknown).
awaitable<result<fields>> async_master(redis::connection& c, std::string name);
/// SENTINEL get-master-addr-by-name: the address, or nothing when the name is not monitored.
awaitable<result<std::optional<address>>> async_get_master_addr(redis::connection& c,
                                                                std::string name);
awaitable<result<std::vector<fields>>> async_replicas(redis::connection& c, std::string name);
awaitable<result<std::vector<fields>>> async_sentinels(redis::connection& c, std::string name);
/// SENTINEL CKQUORUM: the OK text, or errc::error_reply with the NOQUORUM text.
awaitable<result<std::string>> async_ckquorum(redis::connection& c, std::string name);
awaitable<result<void>> async_monitor(redis::connection& c, std::string name, address master,
                                      int quorum);
awaitable<result<void>> async_remove(redis::connection& c, std::string name);
/// SENTINEL SET name k1 v1 [k2 v2 ...].
awaitable<result<void>> async_set(redis::connection& c, std::string name,
                                  std::vector<std::pair<std::string, std::string>> settings);
/// SENTINEL RESET pattern: how many masters were reset.
awaitable<result<long long>> async_reset(redis::connection& c, std::string pattern);
awaitable<result<void>> async_failover(redis::connection& c, std::string name);

}  // namespace rsm::sentinel
