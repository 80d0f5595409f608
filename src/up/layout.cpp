#include "rsm/up/layout.hpp"

namespace rsm::up {

namespace {

// Config files quote values the way redis.conf's parser reads them back.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string node::name() const {
  return (what == kind::redis ? "redis-" : "sentinel-") + std::to_string(instance);
}

std::string node::config(const std::string& password) const {
  std::string c;
  c += "# Written by `rsm up` at every start; edits are lost.\n";
  c += "port " + std::to_string(port) + "\n";
  c += "bind 127.0.0.1\n";
  c += "protected-mode no\n";
  c += "daemonize no\n";
  c += "dir " + quoted(dir) + "\n";
  c += "logfile " + quoted(log_path) + "\n";
  if (what == kind::redis) {
    // The original's data safety: AOF (fsync every second) and RDB snapshots.
    c += "appendonly yes\n";
    c += "appendfsync everysec\n";
    c += "save 900 1 300 10 60 10000\n";
    // Replicas start syncing at once (the default waits 5 s for more replicas to join).
    c += "repl-diskless-sync-delay 0\n";
    if (!password.empty()) {
      c += "requirepass " + quoted(password) + "\n";
      c += "masterauth " + quoted(password) + "\n";
    }
  }
  return c;
}

std::vector<std::string> node::argv(const std::string& redis_server,
                                    const std::string& redis_sentinel) const {
  if (what == kind::redis) return {redis_server, conf_path};
  return {redis_sentinel, conf_path};
}

std::vector<lainlet::proc> layout::procs(const std::string& redis_proc,
                                         const std::string& sentinel_proc) const {
  std::vector<lainlet::proc> out;
  for (const auto& n : nodes) {
    out.push_back(
        {n.what == node::kind::redis ? redis_proc : sentinel_proc, n.instance, host, n.port});
  }
  return out;
}

layout make_layout(const std::string& dir, const std::string& host,
                   const std::vector<std::uint16_t>& redis_ports,
                   const std::vector<std::uint16_t>& sentinel_ports) {
  layout l;
  l.dir = dir;
  l.host = host;
  auto add = [&](node::kind k, int instance, std::uint16_t port) {
    node n;
    n.what = k;
    n.instance = instance;
    n.port = port;
    n.dir = dir + "/" + n.name();
    bool redis = k == node::kind::redis;
    n.conf_path = n.dir + (redis ? "/redis.conf" : "/sentinel.conf");
    n.log_path = n.dir + (redis ? "/redis.log" : "/sentinel.log");
    l.nodes.push_back(std::move(n));
  };
  for (std::size_t i = 0; i < redis_ports.size(); ++i) {
    add(node::kind::redis, static_cast<int>(i + 1), redis_ports[i]);
  }
  for (std::size_t i = 0; i < sentinel_ports.size(); ++i) {
    add(node::kind::sentinel, static_cast<int>(i + 1), sentinel_ports[i]);
  }
  return l;
}

}  // namespace rsm::up
