// rsm proxy following the sentinels: 1 master, 2 replicas, 3 sentinels (real processes).
#include "rsm/redis/subscriber.hpp"
#include "support/client.hpp"
#include "support/deadline.hpp"
#include "support/group.hpp"
#include "rsm/net/timeout.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>

#include <thread>

using namespace rsm;
using namespace std::chrono_literals;
using rsm::test::run_with_deadline;

namespace {

const std::string k_rsm = RSM_BINARY;

struct tracking_proxy {
  address addr;
  std::unique_ptr<test::child_process> child;

  explicit tracking_proxy(const test::group& g) {
    addr = {"127.0.0.1", test::free_port()};
    child = std::make_unique<test::child_process>(std::vector<std::string>{
        k_rsm, "proxy", "--listen", addr.to_string(), "--sentinels", g.sentinel_list(),
        "--threads", "2", "--check-interval", "500ms", "--failover-hold", "10s"});
    for (int i = 0; i < 300; ++i) {
      try {
        auto r = test::sync_command(addr, {"PING"}, 500ms);
        if (r.str == "PONG") return;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(20ms);
    }
    FAIL("proxy did not start: " << child->stderr_text());
  }
};

}  // namespace

TEST_CASE("proxy: writes resume on the new master after kill -9 of the old one",
          "[integration][proxy][failover]") {
  test::group g;
  tracking_proxy proxy(g);
  auto old_master = g.redis[0]->addr();
  CHECK(test::sync_command(proxy.addr, {"SET", "before", "1"}).is_ok());

  run_with_deadline([](test::group* g, address proxy_addr) -> awaitable<void> {
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
  }(&g, proxy.addr), 60s);

  auto now = g.current_master();
  CHECK(now != old_master);
  // The write landed on the master the sentinels now name, and the earlier one survived.
  for (const auto& r : g.redis) {
    if (r->running() && r->addr() == now) {
      CHECK(r->command({"GET", "after"}).str == "1");
      CHECK(r->command({"GET", "before"}).str == "1");
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
