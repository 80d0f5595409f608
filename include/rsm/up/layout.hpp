#pragma once
/// What `rsm up` runs, decided before anything starts (sans-io): every node's directory,
/// port, configuration file and command line, and the procwatcher data the lainlet emulator
/// serves for them.
///
///     DIR/redis-1/redis.conf   DIR/redis-1/redis.log   (data: appendonly.aof*, dump.rdb)
///     DIR/sentinel-1/sentinel.conf   DIR/sentinel-1/sentinel.log
#include "rsm/lainlet/procwatcher.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace rsm::up {

struct node {
  enum class kind { redis, sentinel };
  kind what = kind::redis;
  int instance = 0;  // 1-based, as LAIN's InstanceNo
  std::uint16_t port = 0;
  std::string dir;        // DIR/redis-1
  std::string conf_path;  // DIR/redis-1/redis.conf
  std::string log_path;   // DIR/redis-1/redis.log
  /// "redis-1", "sentinel-2".
  std::string name() const;
  /// The file's text: loopback only, AOF + RDB persistence for redis nodes.
  std::string config(const std::string& password) const;
  /// {"redis-server", conf} or {"redis-sentinel", conf}.
  std::vector<std::string> argv(const std::string& redis_server,
                                const std::string& redis_sentinel) const;
};

struct layout {
  std::string dir;
  std::string host = "127.0.0.1";
  std::vector<node> nodes;

  /// The procwatcher procs for these nodes (ProcNames `redis` and `redis-sentinel`).
  std::vector<lainlet::proc> procs(const std::string& redis_proc = "redis",
                                   const std::string& sentinel_proc = "redis-sentinel") const;
};

/// `redis_ports` and `sentinel_ports` give the count and ports of each kind.
layout make_layout(const std::string& dir, const std::string& host,
                   const std::vector<std::uint16_t>& redis_ports,
                   const std::vector<std::uint16_t>& sentinel_ports);

}  // namespace rsm::up
