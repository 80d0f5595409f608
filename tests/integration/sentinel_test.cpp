// Subscriptions and the Sentinel helpers against real redis-server and redis-sentinel processes.
#include "rsm/net/timeout.hpp"
#include "rsm/redis/commands.hpp"
#include "rsm/redis/subscriber.hpp"
#include "rsm/sentinel/commands.hpp"
#include "rsm/sentinel/event.hpp"
#include "support/client.hpp"
#include "support/deadline.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>

using namespace rsm;
using namespace std::chrono_literals;
using rsm::test::run_with_deadline;
using rsm::test::server_process;

TEST_CASE("a subscriber receives a PUBLISHed message", "[integration][subscriber]") {
  auto srv = server_process::redis();
  run_with_deadline([](address a) -> awaitable<void> {
    auto s = co_await redis::subscriber::async_connect(test::client_options(a));
    REQUIRE(s);
    s->subscribe({"news"});
    s->psubscribe({"ev.*"});
    auto m1 = co_await s->async_receive(2s);
    REQUIRE(m1);
    CHECK(m1->type == redis::message::kind::subscribe);
    CHECK(m1->channel == "news");
    CHECK(m1->count == 1);
    auto m2 = co_await s->async_receive(2s);
    REQUIRE(m2);
    CHECK(m2->type == redis::message::kind::psubscribe);
    CHECK(m2->pattern == "ev.*");

    // Nothing published yet: a receive with a timeout says so and the subscriber stays usable.
    auto none = co_await s->async_receive(100ms);
    REQUIRE_FALSE(none);
    CHECK(none.error() == errc::timed_out);
    CHECK(s->is_open());

    auto pub = co_await test::must_connect(test::client_options(a));
    auto n = co_await pub.async_exec(resp::command{"PUBLISH", "news", std::string("hi\0there", 8)});
    REQUIRE(n);
    CHECK(n->integer == 1);
    {
      auto done_ = co_await pub.async_exec(resp::command{"PUBLISH", "ev.one", "x"});
      REQUIRE(done_);
    }

    auto m3 = co_await s->async_receive(2s);
    REQUIRE(m3);
    CHECK(m3->type == redis::message::kind::message);
    CHECK(m3->channel == "news");
    CHECK(m3->payload == std::string("hi\0there", 8));
    auto m4 = co_await s->async_receive(2s);
    REQUIRE(m4);
    CHECK(m4->type == redis::message::kind::pmessage);
    CHECK(m4->pattern == "ev.*");
    CHECK(m4->channel == "ev.one");
    CHECK(m4->payload == "x");

    s->ping();
    auto pong = co_await s->async_receive(2s);
    REQUIRE(pong);
    INFO("channel=" << pong->channel << " pattern=" << pong->pattern
                    << " payload=" << pong->payload);
    CHECK(pong->type == redis::message::kind::pong);
  }(srv->addr()));
}

TEST_CASE("Sentinel helpers and a +switch-master event on SENTINEL FAILOVER",
          "[integration][sentinel]") {
  auto master = server_process::redis();
  auto replica = server_process::redis({"replicaof 127.0.0.1 " + std::to_string(master->port())});
  auto sentinel = server_process::sentinel();
  run_with_deadline(
      [](address m, address r, address s) -> awaitable<void> {
        auto sc = co_await test::must_connect(test::client_options(s));
        const std::string name = "master_service";

        auto none = co_await sentinel::async_get_master_addr(sc, name);
        REQUIRE(none);
        CHECK_FALSE(*none);

        {
          auto done_ = co_await sentinel::async_monitor(sc, name, m, 1);
          REQUIRE(done_);
        }
        std::vector<std::pair<std::string, std::string>> settings;
        settings.emplace_back("down-after-milliseconds", "1000");
        settings.emplace_back("failover-timeout", "5000");
        {
          auto done_ = co_await sentinel::async_set(sc, name, std::move(settings));
          REQUIRE(done_);
        }

        auto addr = co_await sentinel::async_get_master_addr(sc, name);
        REQUIRE(addr);
        REQUIRE(*addr);
        CHECK(**addr == m);

        auto mf = co_await sentinel::async_master(sc, name);
        REQUIRE(mf);
        auto view = sentinel::to_master_view(*mf);
        REQUIRE(view);
        CHECK(view->addr == m);
        CHECK(view->quorum == 1);
        CHECK(view->has_flag("master"));

        auto masters = co_await sentinel::async_masters(sc);
        REQUIRE(masters);
        REQUIRE(masters->size() == 1);
        CHECK((*masters)[0].at("name") == name);

        auto q = co_await sentinel::async_ckquorum(sc, name);
        REQUIRE(q);
        CHECK(q->rfind("OK", 0) == 0);
        auto sentinels = co_await sentinel::async_sentinels(sc, name);
        REQUIRE(sentinels);
        CHECK(sentinels->empty());

        auto role = co_await redis::async_role(sc);
        REQUIRE(role);
        CHECK(role->type == redis::role_info::kind::sentinel);
        CHECK(role->master_names == std::vector<std::string>{name});
        auto sinfo = co_await redis::async_info(sc, "sentinel");
        REQUIRE(sinfo);
        CHECK(sinfo->get_int("sentinel", "sentinel_masters") == 1);

        auto unknown = co_await sentinel::async_master(sc, "nosuch");
        REQUIRE_FALSE(unknown);
        CHECK(unknown.error() == errc::error_reply);

        // Subscribe to every event before the failover.
        auto sub = co_await redis::subscriber::async_connect(test::client_options(s));
        REQUIRE(sub);
        sub->psubscribe({"*"});

        // The sentinel learns the replica from the master's INFO: await it, then fail over.
        bool started = false;
        for (int i = 0; i < 200 && !started; ++i) {
          auto reps = co_await sentinel::async_replicas(sc, name);
          REQUIRE(reps);
          if (!reps->empty() && (*reps)[0].at("flags") == "slave" &&
              (*reps)[0].at("master-link-status") == "ok") {
            auto f = co_await sentinel::async_failover(sc, name);
            // NOGOODSLAVE until the sentinel has fresh INFO from the replica: retry.
            started = f.has_value();
          }
          if (!started) co_await net::async_sleep(50ms);
        }
        REQUIRE(started);

        std::optional<sentinel::event> switched;
        auto until = std::chrono::steady_clock::now() + 20s;
        while (!switched && std::chrono::steady_clock::now() < until) {
          auto msg = co_await sub->async_receive(20s);
          REQUIRE(msg);
          if (msg->type != redis::message::kind::pmessage) continue;
          auto ev = sentinel::parse_event(msg->channel, msg->payload);
          if (ev.type == "+switch-master") switched = ev;
        }
        REQUIRE(switched);
        CHECK(switched->master_name == name);
        CHECK(switched->old_master == m);
        CHECK(switched->master_addr == r);

        auto now = co_await sentinel::async_get_master_addr(sc, name);
        REQUIRE(now);
        CHECK(**now == r);
        auto reset = co_await sentinel::async_reset(sc, "*");
        REQUIRE(reset);
        CHECK(*reset == 1);
        {
          auto done_ = co_await sentinel::async_remove(sc, name);
          REQUIRE(done_);
        }
        auto gone = co_await sentinel::async_get_master_addr(sc, name);
        REQUIRE(gone);
        CHECK_FALSE(*gone);
      }(master->addr(), replica->addr(), sentinel->addr()),
      60s);
}
