#include "rsm/metrics/graphite.hpp"
#include "rsm/metrics/prometheus.hpp"
#include "rsm/observe/report.hpp"
#include "support/printing.hpp"

#include <catch2/catch.hpp>

#include <regex>

using namespace rsm;
using namespace rsm::metrics;

TEST_CASE("the exposition writer's output parses back", "[unit][metrics]") {
  exposition e;
  e.gauge("redis_up", "Whether up", {{"instance", "1"}, {"addr", "a\"b\\c\nd"}}, 1);
  e.gauge("redis_up", "ignored", {{"instance", "2"}, {"addr", "x"}}, 0);
  e.counter("redis_commands_processed_total", "Commands", {}, 12345678901.0);
  e.gauge("ratio", "A ratio", {}, 0.25);
  auto text = e.text();
  CHECK(text.find("# TYPE redis_up gauge\n") != std::string::npos);
  CHECK(text.find("# HELP redis_up Whether up\n") != std::string::npos);
  auto p = parse_exposition(text);
  REQUIRE(p);
  REQUIRE(p->samples.size() == 4);
  CHECK(p->find("redis_up", {{"instance", "1"}})->labels.at("addr") == "a\"b\\c\nd");
  CHECK(p->find("redis_up", {{"instance", "2"}})->value == 0);
  CHECK(p->find("redis_commands_processed_total")->value == 12345678901.0);
  CHECK(p->find("ratio")->value == 0.25);
  CHECK(p->types.at("redis_commands_processed_total") == "counter");
}

TEST_CASE("the exposition parser rejects malformed text with the line", "[unit][metrics]") {
  struct bad_case {
    std::string text;
    std::string message;
  };
  std::vector<bad_case> table = {
      {"up 1", "missing final newline"},
      {"1up 1\n", "bad metric name"},
      {"up{a=1} 1\n", "label value not quoted"},
      {"up{a=\"1} 1\n", "unterminated label value"},
      {"up{a=\"1\",a=\"2\"} 1\n", "duplicate label"},
      {"up{1a=\"1\"} 1\n", "bad label name"},
      {"up one\n", "bad value"},
      {"up\n", "missing value"},
      {"up 1\nup 2\n", "duplicate series"},
      {"# TYPE up gauge\n# TYPE up gauge\n", "second TYPE"},
      {"# TYPE up flavour\n", "unknown type"},
      {"up 1\n# TYPE up gauge\n", "after samples"},
      {"up{a=\"\\x\"} 1\n", "bad escape"},
  };
  for (const auto& c : table) {
    INFO(c.text);
    auto r = parse_exposition(c.text);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().detail, Catch::Contains(c.message));
  }
  CHECK(parse_exposition("")->samples.empty());
  CHECK(parse_exposition("# just a comment\nup 1 1700000000000\n"));
}

TEST_CASE("graphite lines have the original's key shape", "[unit][metrics]") {
  auto i = redis::parse_info(
      "# Server\r\nuptime_in_seconds:42\r\n# "
      "Memory\r\nused_memory:1024000\r\nused_memory_rss:2048000\r\n"
      "# CPU\r\nused_cpu_sys:1.5\r\nused_cpu_user:not-a-number\r\n");
  auto prefix = graphite_prefix("lain.local", "redis-service-sm");
  CHECK(prefix == "lain_local.redis_service_sm");
  auto lines = graphite_lines(prefix, 1, i, 1472440000);
  CHECK(lines.find("lain_local.redis_service_sm.1.Memory.used_memory 1024000 1472440000\n") !=
        std::string::npos);
  CHECK(lines.find("lain_local.redis_service_sm.1.Server.uptime_in_seconds 42 1472440000\n") !=
        std::string::npos);
  CHECK(lines.find("lain_local.redis_service_sm.1.CPU.used_cpu_sys 1.5 1472440000\n") !=
        std::string::npos);
  CHECK(lines.find("used_cpu_user") == std::string::npos);
  std::regex shape(R"(([a-z_]+\.){2}\d+\.[A-Za-z]+\.[a-z_]+ [0-9.]+ \d+)");
  std::size_t start = 0, count = 0;
  while (start < lines.size()) {
    auto nl = lines.find('\n', start);
    CHECK(std::regex_match(lines.substr(start, nl - start), shape));
    start = nl + 1;
    ++count;
  }
  CHECK(count == 4);
  CHECK(graphite_prefix("", "redis-service-sm") == "redis_service_sm");
}

TEST_CASE("group metrics carry redis_exporter names and parse", "[unit][metrics]") {
  observe::group_state g;
  observe::node_state n;
  n.instance = 1;
  n.addr = {"10.0.0.1", 6379};
  n.reachable = true;
  n.clients = 5;
  n.info = redis::parse_info("# Replication\r\nmaster_repl_offset:77\r\n");
  g.nodes.push_back(n);
  observe::node_state down;
  down.instance = 2;
  down.addr = {"10.0.0.2", 6379};
  g.nodes.push_back(down);
  observe::assessment a;
  a.level = observe::health::degraded;
  exposition e;
  observe::add_metrics(e, g, a);
  auto p = parse_exposition(e.text());
  REQUIRE(p);
  CHECK(p->find("redis_up", {{"instance", "1"}, {"role", "master"}})->value == 1);
  CHECK(p->find("redis_up", {{"instance", "2"}, {"role", "unreachable"}})->value == 0);
  CHECK(p->find("redis_connected_clients", {{"instance", "1"}})->value == 5);
  CHECK(p->find("redis_master_repl_offset", {{"instance", "1"}})->value == 77);
  CHECK(p->find("rsm_group_health")->value == 1);
  CHECK(p->find("rsm_group_healthy")->value == 0);
}
