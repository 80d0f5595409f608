// rsm proxy (both backend modes) in front of a real redis-server.
#include "rsm/metrics/prometheus.hpp"
#include "rsm/net/timeout.hpp"
#include "rsm/redis/commands.hpp"
#include "rsm/redis/subscriber.hpp"
#include "rsm/resp/reply_reader.hpp"
#include "support/client.hpp"
#include "support/deadline.hpp"
#include "support/metrics.hpp"
#include "support/process.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include <poll.h>

#include <fstream>
#include <set>
#include <thread>

using namespace rsm;
using namespace std::chrono_literals;
using rsm::test::run_with_deadline;

namespace {

const std::string k_rsm = RSM_BINARY;

// The backend mode the proxies of the running test use (both modes run every data-path test).
std::string g_backend_mode = "shared";
#define FOR_EACH_BACKEND_MODE()                                        \
  g_backend_mode = GENERATE(as<std::string>{}, "shared", "dedicated"); \
  INFO("backend mode: " << g_backend_mode)

// A proxy in front of `master`, listening on a free port; ready when it accepts.
struct proxy_process {
  address addr;
  std::unique_ptr<test::child_process> child;

  proxy_process(const address& master, std::vector<std::string> extra = {}) {
    addr = {"127.0.0.1", test::free_port()};
    std::vector<std::string> argv = {
        k_rsm,       "proxy", "--listen",       addr.to_string(), "--master", master.to_string(),
        "--threads", "2",     "--backend-mode", g_backend_mode};
    for (auto& e : extra) argv.push_back(e);
    child = std::make_unique<test::child_process>(argv);
    if (!test::await_ping(addr, 5s)) FAIL("proxy did not start: " << child->stderr_text());
  }
};

// Sends raw bytes, reads `replies` replies back (rsm's reply reader).
std::vector<resp::reply> raw_exchange(const address& a, const std::string& bytes,
                                      std::size_t replies) {
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
  FOR_EACH_BACKEND_MODE();
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
  FOR_EACH_BACKEND_MODE();
  auto redis = test::server_process::redis();
  proxy_process proxy(redis->addr());
  std::string pipeline;
  for (int i = 0; i < 100000; ++i) pipeline += "*2\r\n$4\r\nINCR\r\n$7\r\ncounter\r\n";
  auto replies = raw_exchange(proxy.addr, pipeline, 100000);
  REQUIRE(replies.size() == 100000);
  for (long long i = 0; i < 100000; ++i) REQUIRE(replies[i].integer == i + 1);
}

TEST_CASE("proxy: MULTI and EXEC and WATCH conflicts and DISCARD", "[integration][proxy]") {
  FOR_EACH_BACKEND_MODE();
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
  FOR_EACH_BACKEND_MODE();
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
  FOR_EACH_BACKEND_MODE();
  auto redis = test::server_process::redis();
  proxy_process proxy(redis->addr());
  auto r = raw_exchange(proxy.addr, "SELECT 3\r\nSET k in3\r\nGET k\r\n", 3);
  REQUIRE(r.size() == 3);
  CHECK(r[2].str == "in3");
  CHECK(test::sync_command(proxy.addr, {"GET", "k"}).is_nil());
}

TEST_CASE("proxy: refused commands and AUTH and QUIT and max clients and protocol errors",
          "[integration][proxy]") {
  FOR_EACH_BACKEND_MODE();
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
    proxy_process proxy(redis->addr(),
                        {"--allow-command", "CONFIG SET", "--requirepass", "s3cret"});
    auto r = raw_exchange(proxy.addr,
                          "GET k\r\nAUTH wrong\r\nAUTH s3cret\r\nCONFIG SET maxmemory 0\r\n", 4);
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

TEST_CASE("proxy: a client that does not authenticate within --auth-timeout is closed",
          "[integration][proxy]") {
  auto redis = test::server_process::redis();
  address metrics_addr{"127.0.0.1", test::free_port()};
  proxy_process proxy(redis->addr(), {"--requirepass", "s3cret", "--auth-timeout", "1s",
                                      "--metrics-listen", metrics_addr.to_string()});
  asio::io_context ctx;
  auto open = [&](const std::string& first) {
    tcp::socket s(ctx);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), proxy.addr.port));
    asio::write(s, asio::buffer(first));
    std::string line;
    asio::read_until(s, asio::dynamic_buffer(line), "\r\n");
    return std::make_pair(std::move(s), line);
  };
  auto [silent, l1] = open("PING\r\n");
  CHECK(l1 == "-NOAUTH Authentication required.\r\n");
  auto [authed, l2] = open("AUTH s3cret\r\n");
  CHECK(l2 == "+OK\r\n");
  // The unauthenticated one is closed by the sweep, within a second past the timeout.
  auto t0 = std::chrono::steady_clock::now();
  char c;
  error_code ec;
  silent.read_some(asio::buffer(&c, 1), ec);
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(ec == asio::error::eof);
  CHECK(took < 3s);
  // The authenticated one is still served.
  asio::write(authed, asio::buffer(std::string("PING\r\n")));
  std::string line;
  asio::read_until(authed, asio::dynamic_buffer(line), "\r\n");
  CHECK(line == "+PONG\r\n");
  auto r = test::run_program({"curl", "-sf", "http://" + metrics_addr.to_string() + "/metrics"});
  auto parsed = metrics::parse_exposition(r.out);
  REQUIRE(parsed);
  const auto* m = parsed->find("rsm_proxy_auth_timeouts_total");
  REQUIRE(m);
  CHECK(m->value == 1);
}

TEST_CASE("proxy: redis-cli --pipe of 100k commands", "[integration][proxy]") {
  FOR_EACH_BACKEND_MODE();
  auto redis = test::server_process::redis();
  proxy_process proxy(redis->addr());
  test::temp_dir dir("pipe");
  auto file = dir.path() / "commands.txt";
  {
    std::ofstream out(file);
    for (int i = 0; i < 100000; ++i) out << "SET key:" << i << " " << i << "\r\n";
  }
  auto r = test::run_program(
      {"sh", "-c",
       "redis-cli -p " + std::to_string(proxy.addr.port) + " --pipe < " + file.string()},
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

TEST_CASE("proxy: --client-idle-timeout closes idle clients but not blocked ones",
          "[integration][proxy]") {
  FOR_EACH_BACKEND_MODE();
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

namespace {

// A raw client on one connection: sends bytes, waits until what came back contains a text.
struct raw_client {
  asio::io_context ctx;
  tcp::socket s{ctx};
  std::string got;
  bool closed = false;  // the proxy closed the connection

  explicit raw_client(const address& a) {
    s.connect(tcp::endpoint(asio::ip::make_address(a.host), a.port));
  }
  void send(const std::string& bytes) { asio::write(s, asio::buffer(bytes)); }
  // True once `text` has arrived (within `timeout`).
  bool await_text(std::string_view text, std::chrono::milliseconds timeout = 5000ms) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (got.find(text) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{s.native_handle(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      std::array<char, 65536> buf;
      error_code ec;
      auto n = s.read_some(asio::buffer(buf), ec);
      if (ec) {
        closed = true;
        return false;
      }
      got.append(buf.data(), n);
    }
    return true;
  }
};

}  // namespace

TEST_CASE("proxy: EVAL returns nested arrays", "[integration][proxy]") {
  FOR_EACH_BACKEND_MODE();
  auto redis = test::server_process::redis();
  proxy_process proxy(redis->addr());
  auto r = test::sync_command(proxy.addr, {"EVAL", "return {1, {2, {3, 'x'}}, 'y'}", "0"});
  REQUIRE(r.is_array());
  REQUIRE(r.elements.size() == 3);
  CHECK(r.elements[0].integer == 1);
  REQUIRE(r.elements[1].elements.size() == 2);
  REQUIRE(r.elements[1].elements[1].elements.size() == 2);
  CHECK(r.elements[1].elements[1].elements[1].str == "x");
  CHECK(r.elements[2].str == "y");
}

TEST_CASE("proxy: HELLO 3 gives RESP3 replies and CLIENT TRACKING pushes invalidations",
          "[integration][proxy]") {
  FOR_EACH_BACKEND_MODE();
  auto redis = test::server_process::redis();
  proxy_process proxy(redis->addr());
  // Another session of the same thread first: it stays on the shared connection in RESP2.
  CHECK(test::sync_command(proxy.addr, {"SET", "tk", "v0"}).is_ok());
  raw_client c(proxy.addr);
  c.send("*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n");
  REQUIRE(c.await_text("proto\r\n:3\r\n"));
  CHECK(c.got.rfind("%", 0) == 0);  // a RESP3 map
  c.got.clear();
  c.send("CLIENT TRACKING on\r\nGET tk\r\nHGETALL nohash\r\n");
  REQUIRE(c.await_text("$2\r\nv0\r\n%0\r\n"));  // HGETALL of nothing: an empty RESP3 map
  CHECK(c.got.rfind("+OK\r\n", 0) == 0);
  c.got.clear();
  // Another client changes the key: the tracking client gets a push.
  CHECK(test::sync_command(proxy.addr, {"SET", "tk", "v1"}).is_ok());
  REQUIRE(c.await_text(">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\ntk\r\n"));
  // Others still get RESP2 on their connections.
  auto r = raw_exchange(proxy.addr, "HGETALL nohash\r\n", 1);
  REQUIRE(r.size() == 1);
  CHECK(r[0].is_array());
}

TEST_CASE("proxy: MONITOR sees other clients' commands", "[integration][proxy]") {
  FOR_EACH_BACKEND_MODE();
  auto redis = test::server_process::redis();
  proxy_process proxy(redis->addr());
  raw_client m(proxy.addr);
  m.send("MONITOR\r\n");
  REQUIRE(m.await_text("+OK\r\n"));
  CHECK(test::sync_command(proxy.addr, {"SET", "watched", "42"}).is_ok());
  CHECK(m.await_text("\"SET\" \"watched\" \"42\""));
}

TEST_CASE("proxy: 200 concurrent clients each doing 500 INCRs", "[integration][proxy]") {
  FOR_EACH_BACKEND_MODE();
  auto redis = test::server_process::redis();
  proxy_process proxy(redis->addr());
  constexpr int clients = 200;
  constexpr int incrs = 500;
  int monotonic_failures = 0;
  int errors = 0;
  run_with_deadline(
      [](address proxy_addr, int* monotonic_failures, int* errors) -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        int finished = 0;
        for (int i = 0; i < clients; ++i) {
          asio::co_spawn(
              ex,
              [](address a, int* mono, int* errs) -> awaitable<void> {
                auto c = co_await redis::connection::async_connect(test::client_options(a));
                if (!c) {
                  ++*errs;
                  co_return;
                }
                long long last = 0;
                for (int n = 0; n < incrs; ++n) {
                  auto r = co_await c->async_exec(resp::command{"INCR", "total"});
                  if (!r || !r->is_integer()) {
                    ++*errs;
                    co_return;
                  }
                  if (r->integer <= last) ++*mono;
                  last = r->integer;
                }
              }(proxy_addr, monotonic_failures, errors),
              [&finished](std::exception_ptr) { ++finished; });
        }
        while (finished < clients) co_await net::async_sleep(20ms);
      }(proxy.addr, &monotonic_failures, &errors),
      120s);
  CHECK(errors == 0);
  CHECK(monotonic_failures == 0);
  CHECK(redis->command({"GET", "total"}).str == std::to_string(clients * incrs));
}

namespace {

// Under a sanitizer the proxy's memory is the sanitizer's: the bounds are printed, not asserted.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool k_memory_bounds = false;
#else
constexpr bool k_memory_bounds = true;
#endif

// A field of /proc/PID/status in KiB (VmRSS, VmHWM).
long proc_kib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

// Sends `bytes` in a loop without ever reading, until all is sent, the connection fails, or
// `limit` passes. Returns the bytes sent.
std::size_t flood(tcp::socket& s, const std::string& chunk, std::size_t times,
                  std::chrono::seconds limit) {
  s.non_blocking(true);
  auto until = std::chrono::steady_clock::now() + limit;
  std::size_t sent = 0;
  for (std::size_t i = 0; i < times && std::chrono::steady_clock::now() < until;) {
    error_code ec;
    auto n = s.write_some(
        asio::buffer(chunk.data() + sent % chunk.size(), chunk.size() - sent % chunk.size()), ec);
    if (ec == asio::error::would_block) {
      pollfd p{s.native_handle(), POLLOUT, 0};
      ::poll(&p, 1, 100);
      continue;
    }
    if (ec) break;
    sent += n;
    if (sent % chunk.size() == 0) ++i;
  }
  return sent;
}

}  // namespace

TEST_CASE("proxy: a 100 MB value passes with the proxy's RSS growing by less than 16 MB",
          "[integration][proxy][memory]") {
  FOR_EACH_BACKEND_MODE();
  auto redis = test::server_process::redis();
  proxy_process proxy(redis->addr());
  auto pid = proxy.child->pid();
  auto before = proc_kib(pid, "VmRSS");
  constexpr std::size_t size = 100 * 1024 * 1024;
  {
    // SET, streamed in 1 MiB pieces.
    raw_client c(proxy.addr);
    c.send("*3\r\n$3\r\nSET\r\n$4\r\nhuge\r\n$" + std::to_string(size) + "\r\n");
    std::string piece(1024 * 1024, 'v');
    for (std::size_t i = 0; i < size / piece.size(); ++i) c.send(piece);
    c.send("\r\n");
    REQUIRE(c.await_text("+OK\r\n", 30000ms));
  }
  CHECK(redis->command({"STRLEN", "huge"}).integer == static_cast<long long>(size));
  {
    // GET, read as it comes (counted, not kept).
    raw_client c(proxy.addr);
    c.send("*2\r\n$3\r\nGET\r\n$4\r\nhuge\r\n");
    std::size_t got = 0;
    std::array<char, 65536> buf;
    auto header = "$" + std::to_string(size) + "\r\n";
    while (got < header.size() + size + 2) {
      error_code ec;
      auto n = c.s.read_some(asio::buffer(buf), ec);
      REQUIRE_FALSE(ec);
      got += n;
    }
    CHECK(got == header.size() + size + 2);
  }
  auto peak = proc_kib(pid, "VmHWM");
  std::fprintf(stderr,
               "proxy (%s) RSS before %ld KiB, peak %ld KiB: +%ld KiB for a 100 MB SET and GET\n",
               g_backend_mode.c_str(), before, peak, peak - before);
  if (k_memory_bounds) CHECK(peak - before < 16 * 1024);
}

TEST_CASE("proxy: a client pipelining 1M commands without reading keeps the proxy's RSS bounded",
          "[integration][proxy][memory]") {
  FOR_EACH_BACKEND_MODE();
  auto redis = test::server_process::redis();
  proxy_process proxy(redis->addr());
  auto pid = proxy.child->pid();
  auto before = proc_kib(pid, "VmRSS");
  // GETs of a 100-byte value: about 107 MB of replies, far more than socket buffers hold.
  REQUIRE(redis->command({"SET", "key", std::string(100, 'v')}).is_ok());
  std::string chunk;
  for (int i = 0; i < 10000; ++i) chunk += "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
  asio::io_context ctx;
  tcp::socket s(ctx);
  s.connect(tcp::endpoint(asio::ip::make_address(proxy.addr.host), proxy.addr.port));
  auto sent = flood(s, chunk, 100, 10s);  // 1M commands, or as many as go in 10 s
  // Meanwhile other clients are served.
  CHECK(test::sync_command(proxy.addr, {"PING"}, 5s).str == "PONG");
  auto peak = proc_kib(pid, "VmHWM");
  std::fprintf(stderr,
               "proxy (%s): %zu bytes of requests sent without reading; RSS before %ld KiB, peak "
               "%ld KiB (+%ld KiB)\n",
               g_backend_mode.c_str(), sent, before, peak, peak - before);
  CHECK(sent > 0);
  if (k_memory_bounds) CHECK(peak - before < 32 * 1024);
}

TEST_CASE("proxy: a subscriber that never reads keeps the proxy's RSS bounded",
          "[integration][proxy][memory]") {
  FOR_EACH_BACKEND_MODE();
  auto redis = test::server_process::redis();
  proxy_process proxy(redis->addr());
  auto pid = proxy.child->pid();
  auto before = proc_kib(pid, "VmRSS");
  raw_client sub(proxy.addr);
  sub.send("SUBSCRIBE firehose\r\n");
  REQUIRE(sub.await_text(":1\r\n"));
  // 200 MB of messages it never reads: Redis's pub/sub output limit (32 MB) ends it.
  std::string payload(100 * 1024, 'p');
  auto c = test::sync_command(proxy.addr, {"PING"});
  REQUIRE(c.str == "PONG");
  for (int i = 0; i < 2000; ++i) {
    auto r = test::sync_command(redis->addr(), {"PUBLISH", "firehose", payload}, 5s);
    if (r.is_integer() && r.integer == 0) break;  // the subscriber is gone
  }
  auto peak = proc_kib(pid, "VmHWM");
  std::fprintf(
      stderr,
      "proxy (%s): subscriber that never reads; RSS before %ld KiB, peak %ld KiB (+%ld KiB)\n",
      g_backend_mode.c_str(), before, peak, peak - before);
  if (k_memory_bounds) CHECK(peak - before < 32 * 1024);
  // (Once, under TSan in CI, the proxy was gone here: its own words, if it is.)
  INFO("proxy stderr: " << (peak < 0 ? proxy.child->stderr_text() : std::string("(running)")));
  CHECK(peak > 0);
  CHECK(test::sync_command(proxy.addr, {"PING"}, 5s).str == "PONG");
}

TEST_CASE("proxy: SIGTERM drains: replies due are answered, idle clients closed, exit 0",
          "[integration][proxy]") {
  FOR_EACH_BACKEND_MODE();
  auto redis = test::server_process::redis();
  proxy_process proxy(redis->addr());
  raw_client idle(proxy.addr);
  idle.send("PING\r\n");
  REQUIRE(idle.await_text("+PONG\r\n"));
  raw_client waiting(proxy.addr);
  waiting.send("BLPOP drain-list 0.5\r\n");
  // The BLPOP is at Redis (it blocks there) before the proxy is told to stop.
  REQUIRE(test::await_ping(redis->addr(), 5s, [&redis](const resp::reply&) {
    return redis->command({"INFO", "clients"}).str.find("blocked_clients:1") != std::string::npos;
  }));
  auto started = std::chrono::steady_clock::now();
  proxy.child->signal(SIGTERM);
  // The idle client is closed at once; the waiting one gets its (nil) reply, then the close.
  CHECK_FALSE(idle.await_text("never", 3000ms));
  CHECK(idle.closed);
  CHECK(std::chrono::steady_clock::now() - started < 1s);
  CHECK(waiting.await_text("*-1\r\n", 3000ms));
  CHECK_FALSE(waiting.await_text("never", 3000ms));
  CHECK(waiting.closed);
  CHECK(proxy.child->wait(5000ms) == 0);
}

TEST_CASE("proxy: PSUBSCRIBE receives a PUBLISH from another client", "[integration][proxy]") {
  FOR_EACH_BACKEND_MODE();
  auto redis = test::server_process::redis();
  proxy_process proxy(redis->addr());
  raw_client sub(proxy.addr);
  sub.send("PSUBSCRIBE ne*\r\n");
  REQUIRE(sub.await_text("psubscribe\r\n$3\r\nne*\r\n:1\r\n"));
  CHECK(test::sync_command(proxy.addr, {"PUBLISH", "news", "hi"}).integer == 1);
  CHECK(sub.await_text("pmessage\r\n$3\r\nne*\r\n$4\r\nnews\r\n$2\r\nhi\r\n"));
}

TEST_CASE("proxy: requests that come while a batch is at the master go together in the next write",
          "[integration][proxy]") {
  g_backend_mode = "shared";
  auto redis = test::server_process::redis();
  address metrics_addr{"127.0.0.1", test::free_port()};
  proxy_process proxy(redis->addr(), {"--metrics-listen", metrics_addr.to_string()});
  auto metric = [&](const std::string& name) { return test::scrape_metric(metrics_addr, name); };
  auto await_metric = [&](const std::string& name, double at_least) {
    auto until = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < until) {
      if (metric(name) >= at_least) return true;
      std::this_thread::sleep_for(20ms);  // polls a condition, with a bound
    }
    return false;
  };
  auto batches_before = metric("rsm_proxy_shared_batches_total");
  auto commands_before = metric("rsm_proxy_commands_total");
  REQUIRE(batches_before >= 1);  // the readiness PING

  // Redis holds every write until unpaused: the first INCR on each shared connection (one per
  // proxy thread) stays at the master, and every later one must wait in the proxy.
  REQUIRE(redis->command({"CLIENT", "PAUSE", "10000", "WRITE"}).is_ok());
  constexpr int k_clients = 30;
  std::vector<std::unique_ptr<raw_client>> clients;
  for (int i = 0; i < k_clients; ++i) {
    clients.push_back(std::make_unique<raw_client>(proxy.addr));
    clients.back()->send("*2\r\n$4\r\nINCR\r\n$7\r\nbatched\r\n");
    // One at a time: without the batch at the master holding them, each would be a write.
    REQUIRE(await_metric("rsm_proxy_commands_total", commands_before + i + 1));
  }
  REQUIRE(redis->command({"CLIENT", "UNPAUSE"}).is_ok());

  std::set<long long> seen;
  for (auto& c : clients) {
    REQUIRE(c->await_text("\r\n"));
    REQUIRE(c->got.rfind(":", 0) == 0);
    seen.insert(std::stoll(c->got.substr(1)));
  }
  CHECK(seen.size() == k_clients);  // every client its own reply
  CHECK(*seen.begin() == 1);
  CHECK(*seen.rbegin() == k_clients);
  // At most two writes per proxy thread: the first INCR, then everything that waited for it.
  auto batches = metric("rsm_proxy_shared_batches_total") - batches_before;
  INFO("batches: " << batches);
  CHECK(batches >= 1);
  CHECK(batches <= 4);
}

TEST_CASE("proxy: CONFIG GET shows no secret, and a refused command fails its transaction",
          "[integration][proxy]") {
  FOR_EACH_BACKEND_MODE();
  auto redis = test::server_process::redis({"masterauth topsecret-master"});
  proxy_process proxy(redis->addr());
  // Redis itself has it (the test would prove nothing otherwise).
  REQUIRE(redis->command({"CONFIG", "GET", "masterauth"}).elements.at(1).str == "topsecret-master");
  auto r = raw_exchange(proxy.addr,
                        "CONFIG GET masterauth\r\nCONFIG GET *\r\nCONFIG GET requirepass\r\n"
                        "CONFIG GET maxmemory\r\nPING\r\n",
                        5);
  REQUIRE(r.size() == 5);
  REQUIRE(r[0].elements.size() == 2);
  CHECK(r[0].elements[1].str == "(redacted by rsm proxy)");
  CHECK(r[1].elements.size() > 100);  // every parameter, in pairs
  for (const auto& e : r[1].elements) CHECK(e.str.find("topsecret") == std::string::npos);
  CHECK(r[2].elements.at(1).str.empty());  // not set: nothing to hide
  CHECK(r[3].elements.at(0).str == "maxmemory");
  CHECK(r[4].str == "PONG");
  {
    // RESP3: a map, redacted the same way; inline too.
    raw_client c(proxy.addr);
    c.send("HELLO 3\r\n");
    REQUIRE(c.await_text("proto\r\n:3\r\n"));
    c.got.clear();
    c.send("CONFIG GET master*\r\n");
    REQUIRE(c.await_text("(redacted by rsm proxy)\r\n"));
    CHECK(c.got.rfind("%", 0) == 0);
    CHECK(c.got.find("topsecret") == std::string::npos);
  }
  // Inside MULTI its reply would be part of EXEC's: refused, and so is the transaction.
  r = raw_exchange(proxy.addr,
                   "MULTI\r\nSET tx 1\r\nCONFIG GET masterauth\r\nEXEC\r\nGET tx\r\n"
                   "MULTI\r\nSET tx 2\r\nCONFIG SET maxmemory 1\r\nEXEC\r\nGET tx\r\n"
                   "MULTI\r\nSET tx 3\r\nEXEC\r\nGET tx\r\n",
                   14);
  REQUIRE(r.size() == 14);
  CHECK(r[2].is_error());
  CHECK(r[3].str.rfind("EXECABORT", 0) == 0);
  CHECK(r[4].is_nil());  // nothing of it ran
  CHECK(r[7].str.find("refused") != std::string::npos);
  CHECK(r[8].str.rfind("EXECABORT", 0) == 0);
  CHECK(r[9].is_nil());
  // The next transaction runs.
  REQUIRE(r[12].is_array());
  CHECK(r[13].str == "3");
}

TEST_CASE("proxy: --reply-timeout fails only the shared connection whose master owes replies",
          "[integration][proxy]") {
  g_backend_mode = "shared";
  auto redis = test::server_process::redis({"enable-debug-command yes"});
  address metrics_addr{"127.0.0.1", test::free_port()};
  proxy_process proxy(redis->addr(), {"--allow-command", "DEBUG", "--reply-timeout", "1s",
                                      "--metrics-listen", metrics_addr.to_string()});
  // DEBUG SLEEP holds the master (and so its reply) for 4 s: past the timeout.
  raw_client sleeper(proxy.addr);
  auto t0 = std::chrono::steady_clock::now();
  sleeper.send("DEBUG SLEEP 4\r\n");
  REQUIRE(sleeper.await_text("\r\n", 3500ms));
  auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(sleeper.got.rfind("-ERR rsm proxy: no reply from the master", 0) == 0);
  CHECK(sleeper.got.find("may or may not have run") != std::string::npos);
  CHECK(waited >= 900ms);
  CHECK(waited < 3s);
  CHECK(test::scrape_metric(metrics_addr, "rsm_proxy_reply_timeouts_total") >= 1);
  // The session and the proxy go on: a request while the master still sleeps times out the
  // same way on a new shared connection; once it wakes, one answers.
  bool pong = false;
  for (int i = 0; i < 8 && !pong; ++i) {
    sleeper.got.clear();
    sleeper.send("PING\r\n");
    REQUIRE(sleeper.await_text("\r\n", 3000ms));
    pong = sleeper.got == "+PONG\r\n";
    if (!pong) CHECK(sleeper.got.rfind("-ERR rsm proxy: no reply from the master", 0) == 0);
  }
  CHECK(pong);
  CHECK(test::sync_command(proxy.addr, {"SET", "after", "1"}).is_ok());
}

TEST_CASE("proxy: a client closed for not reading has its unsent requests dropped",
          "[integration][proxy]") {
  g_backend_mode = "shared";
  auto redis = test::server_process::redis({"enable-debug-command yes"});
  REQUIRE(redis->command({"SET", "big", std::string(1024 * 1024, 'b')}).is_ok());
  address metrics_addr{"127.0.0.1", test::free_port()};
  proxy_process proxy(redis->addr(),
                      {"--allow-command", "DEBUG", "--metrics-listen", metrics_addr.to_string()});
  std::string gets;
  for (int i = 0; i < 20; ++i) gets += "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n";
  // A client that never reads: 20 GETs of 1 MB go to the master in one batch behind a DEBUG
  // SLEEP; 20 more come while that batch is at the master and wait in the proxy for the next
  // write. The proxy closes the client once it holds 4 MiB and reads nothing for 300 ms.
  auto batches = [&] {
    return test::scrape_metric(metrics_addr, "rsm_proxy_shared_batches_total");
  };
  auto before = batches();
  raw_client hog(proxy.addr);
  hog.send("*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n$1\r\n1\r\n" + gets);
  auto sent_at = std::chrono::steady_clock::now();
  while (batches() == before && std::chrono::steady_clock::now() - sent_at < 5s)
    std::this_thread::sleep_for(5ms);  // polling a condition: the first batch is written
  REQUIRE(batches() > before);
  hog.send(gets);
  auto calls = [&] {
    auto info = redis->command({"INFO", "commandstats"}).str;
    auto at = info.find("cmdstat_get:calls=");
    return at == std::string::npos ? 0 : std::stoi(info.substr(at + 18));
  };
  // Once the proxy's connection that carried them has read (and dropped) every reply due and
  // closed, the master has run the first 20 GETs only: the 20 never written were dropped with
  // their client, instead of making 20 MB more that nobody would read.
  auto until = std::chrono::steady_clock::now() + 15s;
  bool settled = false;
  while (!settled && std::chrono::steady_clock::now() < until) {
    auto list = redis->command({"CLIENT", "LIST"}).str;
    settled = test::scrape_metric(metrics_addr, "rsm_proxy_slow_clients_closed_total") >= 1 &&
              list.find("cmd=get") == std::string::npos &&
              list.find("cmd=debug") == std::string::npos;
    if (!settled) std::this_thread::sleep_for(20ms);  // polling a condition, not waiting it out
  }
  REQUIRE(settled);
  CHECK(calls() == 20);
  // The proxy serves on.
  CHECK(test::sync_command(proxy.addr, {"GET", "missing"}).is_nil());
}

TEST_CASE("proxy: CLIENT INFO describes the client's own connection", "[integration][proxy]") {
  FOR_EACH_BACKEND_MODE();
  auto redis = test::server_process::redis();
  proxy_process proxy(redis->addr());
  auto r = raw_exchange(proxy.addr,
                        "CLIENT SETNAME app-7\r\nSELECT 3\r\nCLIENT ID\r\nCLIENT INFO\r\n", 4);
  REQUIRE(r.size() == 4);
  auto info = r[3].str;
  INFO(info);
  CHECK(info.rfind("id=" + std::to_string(r[2].integer) + " ", 0) == 0);
  CHECK(info.find(" name=app-7 ") != std::string::npos);
  CHECK(info.find(" db=3 ") != std::string::npos);
  CHECK(info.find(" cmd=client|info ") != std::string::npos);
  CHECK(info.find(" laddr=" + proxy.addr.to_string() + " ") != std::string::npos);
  CHECK(info.back() == '\n');
  CHECK(info.find(" resp=2") != std::string::npos);
  // HELLO's id is the same id.
  raw_client c(proxy.addr);
  c.send("CLIENT ID\r\nHELLO 3\r\n");
  REQUIRE(c.await_text("modules\r\n*0\r\n"));
  auto colon = c.got.find("\r\n");
  auto id = c.got.substr(1, colon - 1);
  CHECK(c.got.find("$2\r\nid\r\n:" + id + "\r\n") != std::string::npos);
}
