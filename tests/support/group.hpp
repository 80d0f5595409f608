#pragma once
/// A real replication group for integration tests: N redis-servers (instance 1 the master,
/// the others its replicas) and M sentinels monitoring it, with fast failure detection
/// (down-after 1000 ms, failover-timeout 5000 ms) and no diskless-sync delay. The constructor
/// returns once every replica's link is up and every sentinel knows every replica and sentinel.
#include "support/process.hpp"

#include <memory>
#include <string>
#include <vector>

namespace rsm::test {

class group {
 public:
  explicit group(int redis = 3, int sentinels = 3, std::string master_name = "master_service");
  /// Unconfigured processes: standalone redis-servers and sentinels that monitor nothing (for
  /// the controller to bootstrap). Sentinels get fast timings once they monitor (via rsm ctl's
  /// flags in the tests).
  struct unconfigured_t {};
  static constexpr unconfigured_t unconfigured{};
  group(unconfigured_t, int redis = 3, int sentinels = 3,
        std::string master_name = "master_service");

  /// Discovery data in procwatcher JSON (ProcNames redis and redis-sentinel), InstanceNo by
  /// position.
  std::string procwatcher_json() const;

  std::vector<std::unique_ptr<server_process>> redis;
  std::vector<std::unique_ptr<server_process>> sentinels;
  std::string master_name;

  /// "--redis a,b,c --sentinels x,y,z" arguments for the rsm binary.
  std::vector<std::string> discovery_args() const;
  std::string redis_list() const;
  std::string sentinel_list() const;

  /// The address the first reachable sentinel names now.
  address current_master() const;
  /// Waits (bounded) until every sentinel names `master`, it says ROLE master and every other
  /// running redis is its replica with the link up. Throws on timeout.
  void await_settled(const address& master,
                     std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;
};

}  // namespace rsm::test
