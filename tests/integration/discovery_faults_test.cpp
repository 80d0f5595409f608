// Every mode that reads lainlet (proxy, ctl, watch, status) against a lainlet gone bad: 1 MB of
// '[' (a recursive parser overflows its stack) and then a snapshot of `[]` (every node removed
// at once). The long-running ones stay up, keep the last good view and still follow a failover
// of the real group underneath; the one-shot one says what is wrong and exits.
#include "rsm/lainlet/emulator.hpp"
#include "support/client.hpp"
#include "support/group.hpp"
#include "support/metrics.hpp"
#include "support/process.hpp"

#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include <fstream>
#include <thread>

using namespace rsm;
using namespace std::chrono_literals;

namespace {

const std::string k_rsm = RSM_BINARY;

void write_file(const std::filesystem::path& path, const std::string& text) {
  auto tmp = path.string() + ".tmp";  // then rename: the emulator never reads half a file
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
  }
  std::filesystem::rename(tmp, path);
}

// Waits (bounded) until the child's stderr contains `needle`.
bool stderr_has(const test::child_process& c, std::string_view needle,
                std::chrono::milliseconds timeout = 10s) {
  for (auto until = std::chrono::steady_clock::now() + timeout;;) {
    if (c.stderr_text().find(needle) != std::string::npos) return true;
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(50ms);
  }
}

// Waits (bounded) until `probe()` holds.
template <class Probe>
bool eventually(Probe probe, std::chrono::milliseconds timeout) {
  for (auto until = std::chrono::steady_clock::now() + timeout;;) {
    if (probe()) return true;
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(200ms);
  }
}

}  // namespace

TEST_CASE(
    "a lainlet serving deep nesting then an empty group: every mode stays up and follows a "
    "failover",
    "[integration][lainlet][failover]") {
  test::group g;
  test::temp_dir dir("badlainlet");
  auto file = dir.path() / "procs.json";
  write_file(file, g.procwatcher_json());
  asio::io_context ctx;
  lainlet::emulator emu(ctx.get_executor(), {{"127.0.0.1", 0}, file.string(), 50ms});
  asio::co_spawn(ctx, emu.async_run(), asio::detached);
  std::thread server([&ctx] { ctx.run(); });
  struct stop_server {
    asio::io_context& ctx;
    lainlet::emulator& emu;
    std::thread& t;
    ~stop_server() {
      asio::post(ctx, [this] { emu.stop(); });
      t.join();
    }
  } stopper{ctx, emu, server};
  auto lainlet = emu.local_address().to_string();

  address proxy_addr{"127.0.0.1", test::free_port()};
  test::child_process proxy({k_rsm, "proxy", "--listen", proxy_addr.to_string(), "--lainlet",
                             lainlet, "--check-interval", "500ms", "--failover-hold", "10s"});
  address ctl_http{"127.0.0.1", test::free_port()};
  test::child_process ctl({k_rsm, "ctl", "--lainlet", lainlet, "--http-listen",
                           ctl_http.to_string(), "--interval", "1s", "--timeout", "1s",
                           "--down-after", "1s", "--failover-timeout", "5s"});
  test::child_process watch(
      {k_rsm, "watch", "--json", "--interval", "1s", "--timeout", "500ms", "--lainlet", lainlet});
  auto logs = [&] {
    return "proxy:\n" + proxy.stderr_text() + "\nctl:\n" + ctl.stderr_text() + "\nwatch:\n" +
           watch.stderr_text();
  };

  REQUIRE(test::await_ping(proxy_addr, 10s, [](const resp::reply& r) { return r.str == "PONG"; }));
  REQUIRE(watch.wait_for("\"instance-added\"", 10s));
  auto ctl_status = [&] {
    return test::run_program(
               {"curl", "-s", "--max-time", "2", "http://" + ctl_http.to_string() + "/status"})
        .out;
  };
  // The controller's view: its master's address and its discovery error.
  auto ctl_view = [&] {
    std::pair<std::string, std::string> v;
    rapidjson::Document d;
    d.Parse(ctl_status().c_str());
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("observed")) return v;
    const auto& o = d["observed"];
    if (o["master"].IsObject()) v.first = o["master"]["address"].GetString();
    if (o["discovery"]["error"].IsString()) v.second = o["discovery"]["error"].GetString();
    return v;
  };
  auto master = g.redis[0]->addr().to_string();
  if (!eventually([&] { return ctl_view().first == master; }, 10s))
    FAIL("the controller does not name " << master << ": " << ctl_status() << "\n" << logs());

  // 1 MB of '[': each says what is wrong and keeps its view.
  write_file(file, std::string(1 << 20, '['));
  for (auto* c : {&proxy, &ctl, &watch}) CHECK(stderr_has(*c, "nested deeper than 64 levels"));
  auto st = test::run_program({k_rsm, "status", "--lainlet", lainlet, "--timeout", "1s"});
  INFO("status: " << st.out << st.err);
  CHECK(st.exit_code < 128);  // not killed by a signal
  CHECK(st.exit_code != 0);
  CHECK_THAT(st.err + st.out, Catch::Contains("nested deeper than 64 levels"));

  // `[]`: not applied.
  write_file(file, "[]");
  for (auto* c : {&proxy, &ctl, &watch})
    CHECK(stderr_has(*c, "every redis node (3) and every sentinel (3) at once is not applied"));
  CHECK(test::sync_command(proxy_addr, {"SET", "before", "1"}).is_ok());
  CHECK_THAT(ctl_view().second, Catch::Contains("not applied"));

  // The group underneath fails over; all three follow it on the view they kept.
  g.redis[0]->kill();
  auto switched = watch.wait_for("\"master-switch\"", 30s);
  CHECK(switched);
  CHECK(eventually(
      [&] {
        auto c = test::sync_command(proxy_addr, {"SET", "after", "1"});
        return c.is_ok();
      },
      30s));
  auto now = g.current_master();
  CHECK(now.to_string() != master);
  CHECK(eventually([&] { return ctl_view().first == now.to_string(); }, 20s));
  for (const auto& r : g.redis)
    if (r->running() && r->addr() == now) CHECK(r->command({"GET", "after"}).str == "1");

  INFO(logs());
  CHECK(proxy.stop() == 0);  // 128 + the signal had one of them crashed
  CHECK(ctl.stop() == 0);
  CHECK(watch.stop() == 0);
}
