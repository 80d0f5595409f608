#pragma once
/// The controller loop: observe → plan → act, every --interval and at once on a discovery
/// change or a sentinel event, unless paused.
///
///   discovery ──changes──┐
///   sentinel events ─────┼──▶ trigger ──▶ observe ──▶ plan (pure) ──▶ act (re-checked)
///   every --interval ────┘                     │            │              │
///                                              └──── /status, /metrics, logs ┘
#include "rsm/ctl/act.hpp"
#include "rsm/ctl/leadership.hpp"
#include "rsm/ctl/plan.hpp"
#include "rsm/discovery/source.hpp"
#include "rsm/metrics/prometheus.hpp"
#include "rsm/observe/assessment.hpp"
#include "rsm/observe/observer.hpp"

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>

namespace rsm::ctl {

struct settings {
  config cfg;
  /// To the nodes (also given to the sentinels as auth-user/auth-pass) and to the sentinels.
  redis::credentials redis;
  redis::credentials sentinel;
  /// What the sentinels reach the nodes as (--monitor-username/--monitor-password: a user of
  /// their own, with only what Sentinel runs); no password: `redis`'s.
  redis::credentials monitor;
  duration interval{std::chrono::seconds(10)};
  duration timeout{std::chrono::seconds(2)};
  bool dry_run = false;
  /// This controller's rank among the group's controllers (lainlet's InstanceNo; 0: unknown,
  /// then it always acts), and the controllers' HTTP addresses by rank when discovery does
  /// not list them (--peers). See ctl/leadership.hpp.
  int instance = 0;
  std::vector<address> peers;
  /// Called after every pass (the CLI prints dry-run plans with it).
  std::function<void(const struct pass_report&)> on_pass;
};

/// One pass, as /status reports it.
struct pass_report {
  std::uint64_t number = 0;
  std::chrono::system_clock::time_point at{};
  std::string trigger;
  plan_result plan;
  std::vector<outcome> outcomes;
  observe::assessment assessment;
  bool paused = false;
  /// Another controller acts: this pass observed and planned only.
  bool standby = false;
};

class controller {
 public:
  controller(asio::any_io_executor ex, settings s, std::unique_ptr<discovery::source> src);
  ~controller();

  /// Waits for the next discovery snapshot (the first one: discovery answered).
  awaitable<bool> async_discover(duration timeout);
  /// One pass now (also when paused: a paused pass observes and plans but does not act).
  awaitable<pass_report> async_pass(std::string trigger = "manual");
  /// Follows discovery and the sentinels' events and runs passes until cancelled.
  awaitable<void> async_run();
  /// Ends the sentinel subscriptions (call from the runtime's stop hook, beside cancellation).
  void stop();

  /// Holds the controller (for `duration`, or until `resume`): passes observe and plan only.
  void pause(std::optional<duration> d);
  void resume();
  bool paused() const;
  /// The operator's choice of master for a fresh group whose data is in more than one
  /// replication history (plan rule b refuses to choose); logged, and a pass runs at once
  /// (POST /choose-master, `rsm ctl --choose-master`).
  void choose_master(const address& a);

  /// The /status document (JSON).
  std::string status_json() const;
  void add_metrics(metrics::exposition& e) const;
  const std::optional<pass_report>& last_pass() const;
  /// The last observation of the group (every node's INFO, for the Graphite push).
  const std::optional<observe::group_state>& last_state() const;

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace rsm::ctl
