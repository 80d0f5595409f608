#pragma once
/// Where the master is: the sentinels' word, checked with ROLE, kept fresh.
///
/// - The sentinels come from discovery and are followed as they change.
/// - Resolving: every sentinel is asked `SENTINEL get-master-addr-by-name` and `SENTINEL MASTER`
///   at once; the answer with the highest config-epoch wins (only a failover a majority of
///   sentinels authorized raises it: sentinels naming the old master are just behind), and
///   within one epoch the address most of them name; it is used only once it answers ROLE master.
/// - Pushed: `+switch-master` (and the other failover events) on every sentinel trigger a
///   resolution at once; polling every `check_interval` stays on, since events can be lost.
/// - With every sentinel down, a master verified before is kept while it still says ROLE master
///   (logged loudly).
/// The current master is published atomically for the data threads; changes are reported on the
/// control context.
#include "rsm/discovery/source.hpp"
#include "rsm/net/asio.hpp"
#include "rsm/redis/options.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace rsm::proxy {

struct master_info {
  address addr;
  /// Bumped at every change: sessions opened on an older master are closed.
  std::uint64_t generation = 0;
  /// When the tracker switched to it (published with it, so a connection that finds this master
  /// knows when the switch was however early it gets there).
  std::chrono::steady_clock::time_point since{};
};

struct tracker_settings {
  std::string master_name = "master_service";
  redis::credentials redis;     // to the nodes (ROLE check)
  redis::credentials sentinel;  // to the sentinels
  duration check_interval{std::chrono::seconds(1)};
  duration timeout{std::chrono::seconds(1)};
  /// From a sentinel's +selected-slave (a failover is about to promote a replica) the old
  /// master is not served for this long, or until the switch: what it would acknowledge then
  /// would be lost when it becomes a replica. Requests wait for the new master meanwhile.
  duration failover_pause{std::chrono::seconds(5)};
  /// Self-fencing (0: off): after this long without an answer from a majority of the known
  /// sentinels, the proxy refuses writes (pipeline_config::fenced) until a majority answers.
  duration fence_after{0};
};

class master_tracker {
 public:
  master_tracker(asio::any_io_executor control, tracker_settings s,
                 std::unique_ptr<discovery::source> src);
  ~master_tracker();

  /// Runs until cancelled.
  awaitable<void> async_run();
  /// Ends the sentinel subscriptions (call from the runtime's stop hook, beside cancellation).
  void stop();
  /// The verified master, or null (any thread).
  std::shared_ptr<const master_info> current() const;
  /// At the last resolution: the sentinels known, and how many answered (any thread).
  struct sentinel_health {
    int known = 0;
    int answering = 0;
  };
  sentinel_health sentinels() const;
  /// Whether writes are fenced now, as a flag the sessions read (any thread).
  const std::atomic<bool>* fence_flag() const;
  /// Called on the control context after every change (null: no verified master).
  void on_change(std::function<void(std::shared_ptr<const master_info>)> f);
  /// Any thread: a session saw READONLY/LOADING/MASTERDOWN — resolve again now (at most once
  /// per 250 ms: a burst of such replies from many clients asks the sentinels once).
  void suspect();

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace rsm::proxy
