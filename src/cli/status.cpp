// rsm status: one observation of the group, rendered for a person or a script.
//
//   discovery (first snapshot) ──▶ observe every node and sentinel ──▶ assess ──▶ table / JSON
//                                  (and the proxy's /metrics)            exit 0 / 1 / 2
//
// The whole run is bounded by --timeout: half of it for discovery at most, the rest for the
// observation, so a hung (SIGSTOPped) node is reported unreachable instead of hanging status.
#include "rsm/cli/app.hpp"
#include "rsm/cli/commands.hpp"
#include "rsm/json.hpp"
#include "rsm/lainlet/http_client.hpp"
#include "rsm/net/runtime.hpp"
#include "rsm/net/timeout.hpp"
#include "rsm/observe/observer.hpp"
#include "rsm/observe/report.hpp"

#include <rapidjson/document.h>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <unistd.h>

#include <iostream>

namespace rsm::cli {

option_set status_options() {
  option_set s("status",
               "Prints the whole group at a glance. Exit code 0 healthy, 1 degraded, 2 no usable\n"
               "master or nothing reachable. --json prints the document described in\n"
               "docs/status.md.");
  add_discovery_options(s);
  s.flag("json", "print JSON for scripts")
      .text("proxy", "", "also show this proxy's metrics (its --metrics-listen address)", {},
            "HOST:PORT")
      .text("ctl", "", "also show this controller's state (its --http-listen address)", {},
            "HOST:PORT")
      .text("timeout", "3s", "answer within this time, marking hung nodes unreachable", {},
            "DURATION")
      .text("max-lag", "10s", "replication lag that makes the group degraded", {}, "DURATION");
  return s;
}

namespace {

struct status_job {
  std::unique_ptr<discovery::source> source;
  observe::settings observe;
  observe::assess_settings assess;
  duration timeout{};
  std::optional<address> proxy;
  std::optional<address> ctl;
  bool json = false;
  bool color = false;
  std::ostream* out = nullptr;
  int exit_code = 2;
};

awaitable<result<metrics::parsed_exposition>> fetch_proxy_metrics(address proxy, duration timeout) {
  auto r = co_await lainlet::async_get(proxy, "/metrics", timeout);
  if (!r) co_return r.error();
  if (r->status != 200) {
    co_return error(errc::unexpected_reply, "HTTP " + std::to_string(r->status));
  }
  co_return metrics::parse_exposition(r->body);
}

// The controller's /status, reduced to what a person needs at a glance.
awaitable<void> fetch_ctl_state(address ctl, duration timeout, observe::report_context* ctx) {
  ctx->ctl_address = ctl.to_string();
  auto r = co_await lainlet::async_get(ctl, "/status", timeout);
  if (!r) {
    ctx->ctl_error = r.error().message();
    co_return;
  }
  rapidjson::Document d;
  if (r->status != 200 || rsm::json::parse(d, r->body) || !d.IsObject()) {
    ctx->ctl_error = "unexpected /status answer (HTTP " + std::to_string(r->status) + ")";
    co_return;
  }
  if (d.HasMember("paused") && d["paused"].IsBool()) ctx->ctl_paused = d["paused"].GetBool();
  if (d.HasMember("dry_run") && d["dry_run"].IsBool()) ctx->ctl_dry_run = d["dry_run"].GetBool();
  if (d.HasMember("last_plan") && d["last_plan"].IsObject() && d["last_plan"].HasMember("rule") &&
      d["last_plan"]["rule"].IsString()) {
    ctx->ctl_last_rule = d["last_plan"]["rule"].GetString();
  }
}

awaitable<void> run_status_job(status_job* job) {
  using clock = std::chrono::steady_clock;
  auto deadline = clock::now() + job->timeout;
  observe::report_context ctx;
  ctx.discovery = job->source->describe();

  auto first = co_await net::with_timeout(job->source->async_next(), job->timeout / 2);
  observe::group_state g;
  g.master_name = job->observe.master_name;
  g.observed_at = std::chrono::system_clock::now();
  if (!first) {
    ctx.discovery_error = job->source->status().last_error;
    if (ctx.discovery_error.empty()) ctx.discovery_error = "no answer: " + first.error().message();
    observe::assessment a;
    a.level = observe::health::down;
    a.reasons.push_back("discovery failed: " + ctx.discovery_error);
    *job->out << (job->json ? observe::to_json(g, a, ctx)
                            : observe::to_table(g, a, ctx, job->color));
    job->exit_code = 2;
    co_return;
  }
  auto left = std::chrono::duration_cast<duration>(deadline - clock::now());
  // Leave a little time to render and exit within the promised timeout.
  job->observe.timeout = std::max(duration(100), left - duration(100));

  using namespace asio::experimental::awaitable_operators;
  if (job->proxy) {
    ctx.proxy_address = job->proxy->to_string();
    auto [state, proxy] = co_await (observe::async_observe(first->group, job->observe) &&
                                    fetch_proxy_metrics(*job->proxy, job->observe.timeout));
    g = std::move(state);
    if (proxy) {
      ctx.proxy = std::move(*proxy);
    } else {
      ctx.proxy_error = proxy.error().message();
    }
  } else {
    g = co_await observe::async_observe(first->group, job->observe);
  }
  if (job->ctl)
    co_await fetch_ctl_state(*job->ctl, std::max(duration(200), job->observe.timeout / 2), &ctx);
  auto a = observe::assess(g, job->assess);
  *job->out << (job->json ? observe::to_json(g, a, ctx) : observe::to_table(g, a, ctx, job->color));
  job->exit_code = static_cast<int>(a.level);
}

}  // namespace

int run_status(const values& v, std::ostream& out, std::ostream&) {
  // The runtime first: the job's sockets (discovery's) must go before the io_context they use.
  net::runtime rt({.data_threads = 0, .stop_deadline = std::chrono::seconds(1)});
  status_job job;
  job.timeout = v.dur("timeout");
  if (job.timeout.count() <= 0) throw usage_error("--timeout must be more than 0");
  job.assess.max_lag = v.dur("max-lag");
  job.proxy = v.addr("proxy");
  job.ctl = v.addr("ctl");
  job.observe.master_name = v.text("master-name");
  auto access = access_of(v);
  job.observe.redis = access.redis;
  job.observe.sentinel = access.sentinel;
  job.json = v.flag("json");
  job.color = &out == &std::cout && ::isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR");
  job.out = &out;
  job.source = make_discovery(v);

  rt.spawn("status", run_status_job(&job));
  int rc = rt.run();
  out.flush();
  return rc != 0 ? 2 : job.exit_code;
}

}  // namespace rsm::cli
