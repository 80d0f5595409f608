#pragma once
/// Following Sentinel's Pub/Sub events, as ctl and watch both do: one coroutine per sentinel
/// that subscribes, reconnects with back-off when the connection fails, and PINGs when silent
/// (three silent periods in a row mean a dead connection); and a set of them kept in step with
/// discovery.
#include "rsm/address.hpp"
#include "rsm/duration.hpp"
#include "rsm/net/asio.hpp"
#include "rsm/redis/options.hpp"
#include "rsm/sentinel/event.hpp"
#include "rsm/topology/group.hpp"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace rsm::sentinel {

struct follow_settings {
  address sentinel;
  redis::credentials auth;
  duration connect_timeout{std::chrono::seconds(2)};
  /// Channels to SUBSCRIBE to.
  std::vector<std::string> channels{watched_channels.begin(), watched_channels.end()};
  duration silence{std::chrono::seconds(5)};
};

struct follow_handlers {
  std::function<void(const event&)> on_event;
  /// After every successful (re)subscription.
  std::function<void()> on_subscribed;
};

/// Runs until cancelled.
awaitable<void> async_follow(follow_settings s, follow_handlers h);

/// One follower per sentinel address, started and cancelled as the set changes.
class follower_set {
 public:
  using factory = std::function<awaitable<void>(address)>;
  explicit follower_set(asio::any_io_executor ex) : ex_(std::move(ex)) {}
  ~follower_set() { stop_all(); }

  /// Starts followers for new addresses (with `make`) and cancels those no longer wanted.
  void update(const std::set<address>& wanted, const factory& make);
  /// Follows every sentinel of `group` (none without one) with `base` (its `sentinel` set per
  /// address); `on_event` and `on_subscribed` get the sentinel's address beside what they report.
  void follow_sentinels(const std::optional<topology::group>& group, const follow_settings& base,
                        std::function<void(const address&, const event&)> on_event,
                        std::function<void(const address&)> on_subscribed = {});
  void stop_all();

 private:
  asio::any_io_executor ex_;
  // Shared with each follower's completion handler: a signal must outlive the operation bound
  // to its slot, which ends some time after it was cancelled.
  std::map<address, std::shared_ptr<asio::cancellation_signal>> running_;
};

}  // namespace rsm::sentinel
