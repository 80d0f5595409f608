#pragma once
/// Sentinel's Pub/Sub events, parsed (sans-io).
///
/// Payload shapes (from the Sentinel documentation):
///   +switch-master  <master-name> <old-ip> <old-port> <new-ip> <new-port>
///   instance events <instance-type> <name> <ip> <port> @ <master-name> <master-ip> <master-port>
///                   (the "@ ..." part is absent when the instance is a master; extra words such
///                   as "#quorum 2/2" may follow)
#include "rsm/address.hpp"

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace rsm::sentinel {

struct event {
  /// The channel, e.g. "+switch-master", "+sdown".
  std::string type;
  std::string payload;

  /// "master", "slave" or "sentinel" for instance events; empty otherwise.
  std::string instance_type;
  std::string instance_name;
  std::optional<address> instance_addr;
  /// The master this event concerns (for master instances: the instance itself).
  std::string master_name;
  std::optional<address> master_addr;
  /// +switch-master only.
  std::optional<address> old_master;
};

/// Never fails: fields that cannot be read stay empty.
event parse_event(std::string_view channel, std::string_view payload);

/// The channels the proxy, ctl and watch follow.
inline constexpr std::array<std::string_view, 12> watched_channels = {
    "+switch-master",  "+sdown",
    "-sdown",          "+odown",
    "-odown",          "+failover-end",
    "+reset-master",   "+try-failover",
    "+elected-leader", "+failover-state-reconf-slaves",
    "+slave",          "+sentinel"};

}  // namespace rsm::sentinel
