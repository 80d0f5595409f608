// rsm proxy (dedicated backend mode) in front of a real redis-server.
#include "rsm/metrics/prometheus.hpp"
#include "rsm/redis/commands.hpp"
#include "rsm/redis/subscriber.hpp"
#include "rsm/resp/reply_reader.hpp"
#include "support/client.hpp"
#include "support/deadline.hpp"
#include "support/process.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <fstream>
#include <thread>

using namespace rsm;
using namespace std::chrono_literals;
using rsm::test::run_with_deadline;

namespace {

const std::string k_rsm = RSM_BINARY;

// A proxy in front of `master`, listening on a free port; ready when it accepts.
struct proxy_process {
  address addr;
  std::unique_ptr<test::child_process> child;

  proxy_process(const address& master, std::vector<std::string> extra = {}) {
    addr = {"127.0.0.1", test::free_port()};
    std::vector<std::string> argv = {k_rsm, "proxy", "--listen", addr.to_string(), "--master",
                                     master.to_string(), "--threads", "2"};
    for (auto& e : extra) argv.push_back(e);
    child = std::make_unique<test::child_process>(argv);
    if (!test::await_ping(addr, 5s)) FAIL("proxy did not start: " << child->stderr_text());
  }
};

// Sends raw bytes, reads `replies` replies back (rsm's reply reader).
std::vector<resp::reply> raw_exchange(const address& a, const std::string& bytes, std::size_t replies) {
  asio::io_context ctx;
  tcp::socket s(ctx);
  s.connect(tcp::endpoint(asio::ip::make_address(a.host), a.port));
  asio::write(s, asio::buffer(bytes));
  resp::reply_reader reader(1024 * 1024 * 1024);
  std::vector<resp::reply> out;
  std::array<char, 65536> buf;
  while (out.size() < replies) {
    error_code ec;
    auto n = s.read_some(asio::buffer(buf), ec);
    if (ec) break;
    REQUIRE(reader.feed(buf.data(), n));
    for (;;) {
      auto r = reader.next();
      REQUIRE(r);
      if (!*r) break;
      out.push_back(std::move(**r));
    }
  }
  return out;
}

}  // namespace

TEST_CASE("proxy: binary-safe values and empty bulks and large values", "[integration][proxy]") {
  auto redis = test::server_process::redis();
  proxy_process proxy(redis->addr());
  std::string binary("a\0b\r\nc\r\n", 8);
  CHECK(test::sync_command(proxy.addr, {"SET", "bin", binary}).is_ok());
  CHECK(test::sync_command(proxy.addr, {"GET", "bin"}).str == binary);
  CHECK(test::sync_command(proxy.addr, {"SET", "empty", ""}).is_ok());
  auto empty = test::sync_command(proxy.addr, {"GET", "empty"});
  CHECK(empty.type == resp::reply::kind::string);
  CHECK(empty.str.empty());
  std::string big(10 * 1024 * 1024, 'x');
  big[12345] = '\0';
  CHECK(test::sync_command(proxy.addr, {"SET", "big", big}, 10s).is_ok());
  CHECK(test::sync_command(proxy.addr, {"GET", "big"}, 10s).str == big);
  CHECK(redis->command({"STRLEN", "big"}).integer == static_cast<long long>(big.size()));
}

TEST_CASE("proxy: a 100000-command pipeline is answered in order", "[integration][proxy]") {
  auto redis = test::server_process::redis();
  proxy_process proxy(redis->addr());
  std::string pipeline;
  for (int i = 0; i < 100000; ++i) pipeline += "*2\r\n$4\r\nINCR\r\n$7\r\ncounter\r\n";
  auto replies = raw_exchange(proxy.addr, pipeline, 100000);
  REQUIRE(replies.size() == 100000);
  for (long long i = 0; i < 100000; ++i) REQUIRE(replies[i].integer == i + 1);
}

TEST_CASE("proxy: MULTI and EXEC and WATCH conflicts and DISCARD", "[integration][proxy]") {
  auto redis = test::server_process::redis();
  proxy_process proxy(redis->addr());
  auto r = raw_exchange(proxy.addr, "MULTI\r\nSET a 1\r\nINCR a\r\nEXEC\r\n", 4);
  REQUIRE(r.size() == 4);
  CHECK(r[0].is_ok());
  CHECK(r[1].str == "QUEUED");
  REQUIRE(r[3].is_array());
  CHECK(r[3].elements[1].integer == 2);

  run_with_deadline([](address p) -> awaitable<void> {
    auto a = co_await test::must_connect(test::client_options(p));
    auto b = co_await test::must_connect(test::client_options(p));
    auto w = co_await a.async_exec(resp::command{"WATCH", "w"});
    REQUIRE(w);
    auto m = co_await a.async_exec(resp::command{"MULTI"});
    REQUIRE(m);
    auto conflict = co_await b.async_exec(resp::command{"SET", "w", "other"});
    REQUIRE(conflict);
    auto q = co_await a.async_exec(resp::command{"SET", "w", "mine"});
    REQUIRE(q);
    auto exec = co_await a.async_exec(resp::command{"EXEC"});
    REQUIRE(exec);
    CHECK(exec->is_nil());
    auto m2 = co_await a.async_exec(resp::command{"MULTI"});
    REQUIRE(m2);
    auto q2 = co_await a.async_exec(resp::command{"SET", "w", "discarded"});
    REQUIRE(q2);
    auto d = co_await a.async_exec(resp::command{"DISCARD"});
    REQUIRE(d);
    CHECK(d->is_ok());
    auto g = co_await b.async_exec(resp::command{"GET", "w"});
    REQUIRE(g);
    CHECK(g->str == "other");
  }(proxy.addr));
}

TEST_CASE("proxy: SUBSCRIBE receives a PUBLISH and BLPOP wakes on LPUSH", "[integration][proxy]") {
  auto redis = test::server_process::redis();
  proxy_process proxy(redis->addr());
  run_with_deadline([](address p) -> awaitable<void> {
    auto sub = co_await redis::subscriber::async_connect(test::client_options(p));
    REQUIRE(sub);
    sub->subscribe({"news"});
    auto confirmed = co_await sub->async_receive(2s);
    REQUIRE(confirmed);
    auto pub = co_await test::must_connect(test::client_options(p));
    auto n = co_await pub.async_exec(resp::command{"PUBLISH", "news", "hello"});
    REQUIRE(n);
    CHECK(n->integer == 1);
    auto m = co_await sub->async_receive(2s);
    REQUIRE(m);
    CHECK(m->payload == "hello");

    auto o = test::client_options(p);
    o.command_timeout = 10s;
    auto waiter = co_await test::must_connect(o);
    using namespace asio::experimental::awaitable_operators;
    auto blpop = waiter.async_exec(resp::command{"BLPOP", "queue", "5"});
    auto pusher = [](address p) -> awaitable<result<resp::reply>> {
      auto c = co_await test::must_connect(test::client_options(p));
      // Others keep getting fast answers meanwhile.
      auto ping = co_await c.async_exec(resp::command{"PING"});
      if (!ping) co_return ping;
      co_return co_await c.async_exec(resp::command{"LPUSH", "queue", "job"});
    }(p);
    auto [popped, pushed] = co_await (std::move(blpop) && std::move(pusher));
    REQUIRE(popped);
    REQUIRE(popped->is_array());
    CHECK(popped->elements[1].str == "job");
    REQUIRE(pushed);
  }(proxy.addr));
}

TEST_CASE("proxy: SELECT is per client", "[integration][proxy]") {
  auto redis = test::server_process::redis();
  proxy_process proxy(redis->addr());
  auto r = raw_exchange(proxy.addr, "SELECT 3\r\nSET k in3\r\nGET k\r\n", 3);
  REQUIRE(r.size() == 3);
  CHECK(r[2].str == "in3");
  CHECK(test::sync_command(proxy.addr, {"GET", "k"}).is_nil());
}

TEST_CASE("proxy: refused commands and AUTH and QUIT and max clients and protocol errors",
          "[integration][proxy]") {
  auto redis = test::server_process::redis();
  {
    proxy_process proxy(redis->addr());
    auto refused = test::sync_command(proxy.addr, {"CONFIG", "SET", "maxmemory", "1"});
    CHECK(refused.is_error());
    CHECK(refused.str.find("'CONFIG SET'") != std::string::npos);
    CHECK(test::sync_command(proxy.addr, {"CONFIG", "GET", "maxmemory"}).is_array());
    CHECK(test::sync_command(proxy.addr, {"REPLICAOF", "NO", "ONE"}).is_error());
    // Errors from Redis pass through verbatim.
    auto wrong = test::sync_command(proxy.addr, {"INCR"});
    CHECK(wrong.str == "ERR wrong number of arguments for 'incr' command");
    // A protocol error is answered as Redis would, in order, and the connection closed.
    auto r = raw_exchange(proxy.addr, "PING\r\n*1\r\n$x\r\n", 2);
    REQUIRE(r.size() == 2);
    CHECK(r[0].str == "PONG");
    CHECK(r[1].str == "ERR Protocol error: invalid bulk length");
    auto q = raw_exchange(proxy.addr, "SET q 1\r\nQUIT\r\n", 2);
    REQUIRE(q.size() == 2);
    CHECK(q[1].is_ok());
  }
  {
    proxy_process proxy(redis->addr(), {"--allow-command", "CONFIG SET", "--requirepass", "s3cret"});
    auto r = raw_exchange(proxy.addr, "GET k\r\nAUTH wrong\r\nAUTH s3cret\r\nCONFIG SET maxmemory 0\r\n", 4);
    REQUIRE(r.size() == 4);
    CHECK(r[0].str == "NOAUTH Authentication required.");
    CHECK(r[1].str == "WRONGPASS invalid username-password pair or user is disabled.");
    CHECK(r[2].is_ok());
    CHECK(r[3].is_ok());
    auto r2 = raw_exchange(proxy.addr, "AUTH default s3cret\r\nPING\r\n", 2);
    REQUIRE(r2.size() == 2);
    CHECK(r2[1].str == "PONG");
  }
  {
    proxy_process proxy(redis->addr(), {"--requirepass", "s3cret", "--max-clients", "2"});
    // Two clients held open, each proven to be a live session by an answer (a connection that
    // closed just before may still be counted for a moment: retry until both are sessions).
    asio::io_context ctx;
    std::vector<tcp::socket> held;
    for (int attempt = 0; attempt < 100 && held.size() < 2; ++attempt) {
      tcp::socket s(ctx);
      s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), proxy.addr.port));
      asio::write(s, asio::buffer(std::string("PING\r\n")));
      std::string line;
      asio::read_until(s, asio::dynamic_buffer(line), "\r\n");
      if (line == "-NOAUTH Authentication required.\r\n") {
        held.push_back(std::move(s));
      } else {
        std::this_thread::sleep_for(20ms);
      }
    }
    REQUIRE(held.size() == 2);
    auto full = raw_exchange(proxy.addr, "PING\r\n", 1);
    REQUIRE(full.size() == 1);
    CHECK(full[0].str == "ERR max number of clients reached");
  }
}

TEST_CASE("proxy: redis-cli --pipe of 100k commands", "[integration][proxy]") {
  auto redis = test::server_process::redis();
  proxy_process proxy(redis->addr());
  test::temp_dir dir("pipe");
  auto file = dir.path() / "commands.txt";
  {
    std::ofstream out(file);
    for (int i = 0; i < 100000; ++i) out << "SET key:" << i << " " << i << "\r\n";
  }
  auto r = test::run_program({"sh", "-c", "redis-cli -p " + std::to_string(proxy.addr.port) +
                                              " --pipe < " + file.string()},
                             {}, {}, 60s);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("errors: 0, replies: 100000") != std::string::npos);
  CHECK(redis->command({"DBSIZE"}).integer == 100000);
}

TEST_CASE("proxy: /metrics counts connections and commands and refusals and rsm status shows them",
          "[integration][proxy]") {
  auto redis = test::server_process::redis();
  address metrics_addr{"127.0.0.1", test::free_port()};
  proxy_process proxy(redis->addr(), {"--metrics-listen", metrics_addr.to_string()});
  for (int i = 0; i < 5; ++i) CHECK(test::sync_command(proxy.addr, {"INCR", "n"}).integer == i + 1);
  CHECK(test::sync_command(proxy.addr, {"SHUTDOWN"}).is_error());
  auto r = test::run_program({"curl", "-sf", "http://" + metrics_addr.to_string() + "/metrics"});
  REQUIRE(r.exit_code == 0);
  auto parsed = metrics::parse_exposition(r.out);
  REQUIRE(parsed);
  auto value = [&](const std::string& name) {
    for (const auto& s : parsed->samples) {
      if (s.name == name) return s.value;
    }
    FAIL("no sample " << name << " in\n" << r.out);
    return -1.0;
  };
  // The readiness PING of proxy_process is one more connection and command.
  CHECK(value("rsm_proxy_connections_total") >= 7);
  CHECK(value("rsm_proxy_commands_total") >= 6);
  CHECK(value("rsm_proxy_refused_commands_total") == 1);
  CHECK(value("rsm_proxy_max_clients") == 10000);

  // `rsm status --proxy` reads them.
  auto st = test::run_program({k_rsm, "status", "--json", "--redis", redis->addr().to_string(),
                               "--proxy", metrics_addr.to_string()});
  INFO(st.out << st.err);
  rapidjson::Document d;
  d.Parse(st.out.c_str());
  REQUIRE_FALSE(d.HasParseError());
  REQUIRE(d.HasMember("proxy"));
  const auto& m = d["proxy"]["metrics"];
  REQUIRE(m.HasMember("rsm_proxy_refused_commands_total"));
  CHECK(m["rsm_proxy_refused_commands_total"].GetDouble() == 1);
  CHECK(m["rsm_proxy_clients"].GetDouble() >= 0);
}

TEST_CASE("proxy: --client-idle-timeout closes idle clients but not blocked ones", "[integration][proxy]") {
  auto redis = test::server_process::redis();
  proxy_process proxy(redis->addr(), {"--client-idle-timeout", "300ms"});
  asio::io_context ctx;
  tcp::endpoint ep(asio::ip::make_address(proxy.addr.host), proxy.addr.port);
  tcp::socket idle(ctx);
  idle.connect(ep);
  tcp::socket blocked(ctx);
  blocked.connect(ep);
  std::string blpop = "*3\r\n$5\r\nBLPOP\r\n$5\r\nqueue\r\n$1\r\n2\r\n";  // blocks 2 s
  asio::write(blocked, asio::buffer(blpop));
  // The idle client is closed after about 300 ms: its read ends with EOF.
  std::array<char, 64> buf;
  error_code ec;
  auto start = std::chrono::steady_clock::now();
  idle.read_some(asio::buffer(buf), ec);
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(ec == asio::error::eof);
  CHECK(took >= 250ms);
  CHECK(took < 5s);
  // The blocked client still gets its reply (a null array after 2 s), and is then idle.
  std::string got;
  while (got.find("\r\n") == std::string::npos) {
    auto n = blocked.read_some(asio::buffer(buf), ec);
    REQUIRE_FALSE(ec);
    got.append(buf.data(), n);
  }
  CHECK(got == "*-1\r\n");
}
