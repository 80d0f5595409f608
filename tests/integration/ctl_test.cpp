// rsm ctl against real processes (3 redis-servers, 3 sentinels) and the lainlet emulator.
#include "rsm/ctl/controller.hpp"
#include "rsm/discovery/source.hpp"
#include "rsm/lainlet/emulator.hpp"
#include "rsm/lainlet/procwatcher.hpp"
#include "rsm/metrics/prometheus.hpp"
#include "rsm/net/timeout.hpp"
#include "rsm/observe/state.hpp"
#include "support/deadline.hpp"
#include "support/group.hpp"
#include "support/process.hpp"

#include <boost/asio/read.hpp>

#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <regex>
#include <thread>

using namespace rsm;
using namespace std::chrono_literals;
using rsm::test::run_with_deadline;

namespace {

const std::string k_rsm = RSM_BINARY;

ctl::settings fast_settings() {
  ctl::settings s;
  s.cfg.down_after = 1s;
  s.cfg.failover_timeout = 5s;
  s.cfg.flap_window = 500ms;
  s.interval = 1s;
  s.timeout = 1s;
  s.cfg.group_marker = false;  // rule j has a test of its own; the others count actions
  return s;
}

discovery::lainlet_settings lainlet_for(address a) {
  discovery::lainlet_settings s;
  s.server = a;
  s.heartbeat = 1s;
  s.backoff_initial = 50ms;
  s.backoff_cap = 500ms;
  return s;
}

// Runs passes until `done()` holds (bounded); returns how many passes it took.
template <class Pred>
awaitable<int> passes_until(ctl::controller& c, Pred done, int max_passes = 60) {
  for (int i = 1; i <= max_passes; ++i) {
    auto rep = co_await c.async_pass("test");
    (void)rep;
    if (done()) co_return i;
    co_await net::async_sleep(500ms);
  }
  co_return -1;
}

bool replicates(const test::server_process& s, const address& master) {
  auto r = s.command({"ROLE"});
  return r.elements.size() >= 4 && r.elements[0].str == "slave" &&
         r.elements[1].str == master.host && r.elements[2].as_integer() == master.port &&
         r.elements[3].str == "connected";
}

std::optional<address> monitored(const test::server_process& s, const std::string& name) {
  auto r = s.command({"SENTINEL", "get-master-addr-by-name", name});
  if (!r.is_array() || r.elements.size() != 2) return std::nullopt;
  return address{r.elements[0].str, static_cast<std::uint16_t>(std::stoi(r.elements[1].str))};
}

std::string sentinel_field(const test::server_process& s, const std::string& name,
                           const std::string& field) {
  auto r = s.command({"SENTINEL", "MASTER", name});
  for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    if (r.elements[i].str == field) return r.elements[i + 1].str;
  }
  return {};
}

}  // namespace

TEST_CASE("ctl bootstraps a group from nothing in one pass", "[integration][ctl]") {
  test::group g(test::group::unconfigured);
  run_with_deadline(
      [](test::group* g) -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        lainlet::emulator emu(ex, {});
        emu.set_data(g->procwatcher_json());
        asio::co_spawn(ex, emu.async_run(), asio::detached);
        ctl::controller c(ex, fast_settings(),
                          discovery::make_lainlet(lainlet_for(emu.local_address())));
        bool found = co_await c.async_discover(5s);
        REQUIRE(found);
        auto first = co_await c.async_pass("test");
        CHECK(first.plan.rule == "b");
        for (const auto& o : first.outcomes) {
          INFO(o.act.describe() << ": " << o.detail);
          CHECK(o.result == ctl::outcome::status::done);
        }
        auto master = g->redis[0]->addr();
        g->await_settled(master);  // every replica linked, every sentinel sees them all
        for (const auto& s : g->sentinels) {
          CHECK(monitored(*s, g->master_name) == master);
          CHECK(sentinel_field(*s, g->master_name, "quorum") == "2");
          CHECK(sentinel_field(*s, g->master_name, "down-after-milliseconds") == "1000");
        }
        auto second = co_await c.async_pass("test");
        CHECK(second.plan.actions.empty());
        CHECK(second.assessment.level == observe::health::healthy);
        emu.stop();
      }(&g),
      60s);
}

TEST_CASE("ctl makes the only node with data the master and loses no key", "[integration][ctl]") {
  test::group g(test::group::unconfigured);
  for (int i = 0; i < 100; ++i)
    g.redis[1]->command({"SET", "key:" + std::to_string(i), std::to_string(i)});
  run_with_deadline(
      [](test::group* g) -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto s = fast_settings();
        ctl::controller c(
            ex, s,
            discovery::make_static(topology::from_lists(
                {g->redis[0]->addr(), g->redis[1]->addr(), g->redis[2]->addr()},
                {g->sentinels[0]->addr(), g->sentinels[1]->addr(), g->sentinels[2]->addr()})));
        bool found = co_await c.async_discover(5s);
        REQUIRE(found);
        auto p = co_await c.async_pass("test");
        CHECK(p.plan.master == g->redis[1]->addr());
        co_return;
      }(&g),
      30s);
  g.await_settled(g.redis[1]->addr());
  for (auto* node : {g.redis[0].get(), g.redis[1].get(), g.redis[2].get()}) {
    CHECK(node->command({"DBSIZE"}).integer == 100);
  }
  CHECK(g.redis[0]->command({"GET", "key:42"}).str == "42");
}

namespace {
long long info_int(const test::server_process& s, const std::string& field) {
  auto info = s.command({"INFO", "replication"}).str;
  auto at = info.find(field + ":");
  return at == std::string::npos ? -1 : std::stoll(info.substr(at + field.size() + 1));
}
// Waits (bounded) until `done()` holds.
template <class Pred>
bool eventually(Pred done, std::chrono::milliseconds limit = 10s) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(20ms);  // polling a condition
  }
  return true;
}
ctl::controller static_controller(asio::any_io_executor ex, test::group& g) {
  return ctl::controller(
      ex, fast_settings(),
      discovery::make_static(topology::from_lists(
          {g.redis[0]->addr(), g.redis[1]->addr(), g.redis[2]->addr()},
          {g.sentinels[0]->addr(), g.sentinels[1]->addr(), g.sentinels[2]->addr()})));
}
}  // namespace

TEST_CASE("ctl never wipes keys for a higher offset of another replication history",
          "[integration][ctl]") {
  // Issue 16: A has a long replication history but no keys (FLUSHALL), B 500 keys and no
  // history, C shares A's history. Offsets of unrelated histories are not comparable: B is
  // the master and keeps its keys.
  test::group g(test::group::unconfigured);
  auto& a = *g.redis[0];
  auto& c = *g.redis[2];
  c.command({"REPLICAOF", a.addr().host, std::to_string(a.addr().port)});
  REQUIRE(eventually([&] { return replicates(c, a.addr()); }));
  for (int i = 0; i < 200; ++i)
    a.command({"SET", "old:" + std::to_string(i), std::string(100, 'x')});
  a.command({"FLUSHALL"});
  REQUIRE(eventually(
      [&] { return info_int(c, "slave_repl_offset") == info_int(a, "master_repl_offset"); }));
  c.command({"REPLICAOF", "NO", "ONE"});
  REQUIRE(eventually([&] { return info_int(a, "connected_slaves") == 0; }));
  REQUIRE(info_int(a, "master_repl_offset") > 10000);
  for (int i = 0; i < 500; ++i) g.redis[1]->command({"SET", "key:" + std::to_string(i), "v"});
  run_with_deadline(
      [](test::group* g) -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto c = static_controller(ex, *g);
        bool found = co_await c.async_discover(5s);
        REQUIRE(found);
        auto p = co_await c.async_pass("test");
        CHECK(p.plan.rule == "b");
        CHECK(p.plan.master == g->redis[1]->addr());
      }(&g),
      30s);
  g.await_settled(g.redis[1]->addr());
  for (auto* node : {g.redis[0].get(), g.redis[1].get(), g.redis[2].get()})
    CHECK(node->command({"DBSIZE"}).integer == 500);
}

TEST_CASE("ctl chooses no master when two histories hold keys until the operator does",
          "[integration][ctl]") {
  test::group g(test::group::unconfigured);
  for (int i = 0; i < 300; ++i) g.redis[0]->command({"SET", "a:" + std::to_string(i), "v"});
  for (int i = 0; i < 500; ++i) g.redis[1]->command({"SET", "b:" + std::to_string(i), "v"});
  run_with_deadline(
      [](test::group* g) -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto c = static_controller(ex, *g);
        bool found = co_await c.async_discover(5s);
        REQUIRE(found);
        auto p = co_await c.async_pass("test");
        CHECK(p.plan.rule == "b");
        CHECK(p.plan.actions.empty());
        CHECK(p.plan.needs_operator);
        CHECK(c.status_json().find("\"needs_operator\":true") != std::string::npos);
        metrics::exposition e;
        c.add_metrics(e);
        CHECK(e.text().find("rsm_ctl_needs_operator 1") != std::string::npos);
        // Nothing was touched.
        CHECK(g->redis[0]->command({"DBSIZE"}).integer == 300);
        CHECK(g->redis[1]->command({"DBSIZE"}).integer == 500);
        CHECK(g->redis[0]->command({"ROLE"}).elements[0].str == "master");
        CHECK(g->redis[1]->command({"ROLE"}).elements[0].str == "master");
        // The operator's choice decides.
        c.choose_master(g->redis[0]->addr());
        auto chosen = co_await c.async_pass("test");
        CHECK(chosen.plan.master == g->redis[0]->addr());
        CHECK_FALSE(chosen.plan.needs_operator);
      }(&g),
      30s);
  g.await_settled(g.redis[0]->addr());
  for (auto* node : {g.redis[0].get(), g.redis[1].get(), g.redis[2].get()})
    CHECK(node->command({"DBSIZE"}).integer == 300);
}

TEST_CASE("ctl repairs a replica pointed elsewhere and re-registers a reset sentinel",
          "[integration][ctl]") {
  test::group g;  // bootstrapped: instance 1 is master
  auto master = g.redis[0]->addr();
  // By hand: replica 3 now follows replica 2; sentinel 3 restarts with an empty config.
  auto r = g.redis[2]->command({"REPLICAOF", "127.0.0.1", std::to_string(g.redis[1]->port())});
  REQUIRE(r.is_ok());
  g.sentinels[2]->restart(std::vector<std::string>{});
  REQUIRE_FALSE(monitored(*g.sentinels[2], g.master_name));
  run_with_deadline(
      [](test::group* g) -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        ctl::controller c(
            ex, fast_settings(),
            discovery::make_static(topology::from_lists(
                {g->redis[0]->addr(), g->redis[1]->addr(), g->redis[2]->addr()},
                {g->sentinels[0]->addr(), g->sentinels[1]->addr(), g->sentinels[2]->addr()})));
        bool found = co_await c.async_discover(5s);
        REQUIRE(found);
        auto p = co_await c.async_pass("test");
        std::vector<std::string> kinds;
        for (const auto& o : p.outcomes) {
          INFO(o.act.describe() << ": " << o.detail);
          CHECK(o.result == ctl::outcome::status::done);
          kinds.emplace_back(ctl::to_string(o.act.what));
        }
        CHECK(kinds == std::vector<std::string>{"sentinel-monitor", "replicaof"});
      }(&g),
      30s);
  CHECK(monitored(*g.sentinels[2], g.master_name) == master);
  g.await_settled(master);
}

TEST_CASE("ctl follows an instance that moved to a new port and resets stale sentinel entries",
          "[integration][ctl]") {
  test::group g;
  auto master = g.redis[0]->addr();
  auto old2 = g.redis[1]->addr();
  run_with_deadline(
      [](test::group* g, address master, address old2) -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        lainlet::emulator emu(ex, {});
        emu.set_data(g->procwatcher_json());
        asio::co_spawn(ex, emu.async_run(), asio::detached);
        auto s = fast_settings();
        ctl::controller c(ex, s, discovery::make_lainlet(lainlet_for(emu.local_address())));
        bool found = co_await c.async_discover(5s);
        REQUIRE(found);
        auto healthy = co_await c.async_pass("test");
        CHECK(healthy.plan.actions.empty());

        // Instance 2 is rescheduled: the old process goes away, a new empty one comes on a new
        // port.
        g->redis[1]->kill();
        g->redis[1] = test::server_process::redis({"repl-diskless-sync-delay 0"});
        auto new2 = g->redis[1]->addr();
        emu.set_data(g->procwatcher_json());
        bool moved = co_await c.async_discover(5s);
        REQUIRE(moved);

        auto stale_gone = [&] {
          for (const auto& sp : g->sentinels) {
            auto reps = sp->command({"SENTINEL", "REPLICAS", g->master_name});
            for (const auto& rep : reps.elements) {
              for (std::size_t i = 0; i + 1 < rep.elements.size(); i += 2) {
                if (rep.elements[i].str == "port" &&
                    rep.elements[i + 1].str == std::to_string(old2.port))
                  return false;
              }
            }
          }
          return replicates(*g->redis[1], master);
        };
        int passes = co_await passes_until(c, stale_gone);
        CHECK(passes > 0);
        CHECK(replicates(*g->redis[1], master));
        // The controller said why: a replicaof for the new node, resets for the stale entry.
        auto status = c.status_json();
        CHECK(status.find("sentinel-reset") != std::string::npos);
        CHECK(status.find(std::to_string(new2.port)) != std::string::npos);
        emu.stop();
      }(&g, master, old2),
      120s);
  g.await_settled(master);
}

TEST_CASE("ctl --dry-run on a broken group prints the plan and changes nothing",
          "[integration][ctl]") {
  test::group g;
  g.redis[2]->command({"REPLICAOF", "NO", "ONE"});  // a second master
  g.sentinels[1]->command({"SENTINEL", "REMOVE", g.master_name});
  auto snapshot = [&g] {
    std::string s;
    for (const auto& r : g.redis) {
      auto info = r->command({"INFO", "replication"}).str;
      for (const char* f : {"role:", "master_host:", "master_port:"}) {
        auto pos = info.find(f);
        if (pos != std::string::npos) s += info.substr(pos, info.find('\r', pos) - pos) + ";";
      }
    }
    for (const auto& st : g.sentinels) {
      auto m = st->command({"SENTINEL", "get-master-addr-by-name", g.master_name});
      s += m.to_debug_string() + ";";
      for (const char* f : {"ip", "port", "quorum", "config-epoch", "down-after-milliseconds"}) {
        s += sentinel_field(*st, g.master_name, f) + ",";
      }
    }
    return s;
  };
  auto before = snapshot();
  std::vector<std::string> argv = {k_rsm, "ctl", "--once", "--dry-run", "--log-level", "warn"};
  for (auto& a : g.discovery_args()) argv.push_back(a);
  auto r = test::run_program(argv);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("would monitor on sentinel 2") != std::string::npos);
  CHECK(r.out.find("would replicaof redis 3") != std::string::npos);
  CHECK(r.out.find("because second master") != std::string::npos);
  CHECK(snapshot() == before);
}

TEST_CASE(
    "ctl pushes Graphite lines of the original's shape and serves valid metrics and token-guarded "
    "admin requests",
    "[integration][ctl]") {
  test::group g;
  asio::io_context ctx;
  tcp::acceptor graphite(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto gport = graphite.local_endpoint().port();
  auto hport = test::free_port();
  const std::string k_token = "a-token-of-32-characters-0123456";
  test::temp_dir dir("admin-token");
  const auto token_file = (dir.path() / "admin.token").string();
  {
    std::ofstream f(token_file);
    f << k_token << "\n";
  }
  ::chmod(token_file.c_str(), 0600);
  std::vector<std::string> argv = {k_rsm,
                                   "ctl",
                                   "--interval",
                                   "1s",
                                   "--metrics-interval",
                                   "1s",
                                   "--graphite",
                                   "127.0.0.1:" + std::to_string(gport),
                                   "--http-listen",
                                   "127.0.0.1:" + std::to_string(hport),
                                   "--app",
                                   "redis-service-sm",
                                   "--admin-token-file",
                                   token_file};
  for (auto& a : g.discovery_args()) argv.push_back(a);
  test::child_process ctl(argv, {{"LAIN_DOMAIN", "lain.local"}});

  // One Graphite connection's worth of lines, within a bounded time.
  std::string lines;
  graphite.async_accept([&](error_code ec, tcp::socket s) {
    if (ec) return;
    auto sock = std::make_shared<tcp::socket>(std::move(s));
    asio::async_read(*sock, asio::dynamic_buffer(lines), [sock](error_code, std::size_t) {});
  });
  ctx.run_for(20s);  // returns once the pusher has closed its connection
  INFO(ctl.stderr_text());
  REQUIRE_FALSE(lines.empty());
  std::regex shape(
      R"(lain_local\.redis_service_sm\.[123]\.(Server|Clients|Memory|Stats|CPU)\.[a-z_]+ [0-9.]+ \d{10})");
  std::size_t start = 0, count = 0;
  while (start < lines.size()) {
    auto nl = lines.find('\n', start);
    auto line = lines.substr(start, nl - start);
    INFO(line);
    CHECK(std::regex_match(line, shape));
    start = nl + 1;
    ++count;
  }
  CHECK(count >= 3 * 17);
  CHECK(lines.find(".1.Memory.used_memory ") != std::string::npos);

  auto m =
      test::run_program({"curl", "-s", "http://127.0.0.1:" + std::to_string(hport) + "/metrics"});
  auto parsed = metrics::parse_exposition(m.out);
  INFO(m.out);
  REQUIRE(parsed);
  CHECK(parsed->find("rsm_ctl_passes_total"));
  CHECK(parsed->find("redis_up", {{"instance", "1"}}));
  CHECK(parsed->find("rsm_ctl_actions_total", {{"kind", "replicaof"}}));

  // State-changing requests need the admin token, and a pause has a bounded length.
  const auto base = "http://127.0.0.1:" + std::to_string(hport);
  auto post = [&](const std::string& path, const std::string& token) {
    std::vector<std::string> argv = {"curl", "-s", "-X", "POST", base + path};
    if (!token.empty()) {
      argv.push_back("-H");
      argv.push_back("Authorization: Bearer " + token);
    }
    return test::run_program(argv).out;
  };
  CHECK_THAT(post("/pause?for=1m", ""), Catch::StartsWith("give the admin token"));
  CHECK_THAT(post("/pause?for=1m", "not-the-token-at-all"), Catch::StartsWith("give the admin"));
  CHECK_THAT(post("/pause", k_token), Catch::StartsWith("give ?for=DURATION"));
  CHECK_THAT(post("/pause?for=25h", k_token), Catch::StartsWith("a pause lasts"));
  CHECK(post("/pause?for=1m", k_token) == "paused for 1m\n");
  auto status =
      test::run_program({"curl", "-s", "http://127.0.0.1:" + std::to_string(hport) + "/status"});
  CHECK(status.out.find("\"paused\":true") != std::string::npos);
  // rsm status shows the pause too.
  std::vector<std::string> sargv = {k_rsm, "status", "--ctl", "127.0.0.1:" + std::to_string(hport)};
  for (auto& a : g.discovery_args()) sargv.push_back(a);
  auto table = test::run_program(sargv);
  INFO(table.out);
  CHECK(table.out.find("PAUSED") != std::string::npos);
  sargv.push_back("--json");
  auto json = test::run_program(sargv);
  CHECK(json.out.find("\"controller\":{") != std::string::npos);
  CHECK(json.out.find("\"paused\":true") != std::string::npos);
  CHECK(ctl.stop() == 0);
}

TEST_CASE(
    "ctl never promotes a replica while the master the sentinels name answers though "
    "discovery omits it",
    "[integration][ctl]") {
  test::group g;
  run_with_deadline(
      [](test::group* g) -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto s = fast_settings();
        s.cfg.failover_timeout = 1s;  // rule h's wait, passed within the first passes
        // The registry lists the replicas and the sentinels, not the master.
        ctl::controller c(
            ex, s,
            discovery::make_static(topology::from_lists(
                {g->redis[1]->addr(), g->redis[2]->addr()},
                {g->sentinels[0]->addr(), g->sentinels[1]->addr(), g->sentinels[2]->addr()})));
        bool found = co_await c.async_discover(5s);
        REQUIRE(found);
        std::vector<std::string> notes;
        for (int i = 0; i < 6; ++i) {
          auto rep = co_await c.async_pass("test");
          CHECK(rep.plan.actions.empty());
          notes = rep.plan.notes;
          co_await net::async_sleep(500ms);
        }
        std::string all;
        for (const auto& n : notes) all += n + "\n";
        INFO(all);
        CHECK_THAT(all, Catch::Contains("which discovery does not list, and it answers ROLE "
                                        "master"));
      }(&g),
      30s);
  CHECK(g.redis[0]->command({"ROLE"}).elements.at(0).str == "master");
  for (int i : {1, 2}) CHECK(replicates(*g.redis[i], g.redis[0]->addr()));
}

TEST_CASE("ctl marks its group and leaves a node of another group with data untouched",
          "[integration][ctl]") {
  test::group g;
  for (int i = 0; i < 10; ++i) g.redis[0]->command({"SET", "ours:" + std::to_string(i), "1"});
  // Another dataset listed by discovery as a fourth node (a reused address, the wrong app),
  // with fewer keys than the master: nothing but its identity protects it.
  auto foreign = test::server_process::redis();
  for (int i = 0; i < 5; ++i) foreign->command({"SET", "theirs:" + std::to_string(i), "1"});
  auto marker_of = [](const test::server_process& s) {
    return observe::group_marker_in(
        s.command({"FUNCTION", "LIST", "LIBRARYNAME", observe::group_marker_library("*")}));
  };
  run_with_deadline(
      [](test::group* g, test::server_process* foreign) -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto s = fast_settings();
        s.cfg.group_marker = true;
        ctl::controller c(
            ex, s,
            discovery::make_static(topology::from_lists(
                {g->redis[0]->addr(), g->redis[1]->addr(), g->redis[2]->addr(), foreign->addr()},
                {g->sentinels[0]->addr(), g->sentinels[1]->addr(), g->sentinels[2]->addr()})));
        bool found = co_await c.async_discover(5s);
        REQUIRE(found);
        bool marked = false;
        for (int i = 0; i < 4; ++i) {
          auto rep = co_await c.async_pass("test");
          for (const auto& a : rep.plan.actions) {
            CHECK(a.target != foreign->addr());
            marked = marked || a.what == ctl::action::kind::mark_group;
          }
          CHECK(rep.plan.foreign == std::vector<address>{foreign->addr()});
          CHECK(rep.assessment.foreign_nodes == 1);
        }
        CHECK(marked);
      }(&g, foreign.get()),
      30s);
  CHECK(foreign->command({"ROLE"}).elements.at(0).str == "master");
  CHECK(foreign->command({"DBSIZE"}).integer == 5);
  CHECK(marker_of(*foreign).empty());
  // The marker is on the master, replicated to every replica, and no key.
  auto id = marker_of(*g.redis[0]);
  REQUIRE_FALSE(id.empty());
  CHECK(g.redis[0]->command({"DBSIZE"}).integer == 10);
  for (int i : {1, 2}) {
    CHECK(eventually([&] { return marker_of(*g.redis[i]) == id; }));
  }
  // FLUSHALL does not erase it.
  g.redis[0]->command({"FLUSHALL"});
  CHECK(marker_of(*g.redis[0]) == id);
}

namespace {

// The "role" a controller's /status reports ("" when it does not answer).
std::string ctl_role(const address& http) {
  auto r = test::run_program(
      {"curl", "-s", "--max-time", "2", "http://" + http.to_string() + "/status"});
  rapidjson::Document d;
  d.Parse(r.out.c_str());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("role")) return {};
  return d["role"].GetString();
}

std::size_t count_of(const std::string& text, std::string_view needle) {
  std::size_t n = 0;
  for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE(
    "two controllers for a minute: one acts through repairs and a failover while the standby only "
    "observes and takes over when the active one dies",
    "[integration][ctl]") {
  test::group g;
  address http1{"127.0.0.1", test::free_port()}, http2{"127.0.0.1", test::free_port()};
  auto peers = http1.to_string() + "," + http2.to_string();
  auto ctl_argv = [&](int instance, const address& http) {
    std::vector<std::string> argv = {
        k_rsm,          "ctl", "--instance",         std::to_string(instance),
        "--peers",      peers, "--http-listen",      http.to_string(),
        "--interval",   "1s",  "--timeout",          "500ms",
        "--down-after", "1s",  "--failover-timeout", "5s"};
    for (auto& a : g.discovery_args()) argv.push_back(a);
    return argv;
  };
  // 2 starts alone and acts; 1 comes back, waits for 2 to stand by, then acts.
  auto ctl2 = std::make_unique<test::child_process>(ctl_argv(2, http2));
  REQUIRE(eventually([&] { return ctl_role(http2) == "active"; }, 10s));
  auto ctl1 = std::make_unique<test::child_process>(ctl_argv(1, http1));
  REQUIRE(eventually([&] { return ctl_role(http1) == "active"; }, 10s));
  CHECK(ctl_role(http2) == "standby");
  // What 2 did while alone (marking the group) is before this; from here on it stands by.
  auto standby_from = ctl2->stderr_text().size();
  const auto both_since = std::chrono::steady_clock::now();
  INFO("ctl 1:\n" << ctl1->stderr_text());

  // A repair and a failover in the middle: only 1 acts. (Awaited in the log: the line comes
  // when the action is complete, after the sentinel already monitors again.)
  auto repaired_by = [&](test::child_process& c, int sentinel) {
    return eventually(
        [&] {
          return count_of(c.stderr_text(),
                          "done: monitor on sentinel " + std::to_string(sentinel) + " ") >= 1;
        },
        15s);
  };
  g.sentinels[2]->command({"SENTINEL", "REMOVE", g.master_name});
  CHECK(repaired_by(*ctl1, 3));
  auto old = g.current_master();
  g.sentinels[0]->command({"SENTINEL", "FAILOVER", g.master_name});
  CHECK(eventually([&] { return g.current_master() != old; }, 20s));
  g.await_settled(g.current_master());
  g.sentinels[1]->command({"SENTINEL", "REMOVE", g.master_name});
  CHECK(repaired_by(*ctl1, 2));
  // Both stay up for a minute in all, with a repair every few seconds: still only 1 acts.
  for (int i = 0; std::chrono::steady_clock::now() < both_since + 60s; ++i) {
    const int n = i % 3 + 1;  // the sentinel's InstanceNo
    const auto needle = "done: monitor on sentinel " + std::to_string(n) + " ";
    const auto before = count_of(ctl1->stderr_text(), needle);
    g.sentinels[n - 1]->command({"SENTINEL", "REMOVE", g.master_name});
    CHECK(eventually([&] { return count_of(ctl1->stderr_text(), needle) > before; }, 15s));
    std::this_thread::sleep_for(3s);  // the pace of the repairs, not a synchronisation
  }
  auto log2 = ctl2->stderr_text().substr(standby_from);
  INFO("ctl 2:\n" << log2);
  CHECK(count_of(log2, "done:") == 0);
  CHECK(ctl_role(http2) == "standby");

  // 1 dies: 2 acts within its next pass or two (interval 1 s + timeout 0.5 s).
  auto killed_at = std::chrono::steady_clock::now();
  ctl1->stop(SIGKILL, 5s);
  REQUIRE(eventually([&] { return ctl_role(http2) == "active"; }, 10s));
  auto took = std::chrono::steady_clock::now() - killed_at;
  CHECK(took < 4s);
  g.sentinels[0]->command({"SENTINEL", "REMOVE", g.master_name});
  CHECK(repaired_by(*ctl2, 1));
  CHECK(ctl2->stop() == 0);
}
