// rsm proxy following the sentinels: 1 master, 2 replicas, 3 sentinels (real processes).
#include "rsm/net/timeout.hpp"
#include "rsm/redis/subscriber.hpp"
#include "support/client.hpp"
#include "support/deadline.hpp"
#include "support/group.hpp"
#include "support/metrics.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace rsm;
using namespace std::chrono_literals;
using rsm::test::run_with_deadline;

namespace {

const std::string k_rsm = RSM_BINARY;

struct tracking_proxy {
  address addr;
  address metrics{"127.0.0.1", test::free_port()};
  std::unique_ptr<test::child_process> child;

  // A sample of the proxy's /metrics (-1 when absent).
  double metric(const std::string& name) const { return test::scrape_metric(metrics, name); }

  explicit tracking_proxy(const test::group& g, std::string failover_hold = "10s",
                          std::string mode = "shared", std::vector<std::string> extra = {}) {
    addr = {"127.0.0.1", test::free_port()};
    std::vector<std::string> argv = {k_rsm,
                                     "proxy",
                                     "--listen",
                                     addr.to_string(),
                                     "--sentinels",
                                     g.sentinel_list(),
                                     "--threads",
                                     "2",
                                     "--check-interval",
                                     "500ms",
                                     "--failover-hold",
                                     failover_hold,
                                     "--backend-mode",
                                     mode,
                                     "--metrics-listen",
                                     metrics.to_string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    child = std::make_unique<test::child_process>(argv);
    // PONG, not an error: the proxy has a verified master.
    if (!test::await_ping(addr, 10s, [](const resp::reply& r) { return r.str == "PONG"; })) {
      FAIL("proxy did not start: " << child->stderr_text());
    }
  }
};

}  // namespace

TEST_CASE("proxy: writes resume on the new master after kill -9 of the old one",
          "[integration][proxy][failover]") {
  const std::string mode = GENERATE(as<std::string>{}, "shared", "dedicated");
  INFO("backend mode: " << mode);
  test::group g;
  tracking_proxy proxy(g, "10s", mode);
  auto old_master = g.redis[0]->addr();
  CHECK(test::sync_command(proxy.addr, {"SET", "before", "1"}).is_ok());

  run_with_deadline(
      [](test::group* g, address proxy_addr) -> awaitable<void> {
        // Sessions that must carry on across the switch without reconnecting: one idle in db 3,
        // one stateless (db 0).
        auto in_db3 = co_await test::must_connect(test::client_options(proxy_addr));
        auto selected = co_await in_db3.async_exec(resp::command{"SELECT", "3"});
        REQUIRE(selected);
        CHECK(selected->is_ok());
        auto stateless = co_await test::must_connect(test::client_options(proxy_addr));
        auto got = co_await stateless.async_exec(resp::command{"GET", "before"});
        REQUIRE(got);
        CHECK(got->str == "1");
        // Sessions bound to the old master: one inside MULTI, one subscribed.
        auto multi = co_await test::must_connect(test::client_options(proxy_addr));
        auto m = co_await multi.async_exec(resp::command{"MULTI"});
        REQUIRE(m);
        auto sub = co_await redis::subscriber::async_connect(test::client_options(proxy_addr));
        REQUIRE(sub);
        sub->subscribe({"news"});
        auto confirmed = co_await sub->async_receive(2s);
        REQUIRE(confirmed);

        g->redis[0]->kill();

        // The subscriber's connection is closed (as Sentinel's CLIENT KILL would close it).
        auto gone = co_await sub->async_receive(30s);
        CHECK_FALSE(gone);
        CHECK(gone.error() != errc::timed_out);
        // So is the session that had MULTI open.
        auto q = co_await multi.async_exec(resp::command{"SET", "x", "1"});
        CHECK_FALSE(q);

        // New sessions reach the new master, without restarting the proxy.
        bool written = false;
        for (int i = 0; i < 150 && !written; ++i) {
          auto o = test::client_options(proxy_addr);
          o.command_timeout = 12s;
          auto c = co_await redis::connection::async_connect(o);
          if (c) {
            auto r = co_await c->async_exec(resp::command{"SET", "after", "1"});
            written = r && r->is_ok();
          }
          if (!written) co_await net::async_sleep(200ms);
        }
        REQUIRE(written);

        // The idle session in db 3 and the stateless one still work, on the new master.
        auto in3 = co_await in_db3.async_exec(resp::command{"SET", "in3", "yes"});
        REQUIRE(in3);
        CHECK(in3->is_ok());
        auto s0 = co_await stateless.async_exec(resp::command{"SET", "in0", "yes"});
        REQUIRE(s0);
        CHECK(s0->is_ok());
      }(&g, proxy.addr),
      60s);

  // Every sentinel learns the new configuration (the proxy may follow the failover's leader
  // before the others have heard of it).
  // The switch is on /metrics: changes, the time from it to the first reply from the new
  // master, and the sentinels (all three still answer: only the master was killed).
  INFO("proxy log:\n" << proxy.child->stderr_text());
  CHECK(proxy.metric("rsm_proxy_master_changes_total") >= 2);
  auto first_reply = proxy.metric("rsm_proxy_switch_to_first_reply_seconds");
  CHECK(first_reply >= 0);
  CHECK(first_reply < 5);
  CHECK(proxy.metric("rsm_proxy_sentinels") == 3);
  CHECK(proxy.metric("rsm_proxy_sentinels_answering") == 3);
  auto now = g.current_master();
  for (auto until = std::chrono::steady_clock::now() + 10s;
       now == old_master && std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(50ms);
    now = g.current_master();
  }
  CHECK(now != old_master);
  // The write landed on the master the sentinels now name, and the earlier one survived.
  for (const auto& r : g.redis) {
    if (r->running() && r->addr() == now) {
      CHECK(r->command({"GET", "after"}).str == "1");
      CHECK(r->command({"GET", "before"}).str == "1");
      CHECK(r->command({"GET", "in0"}).str == "yes");
      CHECK(r->command({"GET", "in3"}).is_nil());  // not in db 0: in db 3
      CHECK(r->command(
                 {"EVAL", "redis.call('SELECT', 3) return redis.call('GET', KEYS[1])", "1", "in3"})
                .str == "yes");
    }
  }
}

TEST_CASE("proxy: all sentinels stopped keeps serving the verified master",
          "[integration][proxy][failover]") {
  test::group g;
  tracking_proxy proxy(g);
  CHECK(test::sync_command(proxy.addr, {"SET", "k", "1"}).is_ok());
  for (auto& s : g.sentinels) s->kill();
  // Past several checks with no sentinel answering, new sessions still reach the master.
  std::this_thread::sleep_for(1500ms);  // three check intervals: nothing to await but time
  CHECK(test::sync_command(proxy.addr, {"INCR", "k"}, 5s).integer == 2);
  CHECK(g.redis[0]->command({"GET", "k"}).str == "2");
}

TEST_CASE("proxy: --fence-after refuses writes while no majority of sentinels answers",
          "[integration][proxy][failover]") {
  test::group g;
  tracking_proxy proxy(g, "10s", "shared", {"--fence-after", "2s"});
  CHECK(test::sync_command(proxy.addr, {"SET", "k", "1"}).is_ok());
  // Two of three sentinels stop answering: no majority.
  g.sentinels[0]->pause();
  g.sentinels[1]->pause();
  auto cut = std::chrono::steady_clock::now();
  resp::reply r;
  for (auto until = cut + 15s; std::chrono::steady_clock::now() < until;) {
    r = test::sync_command(proxy.addr, {"SET", "k", "2"}, 5s);
    if (r.is_error()) break;
    std::this_thread::sleep_for(100ms);  // polling a condition
  }
  auto fenced_after = std::chrono::steady_clock::now() - cut;
  INFO("proxy log:\n" << proxy.child->stderr_text());
  REQUIRE(r.is_error());
  CHECK_THAT(r.str, Catch::StartsWith("FENCED"));
  // The last PONGs of the heartbeat (every 500 ms for a 2 s fence) came at most a period
  // before the pause: fenced 2 s after them, give or take a period and this loop's 100 ms.
  CHECK(fenced_after >= 1500ms);
  CHECK(fenced_after < 3s);
  // Reads go on; the master holds the last acknowledged write.
  CHECK(test::sync_command(proxy.addr, {"GET", "k"}).str == "2");
  CHECK(proxy.metric("rsm_proxy_fenced") == 1);
  // A majority answers again: writes are accepted again.
  g.sentinels[1]->resume();
  bool written = false;
  for (auto until = std::chrono::steady_clock::now() + 10s;
       !written && std::chrono::steady_clock::now() < until;) {
    written = test::sync_command(proxy.addr, {"SET", "k", "3"}, 5s).is_ok();
    if (!written) std::this_thread::sleep_for(100ms);
  }
  CHECK(written);
  CHECK(proxy.metric("rsm_proxy_fenced") == 0);
  g.sentinels[0]->resume();
}

namespace {

// Makes `sentinel` monitor `where` under the group's master name instead of the real master.
void misdirect(test::server_process& sentinel, const address& where) {
  CHECK(sentinel.command({"SENTINEL", "REMOVE", "master_service"}).is_ok());
  CHECK(sentinel
            .command({"SENTINEL", "MONITOR", "master_service", where.host,
                      std::to_string(where.port), "2"})
            .is_ok());
}

// The port of the node a new connection through the proxy reaches (CONFIG GET is allowed).
// "" when the connection was closed (a session caught in a master switch is closed).
std::string backend_port(const address& proxy) {
  try {
    auto r = test::sync_command(proxy, {"CONFIG", "GET", "port"}, 5s);
    return r.elements.size() == 2 ? r.elements[1].str : r.str;
  } catch (const std::exception&) {
    return "";
  }
}

}  // namespace

TEST_CASE("proxy: one sentinel of three naming a replica does not move the proxy",
          "[integration][proxy][failover]") {
  test::group g;
  tracking_proxy proxy(g);
  auto master_port = std::to_string(g.redis[0]->addr().port);
  REQUIRE(backend_port(proxy.addr) == master_port);
  misdirect(*g.sentinels[2], g.redis[1]->addr());
  REQUIRE(g.sentinels[2]
              ->command({"SENTINEL", "GET-MASTER-ADDR-BY-NAME", "master_service"})
              .elements.at(1)
              .str == std::to_string(g.redis[1]->addr().port));
  // Over six check intervals, every new session still reaches the master the majority names.
  auto until = std::chrono::steady_clock::now() + 3s;
  int sessions = 0;
  while (std::chrono::steady_clock::now() < until) {
    CHECK(backend_port(proxy.addr) == master_port);
    ++sessions;
  }
  CHECK(sessions > 10);
}

TEST_CASE("proxy: a node that says ROLE slave is never routed even when every sentinel names it",
          "[integration][proxy][failover]") {
  test::group g;
  tracking_proxy proxy(g, "1s");
  REQUIRE(test::sync_command(proxy.addr, {"SET", "k", "before"}).is_ok());
  auto replica = g.redis[1]->addr();
  for (auto& s : g.sentinels) misdirect(*s, replica);
  // The proxy notices within a few checks; from then on a new client gets the proxy's clear
  // error after --failover-hold, never the replica (whose answer would be READONLY).
  auto deadline = std::chrono::steady_clock::now() + 20s;
  std::string answer;
  while (std::chrono::steady_clock::now() < deadline) {
    resp::reply r;
    try {
      r = test::sync_command(proxy.addr, {"SET", "k", "after"}, 5s);
    } catch (const std::exception&) {
      continue;  // a session closed as the proxy dropped the old master: expected, try again
    }
    CHECK(r.str.find("READONLY") == std::string::npos);
    if (r.is_error()) {
      answer = r.str;
      break;
    }
  }
  INFO(answer);
  CHECK(answer.find("no verified master") != std::string::npos);
  // And it stays so while the sentinels keep naming a replica.
  CHECK(test::sync_command(proxy.addr, {"GET", "k"}, 5s).str.find("no verified master") !=
        std::string::npos);
}

namespace {

// One INCR checker: on each connection through the proxy it pipelines INCR k:<id> with an ECHO
// of a fresh token, and checks that the ECHO comes back as sent (a reply given to the wrong
// request or out of order would not) and that INCR counts up by one on that connection.
constexpr int k_clients = 50;

struct checker_stats {
  int mismatches = 0;
  int rounds = 0;
  int rounds_after_switch =
      0;  // completed after the switch, on a session opened since an interruption
  int reconnects = 0;
  int interrupted = 0;        // sessions that ended with an error (closed on the switch, READONLY)
  long long last_value = -1;  // the last INCR reply
  int rebases = 0;            // INCR not one more than the last on the same session (lost writes)
  std::string first_problem;
};

awaitable<void> incr_checker(address proxy, int id, const bool* switched, const bool* done,
                             checker_stats* st) {
  std::uint64_t token = 0;
  while (!*done) {
    auto o = test::client_options(proxy);
    o.command_timeout = 12s;
    auto c = co_await redis::connection::async_connect(o);
    if (!c) {
      ++st->reconnects;
      co_await net::async_sleep(50ms);
      continue;
    }
    long long last = -1;
    while (!*done) {
      auto echo = std::to_string(id) + ":" + std::to_string(++token);
      std::vector<resp::command> batch;
      batch.emplace_back("INCR", "k:" + std::to_string(id));
      batch.emplace_back("ECHO", echo);
      auto r = co_await c->async_exec(std::move(batch));
      if (!r) {  // connection closed (e.g. on the switch): reconnect
        ++st->interrupted;
        break;
      }
      const auto& incr = (*r)[0];
      const auto& back = (*r)[1];
      if (incr.is_error() || back.is_error()) {  // e.g. READONLY during the switch
        ++st->interrupted;
        break;
      }
      bool ok = back.str == echo && incr.type == resp::reply::kind::integer;
      if (ok && last >= 0 && incr.integer != last + 1) {
        // Across the switch the count may restart lower (see the test); anything else is wrong.
        if (incr.integer <= last) {
          ++st->rebases;
        } else {
          ok = false;
        }
      }
      if (!ok) {
        if (st->first_problem.empty()) {
          st->first_problem = "client " + std::to_string(id) + ": sent ECHO " + echo + ", got '" +
                              back.str + "'; INCR " + std::to_string(incr.integer) + " after " +
                              std::to_string(last);
        }
        ++st->mismatches;
      }
      last = incr.integer;
      ++st->rounds;
      if (*switched) ++st->rounds_after_switch;
      st->last_value = incr.integer;
    }
    ++st->reconnects;
  }
}

}  // namespace

TEST_CASE(
    "proxy: SENTINEL FAILOVER under 50 INCR checkers gives no mismatched or out-of-order reply",
    "[integration][proxy][failover]") {
  const std::string mode = GENERATE(as<std::string>{}, "shared", "dedicated");
  INFO("backend mode: " << mode);
  test::group g;
  tracking_proxy proxy(g, "10s", mode);
  auto old_master = g.redis[0]->addr();
  run_with_deadline(
      [](test::group* g, tracking_proxy* proxy, address old_master) -> awaitable<void> {
        auto proxy_addr = proxy->addr;
        bool switched = false;
        bool done = false;
        std::vector<checker_stats> stats(k_clients);
        auto ex = co_await asio::this_coro::executor;
        int finished = 0;
        for (int i = 0; i < k_clients; ++i) {
          asio::co_spawn(ex, incr_checker(proxy_addr, i, &switched, &done, &stats[i]),
                         [&finished](std::exception_ptr) { ++finished; });
        }
        auto total = [&stats](int checker_stats::*field) {
          int n = 0;
          for (const auto& s : stats) n += s.*field;
          return n;
        };
        // Every checker running, then the failover.
        while (total(&checker_stats::rounds) < k_clients * 20) co_await net::async_sleep(20ms);
        auto failover = g->sentinels[0]->command({"SENTINEL", "FAILOVER", "master_service"});
        CHECK(failover.is_ok());
        while (g->current_master() == old_master) co_await net::async_sleep(50ms);
        // The proxy follows (+switch-master, or its next check): a new session reaches the new
        // master.
        auto new_port = std::to_string(g->current_master().port);
        while (backend_port(proxy_addr) != new_port) co_await net::async_sleep(20ms);
        switched = true;
        // Every checker goes on through the proxy. A session caught with a request in flight is
        // closed (dedicated) or gets an error reply (shared), or READONLY from the demoted master;
        // the checker then reconnects. Idle ones carry on, on the new master.
        for (;;) {
          bool all = true;
          for (const auto& s : stats) all = all && s.rounds_after_switch >= 5;
          if (all) break;
          co_await net::async_sleep(50ms);
        }
        done = true;
        while (finished < k_clients) co_await net::async_sleep(20ms);
        std::string problem;
        for (const auto& s : stats) {
          if (problem.empty()) problem = s.first_problem;
        }
        INFO(problem);
        CHECK(total(&checker_stats::mismatches) == 0);
        CHECK(total(&checker_stats::rounds) > k_clients * 25);
        // No session stayed on the old master: every checker's last INCR was answered by the new
        // one (sessions were moved there, or closed and reopened).
        auto master = g->current_master();
        CHECK(master != old_master);
        INFO("proxy log: " << proxy->child->stderr_text());
        for (int i = 0; i < k_clients; ++i) {
          auto v = test::sync_command(master, {"GET", "k:" + std::to_string(i)});
          CHECK(v.str == std::to_string(stats[i].last_value));
        }
        // An INCR may restart lower once across the switch (writes the old master acknowledged
        // after the replica's promotion are lost: asynchronous replication), never more often.
        for (const auto& s : stats) CHECK(s.rebases <= 1);
      }(&g, &proxy, old_master),
      90s);
}

TEST_CASE("proxy: a master busy in a long script is kept, not taken for a lost one",
          "[integration][proxy][failover]") {
  test::group g;
  tracking_proxy proxy(g);
  REQUIRE(test::sync_command(proxy.addr, {"SET", "k", "1"}).is_ok());
  // ROLE answers -BUSY once a script has run 100 ms. The script runs 800 ms: over a check
  // interval (500 ms), and under the sentinels' down-after (1 s), so they neither SCRIPT KILL
  // it nor fail over.
  REQUIRE(g.redis[0]->command({"CONFIG", "SET", "busy-reply-threshold", "100"}).is_ok());
  std::atomic<bool> done{false};
  std::thread script([&] {
    try {
      test::sync_command(
          g.redis[0]->addr(),
          {"EVAL",
           "local function ms() local t = redis.call('TIME') return t[1] * 1000 + t[2] / 1000 end "
           "local s = ms() while ms() - s < 800 do end return 1",
           "0"},
          10s);
    } catch (const std::exception&) {
    }
    done = true;
  });
  // While it runs, the proxy keeps its verified master.
  int samples = 0, lost = 0;
  while (!done) {
    if (proxy.metric("rsm_proxy_master_up") != 1) ++lost;
    ++samples;
    std::this_thread::sleep_for(50ms);  // a sampling period: nothing to await
  }
  script.join();
  CHECK(samples > 5);
  CHECK(lost == 0);
  CHECK(test::sync_command(proxy.addr, {"INCR", "k"}, 5s).integer == 2);
}
