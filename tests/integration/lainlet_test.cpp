// Contract tests: rsm's lainlet client and discovery against the project's lainlet emulator.
#include "rsm/cli/app.hpp"
#include "rsm/cli/commands.hpp"
#include "rsm/discovery/source.hpp"
#include "rsm/lainlet/emulator.hpp"
#include "rsm/lainlet/http_client.hpp"
#include "rsm/net/timeout.hpp"
#include "support/deadline.hpp"
#include "support/process.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <catch2/catch.hpp>

#include <fstream>
#include <thread>

using namespace rsm;
using namespace std::chrono_literals;
using rsm::test::run_with_deadline;
using namespace asio::experimental::awaitable_operators;

namespace {

std::string procs_json(int redis2_port, bool with_redis3, bool with_sentinel2) {
  std::vector<lainlet::proc> p = {{"redis", 1, "127.0.0.1", 6379},
                                  {"redis", 2, "127.0.0.1", redis2_port},
                                  {"redis-sentinel", 1, "127.0.0.1", 26379},
                                  {"redis-ctl", 1, "127.0.0.1", 8091}};
  if (with_redis3) p.push_back({"redis", 3, "127.0.0.1", 6381});
  if (with_sentinel2) p.push_back({"redis-sentinel", 2, "127.0.0.1", 26380});
  return lainlet::to_procwatcher_json(p);
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  // Write then rename, so the emulator never reads half a file.
  auto tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
  }
  std::filesystem::rename(tmp, path);
}

discovery::lainlet_settings settings_for(address a) {
  discovery::lainlet_settings s;
  s.server = a;
  s.app = "redis-service-sm";
  s.heartbeat = 1s;
  s.connect_timeout = 1s;
  s.backoff_initial = 50ms;
  s.backoff_cap = 400ms;
  return s;
}

// An in-process emulator serving `data`, running on the caller's executor.
awaitable<std::unique_ptr<lainlet::emulator>> start_emulator(std::string data) {
  auto ex = co_await asio::this_coro::executor;
  auto emu = std::make_unique<lainlet::emulator>(ex, lainlet::emulator::settings{});
  emu->set_data(std::move(data));
  asio::co_spawn(ex, emu->async_run(), asio::detached);
  co_return emu;
}

// The next update, or nothing if none arrives within `d`.
awaitable<std::optional<discovery::update>> next_within(discovery::source& src, duration d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  auto r = co_await (src.async_next() || t.async_wait(use_nothrow));
  if (r.index() == 1) co_return std::nullopt;
  auto u = std::get<0>(std::move(r));
  if (!u) FAIL("async_next failed: " << u.error().message());
  co_return std::move(*u);
}

awaitable<discovery::update> must_next(discovery::source& src, duration d = 10s) {
  auto u = co_await next_within(src, d);
  if (!u) FAIL("no discovery update within " << to_string(d));
  co_return std::move(*u);
}

}  // namespace

TEST_CASE("the emulator's watch response starts with lainlet's exact bytes",
          "[integration][lainlet]") {
  run_with_deadline([]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    lainlet::emulator emu(ex, {});
    emu.set_data(procs_json(6380, false, false));
    asio::co_spawn(ex, emu.async_run(), asio::detached);

    tcp::socket sock(ex);
    auto a = emu.local_address();
    auto [cec] = co_await sock.async_connect(tcp::endpoint(asio::ip::make_address(a.host), a.port),
                                             use_nothrow);
    REQUIRE_FALSE(cec);
    std::string req =
        "GET /v2/procwatcher/?appname=redis-service-sm&watch=1 HTTP/1.1\r\nHost: x\r\n\r\n";
    auto [wec, wn] = co_await asio::async_write(sock, asio::buffer(req), use_nothrow);
    REQUIRE_FALSE(wec);
    const std::string want =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nVary: Accept-Encoding\r\n\r\n"
        "id: 1\nevent: init\ndata: " +
        procs_json(6380, false, false) + "\n\n";
    std::string got(want.size(), '\0');
    auto [rec, rn] = co_await asio::async_read(sock, asio::buffer(got), use_nothrow);
    REQUIRE_FALSE(rec);
    CHECK(got == want);
    emu.stop();
  }());
}

TEST_CASE("plain GETs answer as lainlet does", "[integration][lainlet]") {
  run_with_deadline([]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    lainlet::emulator emu(ex, {});
    emu.set_data(procs_json(6380, false, false));
    asio::co_spawn(ex, emu.async_run(), asio::detached);
    auto a = emu.local_address();

    auto ok = co_await lainlet::async_get(a, "/v2/procwatcher/?appname=x", 2s);
    REQUIRE(ok);
    CHECK(ok->status == 200);
    CHECK(ok->body == procs_json(6380, false, false));
    auto no_slash = co_await lainlet::async_get(a, "/v2/procwatcher?appname=x&watch=0", 2s);
    REQUIRE(no_slash);
    CHECK(no_slash->body == ok->body);
    auto missing = co_await lainlet::async_get(a, "/v2/procwatcher/", 2s);
    REQUIRE(missing);
    CHECK(missing->status == 400);
    CHECK(missing->body == "appname required");
    auto unknown = co_await lainlet::async_get(a, "/v2/nosuch", 2s);
    REQUIRE(unknown);
    CHECK(unknown->status == 404);
    CHECK(unknown->body == "404 not found");
    auto version = co_await lainlet::async_get(a, "/version", 2s);
    REQUIRE(version);
    CHECK(version->status == 200);
    CHECK_FALSE(version->body.empty());
    auto debug = co_await lainlet::async_get(a, "/debug", 2s);
    REQUIRE(debug);
    CHECK(debug->body.front() == '{');

    // A watch request without appname gets an error event, then the connection closes.
    auto w = co_await lainlet::watch_stream::async_open(a, "/v2/procwatcher/?watch=1", 2s);
    REQUIRE(w);
    std::string all;
    for (;;) {
      auto chunk = co_await w->async_read(2s);
      if (!chunk) {
        CHECK(chunk.error().code == asio::error::eof);
        break;
      }
      all += *chunk;
    }
    CHECK(all == "id: 0\nevent: error\ndata: appname required\n\n");
    emu.stop();
  }());
}

TEST_CASE("curl reads the procwatcher JSON array from the emulator", "[integration][lainlet]") {
  test::temp_dir dir("lainlet");
  auto file = dir.path() / "procs.json";
  write_file(file,
             "[\n  {\"proc\": [{\"InstanceNo\": 1, \"IP\": \"10.0.0.1\", \"Port\": 6379, "
             "\"ProcName\": \"redis\"}]}\n]\n");
  asio::io_context ctx;
  lainlet::emulator emu(ctx.get_executor(), {{"127.0.0.1", 0}, file.string(), 50ms});
  asio::co_spawn(ctx, emu.async_run(), asio::detached);
  std::thread server([&ctx] { ctx.run(); });
  auto url = "http://" + emu.local_address().to_string() + "/v2/procwatcher/?appname=x";
  auto r = test::run_program({"curl", "-s", "-i", url});
  asio::post(ctx, [&emu] { emu.stop(); });
  server.join();
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(r.out.find("Content-Type") == std::string::npos);
  // The pretty-printed file is served compact, as lainlet's encoder writes it.
  CHECK(r.out.substr(r.out.find("\r\n\r\n") + 4) ==
        R"([{"proc":[{"InstanceNo":1,"IP":"10.0.0.1","Port":6379,"ProcName":"redis"}]}])");
}

TEST_CASE("discovery follows the emulator's file: init then a diff", "[integration][lainlet]") {
  test::temp_dir dir("lainlet");
  auto file = dir.path() / "procs.json";
  write_file(file, procs_json(6380, true, false));
  run_with_deadline([](std::filesystem::path file) -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    lainlet::emulator emu(ex, {{"127.0.0.1", 0}, file.string(), 50ms});
    asio::co_spawn(ex, emu.async_run(), asio::detached);
    auto src = discovery::make_lainlet(settings_for(emu.local_address()));

    auto init = co_await must_next(*src);
    CHECK(init.group.redis.size() == 3);
    CHECK(init.group.sentinels.size() == 1);
    CHECK(init.changes.size() == 4);  // all added
    CHECK(src->status().connected);

    // Instance 2 moves to a new port, instance 3 goes away, a second sentinel comes.
    write_file(file, procs_json(6390, false, true));
    auto u = co_await must_next(*src);
    REQUIRE(u.changes.size() == 3);
    CHECK(u.changes[0].describe() == "redis 2 moved 127.0.0.1:6380 -> 127.0.0.1:6390");
    CHECK(u.changes[1].describe() == "redis 3 removed 127.0.0.1:6381");
    CHECK(u.changes[2].describe() == "sentinel 2 added 127.0.0.1:26380");
    CHECK(src->current() == u.group);
    CHECK(emu.watch_connections() == 1);
    emu.stop();
  }(file));
}

TEST_CASE("heartbeats keep a quiet watch stream alive", "[integration][lainlet]") {
  run_with_deadline([]() -> awaitable<void> {
    auto emu_ptr = co_await start_emulator(procs_json(6380, false, false));
    auto& emu = *emu_ptr;
    auto src = discovery::make_lainlet(settings_for(emu.local_address()));
    co_await must_next(*src);
    // 4.5 s of silence but for heartbeats (1 s): more than the 3 s dead-stream limit.
    auto quiet = co_await next_within(*src, 4500ms);
    CHECK_FALSE(quiet);
    CHECK(emu.watch_connections() == 1);
    CHECK(src->status().connected);
    CHECK(src->status().reconnects == 0);
    emu.stop();
  }());
}

TEST_CASE("an error event and a server close both lead to a reconnect and a fresh init",
          "[integration][lainlet]") {
  run_with_deadline([]() -> awaitable<void> {
    auto emu_ptr = co_await start_emulator(procs_json(6380, false, false));
    auto& emu = *emu_ptr;
    auto src = discovery::make_lainlet(settings_for(emu.local_address()));
    co_await must_next(*src);

    // The data changes and the stream ends with an error event before any update is sent
    // (the emulator sends the error first): only a fresh init can carry the new data.
    emu.set_data(procs_json(6391, false, false));
    emu.send_error("authorize failed, no permission");
    auto after_error = co_await must_next(*src);
    CHECK(after_error.group.redis.at(2).port == 6391);
    CHECK(emu.watch_connections() == 2);

    emu.set_data(procs_json(6392, false, false));
    emu.close_watchers();
    // The update may or may not have been written before the close; either way the new data
    // arrives, over a new connection.
    auto after_close = co_await must_next(*src);
    CHECK(after_close.group.redis.at(2).port == 6392);
    for (int i = 0; i < 100 && emu.watch_connections() < 3; ++i) co_await net::async_sleep(20ms);
    CHECK(emu.watch_connections() == 3);
    CHECK(src->status().reconnects == 2);
    emu.stop();
  }());
}

TEST_CASE("a lainlet outage means back-off then recovery", "[integration][lainlet]") {
  run_with_deadline([]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto emu = std::make_unique<lainlet::emulator>(ex, lainlet::emulator::settings{});
    auto addr = emu->local_address();
    emu->set_data(procs_json(6380, false, false));
    asio::co_spawn(ex, emu->async_run(), asio::detached);
    auto src = discovery::make_lainlet(settings_for(addr));
    auto first = co_await must_next(*src);

    emu->stop();
    emu.reset();
    // Down for a while: the client keeps trying (and failing) without delivering anything.
    auto during = co_await next_within(*src, 1500ms);
    CHECK_FALSE(during);
    CHECK_FALSE(src->status().connected);
    CHECK_THAT(src->status().last_error, Catch::Contains("lainlet"));
    CHECK(src->current() == first.group);  // the last good snapshot stays

    // Back, on the same address, with new data.
    lainlet::emulator again(ex, {addr, "", 100ms});
    again.set_data(procs_json(6399, false, false));
    asio::co_spawn(ex, again.async_run(), asio::detached);
    auto recovered = co_await must_next(*src, 5s);
    CHECK(recovered.group.redis.at(2).port == 6399);
    CHECK(src->status().connected);
    CHECK(src->status().last_error.empty());
    again.stop();
  }());
}

TEST_CASE("garbage JSON is reported and the last good snapshot is kept", "[integration][lainlet]") {
  run_with_deadline([]() -> awaitable<void> {
    auto emu_ptr = co_await start_emulator(procs_json(6380, false, false));
    auto& emu = *emu_ptr;
    auto src = discovery::make_lainlet(settings_for(emu.local_address()));
    auto good = co_await must_next(*src);

    emu.set_data("{this is not json");
    auto none = co_await next_within(*src, 700ms);
    CHECK_FALSE(none);
    CHECK(src->current() == good.group);
    CHECK_THAT(src->status().last_error, Catch::Contains("not JSON"));

    emu.set_data("{\"an\":\"object\"}");
    none = co_await next_within(*src, 500ms);
    CHECK_FALSE(none);
    CHECK_THAT(src->status().last_error, Catch::Contains("should be an array"));

    emu.set_data(procs_json(6393, false, false));
    auto fixed = co_await must_next(*src);
    CHECK(fixed.group.redis.at(2).port == 6393);
    CHECK(src->status().last_error.empty());
    CHECK(emu.watch_connections() == 1);  // bad data is not a reason to reconnect
    emu.stop();
  }());
}

TEST_CASE("deep nesting and an empty snapshot keep the last good one", "[integration][lainlet]") {
  run_with_deadline([]() -> awaitable<void> {
    auto emu_ptr = co_await start_emulator(procs_json(6380, false, true));
    auto& emu = *emu_ptr;
    auto src = discovery::make_lainlet(settings_for(emu.local_address()));
    auto good = co_await must_next(*src);

    emu.set_data(std::string(1 << 20, '['));  // recursion would overflow the stack
    auto none = co_await next_within(*src, 700ms);
    CHECK_FALSE(none);
    CHECK(src->current() == good.group);
    CHECK_THAT(src->status().last_error, Catch::Contains("nest"));

    emu.set_data("[]");
    none = co_await next_within(*src, 700ms);
    CHECK_FALSE(none);
    CHECK(src->current() == good.group);
    CHECK_THAT(src->status().last_error,
               Catch::Contains("every redis node (2) and every sentinel (2)"));

    // Still following: a real change is applied.
    emu.set_data(procs_json(6393, false, true));
    auto fixed = co_await must_next(*src);
    CHECK(fixed.group.redis.at(2).port == 6393);
    CHECK(src->status().last_error.empty());
    emu.stop();
  }());
}

TEST_CASE("static and lainlet discovery give identical topologies for the same data",
          "[integration][lainlet]") {
  test::temp_dir dir("lainlet");
  auto file = dir.path() / "procs.json";
  write_file(file, procs_json(6380, true, true));
  run_with_deadline([](std::filesystem::path file) -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    lainlet::emulator emu(ex, {{"127.0.0.1", 0}, file.string(), 50ms});
    asio::co_spawn(ex, emu.async_run(), asio::detached);

    auto env = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
    auto set = cli::ctl_options();
    auto from_lainlet =
        cli::make_discovery(cli::parse(set, {"--lainlet", emu.local_address().to_string()}, env));
    auto from_file = cli::make_discovery(cli::parse(set, {"--topology", file.string()}, env));
    auto from_lists =
        cli::make_discovery(cli::parse(set,
                                       {"--redis", "127.0.0.1:6379,127.0.0.1:6380,127.0.0.1:6381",
                                        "--sentinels", "127.0.0.1:26379,127.0.0.1:26380"},
                                       env));
    auto a = co_await must_next(*from_lainlet);
    auto b = co_await must_next(*from_file);
    auto c = co_await must_next(*from_lists);
    CHECK(a.group == b.group);
    // Static lists name no controllers; lainlet's and the file's `redis-ctl` procs are them.
    CHECK(a.group.redis == c.group.redis);
    CHECK(a.group.sentinels == c.group.sentinels);
    CHECK(c.group.controllers.empty());
    CHECK(a.group.controllers == std::map<int, address>{{1, {"127.0.0.1", 8091}}});
    CHECK(a.changes == b.changes);
    CHECK(a.group.redis.size() == 3);
    CHECK(a.group.sentinels.size() == 2);
    emu.stop();
  }(file));
}
