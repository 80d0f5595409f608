#pragma once
/// The data of lainlet's /v2/procwatcher, decoded with RapidJSON (sans-io).
///
///     [{"proc":[{"InstanceNo":1,"IP":"172.20.0.5","Port":6379,"ProcName":"redis"}, ...]}, ...]
///
/// Unknown fields are ignored. A document that is not JSON, or not of this shape, is an error
/// with a message that says where; the caller keeps its last good data.
#include "rsm/error.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace rsm::lainlet {

struct proc {
  std::string name;  // ProcName
  int instance = 0;  // InstanceNo
  std::string ip;    // "" until the container has an address
  int port = 0;      // 0 until known

  friend bool operator==(const proc&, const proc&) = default;
};

result<std::vector<proc>> parse_procwatcher(std::string_view json);

/// The JSON lainlet would send for these procs (one pod group per ProcName, compact).
std::string to_procwatcher_json(const std::vector<proc>& procs);

}  // namespace rsm::lainlet
