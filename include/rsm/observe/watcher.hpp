#pragma once
/// The engine of `rsm watch` (and of `rsm up`'s event lines): every change of the group, as it
/// happens, one line each.
///
///   discovery ──────────────▶ instance-added/removed/moved ─┐
///   every sentinel's events ─▶ master-switch, sdown, odown ──┼──▶ one line per change
///   poll every interval ─────▶ node/link/lag/health changes ─┘    (text or JSON)
///
/// A master switch is printed once, from whichever source sees it first (usually a sentinel's
/// +switch-master); the poll catches what events can miss.
#include "rsm/discovery/source.hpp"
#include "rsm/net/asio.hpp"
#include "rsm/observe/assessment.hpp"
#include "rsm/observe/changes.hpp"
#include "rsm/observe/observer.hpp"
#include "rsm/observe/state.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace rsm::observe {

struct watch_settings {
  settings observe;
  assess_settings assess;
  /// How often the nodes are polled (and at once on any event).
  duration interval{std::chrono::seconds(5)};
  /// JSON lines instead of text.
  bool json = false;
  /// Only the master address, each time it changes.
  bool once_master = false;
};

/// One change as a line (no newline): `2026/11/25 10:00:00 kind k=v ...` in local time, or
/// `{"time":"...Z","event":"kind","k":"v",...}`.
std::string format_line(const change_event& e, bool json,
                        std::chrono::system_clock::time_point now);

class watcher {
 public:
  /// `sink` gets every line, without its newline.
  watcher(asio::any_io_executor ex, watch_settings s, std::unique_ptr<discovery::source> source,
          std::function<void(std::string_view)> sink);
  ~watcher();

  /// Two tasks, run side by side until cancelled: one follows discovery (and keeps a
  /// subscription to every sentinel), the other polls the nodes.
  awaitable<void> async_follow_discovery();
  awaitable<void> async_poll();
  /// Ends the sentinel subscriptions (call from the runtime's stop hook).
  void stop();

  /// The last poll's observation and assessment (none before the first poll).
  const std::optional<group_state>& state() const;
  const assessment& last_assessment() const;
  const discovery::source& source() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace rsm::observe
