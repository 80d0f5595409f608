#include "support/group.hpp"

#include "rsm/lainlet/procwatcher.hpp"

#include <stdexcept>
#include <thread>

namespace rsm::test {
using namespace std::chrono_literals;

group::group(int n_redis, int n_sentinels, std::string name) : master_name(std::move(name)) {
  const std::vector<std::string> common = {"repl-diskless-sync-delay 0"};
  redis.push_back(server_process::redis(common));
  auto m = redis.front()->addr();
  for (int i = 1; i < n_redis; ++i) {
    auto conf = common;
    conf.push_back("replicaof " + m.host + " " + std::to_string(m.port));
    redis.push_back(server_process::redis(conf));
  }
  int quorum = n_sentinels / 2 + 1;
  for (int i = 0; i < n_sentinels; ++i) {
    sentinels.push_back(
        server_process::sentinel({"sentinel monitor " + master_name + " " + m.host + " " +
                                      std::to_string(m.port) + " " + std::to_string(quorum),
                                  "sentinel down-after-milliseconds " + master_name + " 1000",
                                  "sentinel failover-timeout " + master_name + " 5000"}));
  }
  await_settled(m);
}

group::group(unconfigured_t, int n_redis, int n_sentinels, std::string name)
    : master_name(std::move(name)) {
  for (int i = 0; i < n_redis; ++i)
    redis.push_back(server_process::redis({"repl-diskless-sync-delay 0"}));
  for (int i = 0; i < n_sentinels; ++i) sentinels.push_back(server_process::sentinel());
}

std::string group::procwatcher_json() const {
  std::vector<lainlet::proc> procs;
  for (std::size_t i = 0; i < redis.size(); ++i) {
    procs.push_back({"redis", static_cast<int>(i) + 1, "127.0.0.1", redis[i]->port()});
  }
  for (std::size_t i = 0; i < sentinels.size(); ++i) {
    procs.push_back({"redis-sentinel", static_cast<int>(i) + 1, "127.0.0.1", sentinels[i]->port()});
  }
  return lainlet::to_procwatcher_json(procs);
}

std::string group::redis_list() const {
  std::string out;
  for (const auto& r : redis) out += (out.empty() ? "" : ",") + r->addr().to_string();
  return out;
}

std::string group::sentinel_list() const {
  std::string out;
  for (const auto& s : sentinels) out += (out.empty() ? "" : ",") + s->addr().to_string();
  return out;
}

std::vector<std::string> group::discovery_args() const {
  return {"--redis", redis_list(), "--sentinels", sentinel_list()};
}

address group::current_master() const {
  for (const auto& s : sentinels) {
    if (!s->running()) continue;
    try {
      auto r = s->command({"SENTINEL", "get-master-addr-by-name", master_name});
      if (r.is_array() && r.elements.size() == 2) {
        return {r.elements[0].str, static_cast<std::uint16_t>(std::stoi(r.elements[1].str))};
      }
    } catch (const std::exception&) {
    }
  }
  throw std::runtime_error("no sentinel names a master");
}

void group::await_settled(const address& master, std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string why;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      bool ok = true;
      int running_redis = 0, running_sentinels = 0;
      for (const auto& r : redis) running_redis += r->running();
      for (const auto& s : sentinels) running_sentinels += s->running();
      for (const auto& s : sentinels) {
        if (!s->running()) continue;
        auto a = s->command({"SENTINEL", "get-master-addr-by-name", master_name});
        if (!a.is_array() || a.elements.size() != 2 || a.elements[0].str != master.host ||
            a.elements[1].str != std::to_string(master.port)) {
          ok = false;
          why = "a sentinel names another master";
          break;
        }
        auto m = s->command({"SENTINEL", "MASTER", master_name});
        std::string flags, replicas, others;
        for (std::size_t i = 0; i + 1 < m.elements.size(); i += 2) {
          if (m.elements[i].str == "flags") flags = m.elements[i + 1].str;
          if (m.elements[i].str == "num-slaves") replicas = m.elements[i + 1].str;
          if (m.elements[i].str == "num-other-sentinels") others = m.elements[i + 1].str;
        }
        if (flags != "master" || replicas != std::to_string(running_redis - 1) ||
            others != std::to_string(running_sentinels - 1)) {
          ok = false;
          why = "sentinel view: flags=" + flags + " replicas=" + replicas + " others=" + others;
          break;
        }
      }
      for (const auto& r : redis) {
        if (!ok || !r->running()) continue;
        auto role = r->command({"ROLE"});
        if (r->addr() == master) {
          if (role.elements.empty() || role.elements[0].str != "master") ok = false;
        } else if (role.elements.size() < 4 || role.elements[0].str != "slave" ||
                   role.elements[3].str != "connected" ||
                   role.elements[2].as_integer() != master.port) {
          ok = false;
          why = "replica " + r->addr().to_string() + " not linked";
        }
      }
      if (ok) return;
    } catch (const std::exception& e) {
      why = e.what();
    }
    std::this_thread::sleep_for(50ms);
  }
  throw std::runtime_error("group did not settle on " + master.to_string() + ": " + why);
}

}  // namespace rsm::test
