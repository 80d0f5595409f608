#pragma once
/// The reply of ROLE, typed (sans-io).
#include "rsm/address.hpp"
#include "rsm/error.hpp"
#include "rsm/resp/reply.hpp"

#include <string>
#include <vector>

namespace rsm::redis {

struct role_info {
  enum class kind { master, replica, sentinel };
  struct replica_entry {
    address addr;
    long long offset = 0;
  };

  kind type = kind::master;
  /// master: its replication offset; replica: the offset it has processed (-1 before sync).
  long long offset = 0;
  /// master: its connected replicas.
  std::vector<replica_entry> replicas;
  /// replica: the master it follows, and the link state (connect, connecting, sync, connected).
  address master;
  std::string link_state;
  /// sentinel: the master names it monitors.
  std::vector<std::string> master_names;

  bool is_master() const { return type == kind::master; }
  bool is_replica() const { return type == kind::replica; }
};

std::string_view to_string(role_info::kind k);

/// errc::error_reply for an error reply, errc::unexpected_reply for any other shape.
result<role_info> parse_role(const resp::reply& r);

}  // namespace rsm::redis
