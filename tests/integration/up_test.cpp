// rsm up, as a newcomer runs it: the whole service in one process, reachable through the proxy,
// visible to `rsm status`, and gone without a trace after Ctrl-C.
#include "support/process.hpp"

#include <rapidjson/document.h>

#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <thread>

using namespace rsm;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string k_rsm = RSM_BINARY;

// The servers rsm up runs, each in its node directory: pid -> "redis-1", "sentinel-2", ...
std::map<pid_t, std::string> processes_in(const fs::path& dir) {
  std::map<pid_t, std::string> out;
  for (const auto& [pid, cwd] : test::processes_under(dir)) out[pid] = cwd.filename().string();
  return out;
}

// /proc/PID, not its cwd: a zombie (ended, not reaped) still counts as left behind.
bool alive(pid_t pid) {
  return fs::exists("/proc/" + std::to_string(pid));
}

// "  status      rsm status --lainlet 127.0.0.1:PORT --ctl ..." -> "127.0.0.1:PORT"
std::string word_after(const std::string& line, const std::string& flag) {
  auto at = line.find(flag);
  REQUIRE(at != std::string::npos);
  auto start = at + flag.size() + 1;
  auto end = line.find(' ', start);
  return line.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

struct running_up {
  test::temp_dir dir{"up"};
  std::uint16_t port = test::free_port();
  std::unique_ptr<test::child_process> proc;
  std::string status_line;

  explicit running_up(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {
        k_rsm, "up", "--port", std::to_string(port), "--dir", (dir.path() / "stack").string()};
    for (auto& a : extra) argv.push_back(a);
    proc = std::make_unique<test::child_process>(argv);
    auto ready = proc->wait_for("the service is ready", 60s);
    INFO(proc->stderr_text());
    REQUIRE(ready);
    auto line = proc->wait_for("rsm status --lainlet", 5s);
    REQUIRE(line);
    status_line = *line;
  }
  address proxy() const { return {"127.0.0.1", port}; }
  fs::path stack() const { return dir.path() / "stack"; }
};

}  // namespace

TEST_CASE("rsm up serves through the proxy and rsm status beside it sees a healthy group") {
  running_up up;
  auto set = test::sync_command(up.proxy(), {"SET", "k", "v"});
  CHECK(set.str == "OK");
  auto get = test::sync_command(up.proxy(), {"GET", "k"});
  CHECK(get.str == "v");

  // `rsm status` run beside it, with the command line the banner prints.
  auto lainlet = word_after(up.status_line, "--lainlet");
  auto ctl = word_after(up.status_line, "--ctl");
  auto r = test::run_program({k_rsm, "status", "--json", "--lainlet", lainlet, "--ctl", ctl});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  rapidjson::Document d;
  d.Parse(r.out.c_str());
  REQUIRE_FALSE(d.HasParseError());
  CHECK(std::string(d["health"].GetString()) == "healthy");
  CHECK(d["nodes"].GetArray().Size() == 3);

  // The key is on the master and was replicated: every node has it.
  for (const auto& n : d["nodes"].GetArray()) {
    auto addr = parse_address(n["address"].GetString());
    REQUIRE(addr.has_value());
    auto deadline = std::chrono::steady_clock::now() + 10s;
    std::string value;
    while (std::chrono::steady_clock::now() < deadline) {
      value = test::sync_command(*addr, {"GET", "k"}).str;
      if (value == "v") break;
      std::this_thread::sleep_for(20ms);
    }
    CHECK(value == "v");
  }
}

TEST_CASE("Ctrl-C stops rsm up and leaves no redis-server or redis-sentinel behind") {
  running_up up({"--redis", "2", "--sentinels", "3"});
  auto servers = processes_in(up.stack());
  CHECK(servers.size() == 5);
  auto rc = up.proc->stop(SIGINT, 20s);
  INFO(up.proc->stderr_text());
  CHECK_FALSE(up.proc->was_killed());
  CHECK(rc == 0);
  for (const auto& [pid, node] : servers) {
    INFO(node << " pid " << pid);
    CHECK_FALSE(alive(pid));
  }
  CHECK(processes_in(up.stack()).empty());
  // A --dir given by the user is kept, with every node's files.
  CHECK(fs::exists(up.stack() / "redis-1" / "redis.conf"));
  CHECK(fs::exists(up.stack() / "sentinel-3" / "sentinel.log"));
}

TEST_CASE("a server that dies under rsm up is reported as it happens") {
  running_up up;
  // The watcher's first poll (events are changes from it).
  REQUIRE(up.proc->wait_for("health to=healthy", 15s));
  pid_t victim = -1;
  for (const auto& [pid, node] : processes_in(up.stack())) {
    if (node == "redis-3") victim = pid;
  }
  REQUIRE(victim > 0);
  ::kill(victim, SIGKILL);
  auto exited = up.proc->wait_for("process-exited", 10s);
  REQUIRE(exited);
  CHECK(exited->find("node=redis-3") != std::string::npos);
  CHECK(exited->find("signal 9") != std::string::npos);
  auto down = up.proc->wait_for("node-down", 15s);
  REQUIRE(down);
  CHECK(down->find("instance=3") != std::string::npos);
  // The rest still serves.
  CHECK(test::sync_command(up.proxy(), {"SET", "after", "1"}).str == "OK");
  CHECK(up.proc->stop(SIGINT, 20s) == 0);
}

TEST_CASE("rsm up on a busy port says so and starts nothing") {
  auto busy = test::server_process::redis();
  test::temp_dir dir("up-busy");
  auto stack = dir.path() / "stack";
  auto r = test::run_program(
      {k_rsm, "up", "--port", std::to_string(busy->addr().port), "--dir", stack.string()});
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("cannot listen on 127.0.0.1:" + std::to_string(busy->addr().port)) !=
        std::string::npos);
  CHECK(processes_in(stack).empty());
}
