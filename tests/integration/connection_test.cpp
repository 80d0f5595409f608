// The control-plane RESP client against real redis-server processes.
#include "rsm/redis/connection.hpp"
#include "rsm/net/timeout.hpp"
#include "rsm/redis/commands.hpp"
#include "support/client.hpp"
#include "support/deadline.hpp"
#include "support/process.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <catch2/catch.hpp>

using namespace rsm;
using namespace std::chrono_literals;
using rsm::test::run_with_deadline;
using rsm::test::server_process;

TEST_CASE("pipelined commands are answered in order", "[integration][client]") {
  auto srv = server_process::redis();
  run_with_deadline([](address a) -> awaitable<void> {
    auto c = co_await test::must_connect(test::client_options(a));
    // One pipeline of 1000 INCRs: replies 1..1000 in order.
    std::vector<resp::command> cmds;
    for (int i = 0; i < 1000; ++i) cmds.push_back(resp::command{"INCR", "counter"});
    auto r = co_await c.async_exec(std::move(cmds));
    REQUIRE(r);
    REQUIRE(r->size() == 1000);
    for (long long i = 0; i < 1000; ++i) REQUIRE((*r)[i].integer == i + 1);

    // Many callers in flight at once on one connection: each gets its own reply.
    using namespace asio::experimental::awaitable_operators;
    auto get = [&c](std::string key) -> awaitable<std::string> {
      auto r = co_await c.async_exec(resp::command{"ECHO", key});
      co_return r ? r->str : std::string("error");
    };
    auto [x, y, z] = co_await (get("x") && get("y") && get("z"));
    CHECK(x == "x");
    CHECK(y == "y");
    CHECK(z == "z");

    // Binary-safe values, an empty value and an error reply in one pipeline.
    std::string binary("a\0b\r\n", 5);
    // (Built outside co_await: GCC 12 cannot hold an initializer_list across a suspension.)
    std::vector<resp::command> mixed;
    mixed.emplace_back("SET", "bin", binary);
    mixed.emplace_back("GET", "bin");
    mixed.emplace_back("SET", "empty", "");
    mixed.emplace_back("GET", "empty");
    mixed.emplace_back("NOSUCHCOMMAND");
    mixed.emplace_back("GET", "missing");
    auto p = co_await c.async_exec(std::move(mixed));
    REQUIRE(p);
    CHECK((*p)[1].str == binary);
    CHECK((*p)[3].type == resp::reply::kind::string);
    CHECK((*p)[3].str.empty());
    CHECK((*p)[4].is_error());
    CHECK((*p)[4].str.rfind("ERR unknown command", 0) == 0);
    CHECK((*p)[5].is_nil());
  }(srv->addr()));
}

TEST_CASE("a command to a stopped server fails with a connection error within the connect timeout",
          "[integration][client]") {
  auto srv = server_process::redis();
  auto a = srv->addr();
  srv->kill();
  run_with_deadline([](address a) -> awaitable<void> {
    auto o = test::client_options(a);
    auto start = std::chrono::steady_clock::now();
    auto c = co_await redis::connection::async_connect(o);
    auto took = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(c);
    CHECK(c.error().code == asio::error::connection_refused);
    CHECK(took < o.connect_timeout);
  }(a));
}

TEST_CASE("a connection whose server dies fails every waiting command", "[integration][client]") {
  auto srv = server_process::redis();
  run_with_deadline([](server_process* srv) -> awaitable<void> {
    auto c = co_await test::must_connect(test::client_options(srv->addr()));
    {
      auto done_ = co_await c.async_exec(resp::command{"PING"});
      REQUIRE(done_);
    }
    // BLPOP keeps the command waiting on the server; killing it must fail the command.
    asio::steady_timer t(co_await asio::this_coro::executor, 100ms);
    using namespace asio::experimental::awaitable_operators;
    auto blpop = c.async_exec(resp::command{"BLPOP", "nothing", "0"});
    auto killer = [](server_process* s, asio::steady_timer& t) -> awaitable<void> {
      co_await t.async_wait(use_nothrow);
      s->kill();
    }(srv, t);
    auto r = co_await (std::move(blpop) && std::move(killer));
    REQUIRE_FALSE(r);
    CHECK_FALSE(c.is_open());
    auto after = co_await c.async_exec(resp::command{"PING"});
    REQUIRE_FALSE(after);
    CHECK(after.error() == errc::not_connected);
  }(srv.get()));
}

TEST_CASE("a command to a SIGSTOPped server fails within its timeout", "[integration][client]") {
  auto srv = server_process::redis();
  run_with_deadline([](server_process* srv) -> awaitable<void> {
    auto o = test::client_options(srv->addr());
    o.command_timeout = 300ms;
    auto c = co_await test::must_connect(o);
    srv->pause();
    auto start = std::chrono::steady_clock::now();
    auto r = co_await c.async_exec(resp::command{"PING"});
    auto took = std::chrono::steady_clock::now() - start;
    srv->resume();
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::timed_out);
    CHECK(took >= 300ms);
    CHECK(took < 1500ms);
    CHECK_FALSE(c.is_open());  // a late reply must never be taken for another command's

    // Connecting to a stopped server: the kernel accepts, the handshake never answers.
    srv->pause();
    o.auth.password = "whatever";
    o.connect_timeout = 300ms;
    start = std::chrono::steady_clock::now();
    auto c2 = co_await redis::connection::async_connect(o);
    took = std::chrono::steady_clock::now() - start;
    srv->resume();
    REQUIRE_FALSE(c2);
    CHECK(c2.error() == errc::connect_timeout);
    CHECK(took < 1500ms);
  }(srv.get()));
}

TEST_CASE("AUTH and SELECT on connect", "[integration][client]") {
  auto srv = server_process::redis({"requirepass s3cret-pass"});
  run_with_deadline([](address a) -> awaitable<void> {
    auto o = test::client_options(a);
    auto no_auth = co_await test::must_connect(o);
    auto denied = co_await no_auth.async_exec(resp::command{"GET", "k"});
    REQUIRE(denied);
    CHECK(denied->str.rfind("NOAUTH", 0) == 0);

    o.auth.password = "wrong-pass";
    auto bad = co_await redis::connection::async_connect(o);
    REQUIRE_FALSE(bad);
    CHECK(bad.error() == errc::handshake_failed);
    CHECK(bad.error().detail.find("wrong-pass") == std::string::npos);
    CHECK(bad.error().detail.find("AUTH") != std::string::npos);

    o.auth.password = "s3cret-pass";
    o.db = 3;
    o.client_name = "rsm-test";
    auto db3 = co_await test::must_connect(o);
    {
      auto done_ = redis::expect_ok(co_await db3.async_exec(resp::command{"SET", "k", "in-db-3"}));
      REQUIRE(done_);
    }
    auto name = co_await db3.async_exec(resp::command{"CLIENT", "GETNAME"});
    REQUIRE(name);
    CHECK(name->str == "rsm-test");

    o.db = 0;
    o.client_name.clear();
    auto db0 = co_await test::must_connect(o);
    auto g0 = co_await db0.async_exec(resp::command{"GET", "k"});
    REQUIRE(g0);
    CHECK(g0->is_nil());
    auto g3 = co_await db3.async_exec(resp::command{"GET", "k"});
    REQUIRE(g3);
    CHECK(g3->str == "in-db-3");
  }(srv->addr()));
}

TEST_CASE("ROLE and INFO and REPLICAOF and CONFIG helpers on real servers",
          "[integration][client]") {
  auto master = server_process::redis();
  auto replica = server_process::redis();
  run_with_deadline([](address m, address r) -> awaitable<void> {
    auto mc = co_await test::must_connect(test::client_options(m));
    auto rc = co_await test::must_connect(test::client_options(r));
    for (int i = 0; i < 10; ++i) {
      {
        auto done_ = co_await mc.async_exec(resp::command{"SET", "key" + std::to_string(i), "v"});
        REQUIRE(done_);
      }
    }
    {
      auto done_ = co_await redis::async_replicaof(rc, m);
      REQUIRE(done_);
    }

    // Await the link instead of sleeping: poll ROLE until the replica is connected (a bound of
    // 20 s: a full sync on a loaded 2-core machine took over 5).
    redis::role_info role;
    for (int i = 0; i < 800; ++i) {
      auto rr = co_await redis::async_role(rc);
      REQUIRE(rr);
      role = *rr;
      if (role.link_state == "connected") break;
      co_await net::async_sleep(25ms);
    }
    CHECK(role.is_replica());
    CHECK(role.master == m);
    CHECK(role.link_state == "connected");

    // The master lists the replica once it has acknowledged the sync: await that too.
    auto mrole = co_await redis::async_role(mc);
    for (int i = 0; i < 800 && mrole && mrole->replicas.empty(); ++i) {
      co_await net::async_sleep(25ms);
      mrole = co_await redis::async_role(mc);
    }
    REQUIRE(mrole);
    CHECK(mrole->is_master());
    REQUIRE(mrole->replicas.size() == 1);
    CHECK(mrole->replicas[0].addr.port == r.port);

    // ROLE lists a replica from its REPLCONF on, before its sync is done: await INFO's
    // "state=online" (it was "wait_bgsave" once under load).
    auto mi = co_await redis::async_info(mc);
    for (int i = 0; i < 200 && mi; ++i) {
      auto s0 = mi->get("replication", "slave0");
      if (s0 && redis::parse_info_pairs(std::string(*s0))["state"] == "online") break;
      co_await net::async_sleep(25ms);
      mi = co_await redis::async_info(mc);
    }
    REQUIRE(mi);
    CHECK(mi->get("replication", "role") == "master");
    CHECK(mi->get_int("replication", "connected_slaves") == 1);
    CHECK(mi->get_int("server", "tcp_port") == m.port);
    CHECK(mi->get("server", "run_id")->size() == 40);
    CHECK(mi->total_keys() == 10);
    auto slave0 = redis::parse_info_pairs(std::string(*mi->get("replication", "slave0")));
    CHECK(slave0["port"] == std::to_string(r.port));
    CHECK(slave0["state"] == "online");

    auto ri = co_await redis::async_info(rc, "replication");
    REQUIRE(ri);
    CHECK(ri->get("replication", "role") == "slave");
    CHECK(ri->get("replication", "master_link_status") == "up");
    CHECK_FALSE(ri->has_section("server"));

    {
      auto done_ = co_await redis::async_config_set(mc, "min-replicas-to-write", "1");
      REQUIRE(done_);
    }
    auto cfg = co_await redis::async_config_get(mc, "min-replicas-to-write");
    REQUIRE(cfg);
    CHECK((*cfg)["min-replicas-to-write"] == "1");
    auto bad = co_await redis::async_config_set(mc, "no-such-parameter", "1");
    REQUIRE_FALSE(bad);
    CHECK(bad.error() == errc::error_reply);

    {
      auto done_ = co_await redis::async_replicaof(rc, std::nullopt);
      REQUIRE(done_);
    }
    auto after = co_await redis::async_role(rc);
    REQUIRE(after);
    CHECK(after->is_master());
  }(master->addr(), replica->addr()));
}
