// rsm status and rsm watch, as a user runs them, against a real group (3 redis, 3 sentinels).
#include "rsm/lainlet/emulator.hpp"
#include "rsm/lainlet/procwatcher.hpp"
#include "rsm/metrics/prometheus.hpp"
#include "rsm/redis/subscriber.hpp"
#include "support/deadline.hpp"
#include "support/group.hpp"
#include "support/process.hpp"

#include <rapidjson/document.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <thread>

using namespace rsm;
using namespace std::chrono_literals;

namespace {

const std::string k_rsm = RSM_BINARY;

struct status_run {
  int exit_code;
  rapidjson::Document doc;
  std::string raw;
  std::chrono::milliseconds took;
};

status_run status_json(const test::group& g, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {k_rsm, "status", "--json"};
  for (auto& a : g.discovery_args()) argv.push_back(a);
  for (auto& a : extra) argv.push_back(a);
  auto start = std::chrono::steady_clock::now();
  auto r = test::run_program(argv);
  status_run out;
  out.took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  out.exit_code = r.exit_code;
  out.raw = r.out;
  out.doc.Parse(r.out.c_str());
  INFO(r.out << r.err);
  REQUIRE_FALSE(out.doc.HasParseError());
  return out;
}

const rapidjson::Value* node_json(const rapidjson::Document& d, int instance) {
  for (const auto& n : d["nodes"].GetArray()) {
    if (n["instance"].GetInt() == instance) return &n;
  }
  return nullptr;
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  auto tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace

TEST_CASE("status --json is correct before and after a failover", "[integration][status]") {
  test::group g;
  auto before = status_json(g);
  INFO(before.raw);
  CHECK(before.exit_code == 0);
  CHECK(std::string(before.doc["health"].GetString()) == "healthy");
  CHECK(std::string(before.doc["master"]["address"].GetString()) == g.redis[0]->addr().to_string());
  CHECK(before.doc["master"]["instance"].GetInt() == 1);
  CHECK(before.doc["master"]["sentinels_agreeing"].GetInt() == 3);
  CHECK(before.doc["nodes"].Size() == 3);
  CHECK(before.doc["sentinels"].Size() == 3);
  CHECK(std::string((*node_json(before.doc, 1))["role"].GetString()) == "master");
  CHECK(std::string((*node_json(before.doc, 2))["role"].GetString()) == "replica");
  CHECK(std::string((*node_json(before.doc, 2))["link"].GetString()) == "up");
  for (const auto& s : before.doc["sentinels"].GetArray()) {
    CHECK(s["quorum_ok"].GetBool());
    CHECK(std::string(s["monitors"].GetString()) == g.redis[0]->addr().to_string());
  }

  auto r = g.sentinels[0]->command({"SENTINEL", "FAILOVER", g.master_name});
  REQUIRE(r.is_ok());
  // Await the new master (not instance 1), then a settled group.
  address promoted;
  auto until = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < until) {
    promoted = g.current_master();
    if (promoted != g.redis[0]->addr()) break;
    std::this_thread::sleep_for(50ms);
  }
  REQUIRE(promoted != g.redis[0]->addr());
  g.await_settled(promoted);

  auto after = status_json(g);
  INFO(after.raw);
  CHECK(after.exit_code == 0);
  CHECK(std::string(after.doc["master"]["address"].GetString()) == promoted.to_string());
  CHECK(std::string((*node_json(after.doc, 1))["role"].GetString()) == "replica");
  CHECK(std::string((*node_json(after.doc, 1))["master"].GetString()) == promoted.to_string());
  for (const auto& s : after.doc["sentinels"].GetArray()) {
    CHECK(s["config_epoch"].GetInt() >= 1);
  }
}

TEST_CASE("status exit codes are 0 healthy then 1 degraded then 2 down", "[integration][status]") {
  test::group g;
  CHECK(status_json(g).exit_code == 0);

  g.redis[2]->kill();
  auto degraded = status_json(g);
  INFO(degraded.raw);
  CHECK(degraded.exit_code == 1);
  CHECK(std::string(degraded.doc["health"].GetString()) == "degraded");
  CHECK_FALSE((*node_json(degraded.doc, 3))["reachable"].GetBool());

  // The table says the same to a person.
  std::vector<std::string> argv = {k_rsm, "status"};
  for (auto& a : g.discovery_args()) argv.push_back(a);
  auto table = test::run_program(argv);
  CHECK(table.exit_code == 1);
  CHECK(table.out.find("degraded") != std::string::npos);
  CHECK(table.out.find("unreachable") != std::string::npos);

  for (auto& s : g.sentinels) s->kill();
  g.redis[0]->kill();
  auto down = status_json(g);
  INFO(down.raw);
  CHECK(down.exit_code == 2);
  CHECK(std::string(down.doc["health"].GetString()) == "down");
}

TEST_CASE("status answers within its timeout when a node is SIGSTOPped", "[integration][status]") {
  test::group g;
  g.redis[1]->pause();
  auto r = status_json(g, {"--timeout", "1s"});
  g.redis[1]->resume();
  INFO(r.raw);
  CHECK(r.took < 1800ms);
  CHECK(r.exit_code == 1);
  const auto* n = node_json(r.doc, 2);
  REQUIRE(n);
  CHECK_FALSE((*n)["reachable"].GetBool());
  CHECK(std::string((*n)["error"].GetString()).find("no answer within") != std::string::npos);
  CHECK((*node_json(r.doc, 1))["reachable"].GetBool());
}

TEST_CASE("watch --json prints the master switch within 1 s of the sentinel's event",
          "[integration][watch]") {
  test::group g;
  std::vector<std::string> argv = {k_rsm, "watch", "--json", "--interval", "5s"};
  for (auto& a : g.discovery_args()) argv.push_back(a);
  test::child_process watch(argv);
  for (int i = 0; i < 3; ++i) {
    auto sub = watch.wait_for("\"sentinel-subscribed\"", 10s);
    INFO(watch.stderr_text());
    REQUIRE(sub);
  }
  REQUIRE(watch.wait_for("\"event\":\"master\"", 10s));

  // Our own subscription to the same event, for the reference time.
  auto switch_seen = std::make_shared<std::optional<std::chrono::steady_clock::time_point>>();
  std::thread listener([&g, switch_seen] {
    test::run_with_deadline(
        [](address s, std::shared_ptr<std::optional<std::chrono::steady_clock::time_point>> seen)
            -> awaitable<void> {
          redis::options o;
          o.server = s;
          auto sub = co_await redis::subscriber::async_connect(o);
          if (!sub) co_return;
          sub->subscribe({"+switch-master"});
          for (;;) {
            auto m = co_await sub->async_receive(30s);
            if (!m) co_return;
            if (m->type == redis::message::kind::message) {
              *seen = std::chrono::steady_clock::now();
              co_return;
            }
          }
        }(g.sentinels[1]->addr(), switch_seen),
        40s);
  });
  std::this_thread::sleep_for(200ms);  // let the listener subscribe (it only sets the reference)
  auto r = g.sentinels[0]->command({"SENTINEL", "FAILOVER", g.master_name});
  REQUIRE(r.is_ok());
  auto line = watch.wait_for("\"event\":\"master-switch\"", 30s);
  auto printed = std::chrono::steady_clock::now();
  listener.join();
  REQUIRE(line);
  REQUIRE(*switch_seen);
  INFO(*line);
  CHECK(printed - **switch_seen < 1s);
  rapidjson::Document d;
  d.Parse(line->c_str());
  REQUIRE_FALSE(d.HasParseError());
  CHECK(std::string(d["old"].GetString()) == g.redis[0]->addr().to_string());
  CHECK(std::string(d["new"].GetString()) == g.current_master().to_string());
  CHECK(watch.stop() == 0);
}

TEST_CASE("watch prints an instance-moved line when the lainlet data changes",
          "[integration][watch]") {
  test::temp_dir dir("watch");
  auto file = dir.path() / "procs.json";
  auto procs = [](int port2) {
    return lainlet::to_procwatcher_json({{"redis", 1, "127.0.0.1", 16001},
                                         {"redis", 2, "127.0.0.1", static_cast<int>(port2)},
                                         {"redis-sentinel", 1, "127.0.0.1", 26001}});
  };
  write_file(file, procs(16002));
  asio::io_context ctx;
  lainlet::emulator emu(ctx.get_executor(), {{"127.0.0.1", 0}, file.string(), 50ms});
  asio::co_spawn(ctx, emu.async_run(), asio::detached);
  std::thread server([&ctx] { ctx.run(); });

  test::child_process watch({k_rsm, "watch", "--json", "--interval", "10s", "--timeout", "200ms",
                             "--lainlet", emu.local_address().to_string()});
  auto added = watch.wait_for("\"instance-added\"", 10s);
  write_file(file, procs(16012));
  auto moved = watch.wait_for("\"instance-moved\"", 10s);
  asio::post(ctx, [&emu] { emu.stop(); });
  watch.stop();
  server.join();
  INFO(watch.stderr_text());
  REQUIRE(added);
  REQUIRE(moved);
  rapidjson::Document d;
  d.Parse(moved->c_str());
  REQUIRE_FALSE(d.HasParseError());
  CHECK(std::string(d["role"].GetString()) == "redis");
  CHECK(std::string(d["instance"].GetString()) == "2");
  CHECK(std::string(d["from"].GetString()) == "127.0.0.1:16002");
  CHECK(std::string(d["to"].GetString()) == "127.0.0.1:16012");
}

TEST_CASE("watch serves Prometheus metrics with redis_exporter names", "[integration][watch]") {
  test::group g(2, 3);
  auto port = test::free_port();
  std::vector<std::string> argv = {
      k_rsm, "watch", "--interval", "1s", "--metrics-listen", "127.0.0.1:" + std::to_string(port)};
  for (auto& a : g.discovery_args()) argv.push_back(a);
  test::child_process watch(argv);
  REQUIRE(watch.wait_for("master", 10s));
  auto r =
      test::run_program({"curl", "-s", "http://127.0.0.1:" + std::to_string(port) + "/metrics"});
  REQUIRE(r.exit_code == 0);
  auto parsed = metrics::parse_exposition(r.out);
  INFO(r.out);
  REQUIRE(parsed);
  for (const char* name :
       {"redis_up", "redis_connected_clients", "redis_connected_slaves", "redis_master_repl_offset",
        "redis_memory_used_bytes", "redis_commands_processed_total", "rsm_group_healthy",
        "rsm_group_master_known", "rsm_group_sentinels_agreeing"}) {
    INFO(name);
    CHECK(parsed->find(name));
  }
  const auto* up = parsed->find("redis_up", {{"instance", "1"}, {"role", "master"}});
  REQUIRE(up);
  CHECK(up->value == 1);
  CHECK(parsed->find("redis_connected_slaves", {{"instance", "1"}})->value == 1);
  CHECK(parsed->types.at("redis_commands_processed_total") == "counter");
  CHECK(parsed->find("rsm_group_healthy")->value == 1);
}
