#pragma once
/// Carrying out one planned action: its precondition is checked again just before, with fresh
/// connections and timeouts, and the outcome is one log line with the action's reason.
#include "rsm/ctl/plan.hpp"
#include "rsm/net/asio.hpp"
#include "rsm/redis/options.hpp"

#include <chrono>
#include <string>

namespace rsm::ctl {

struct outcome {
  action act;
  enum class status { done, skipped, failed };
  status result = status::failed;
  /// What happened: "OK", "skipped: already replicating 10.0.0.1:6379", the error, ...
  std::string detail;
  std::chrono::system_clock::time_point at{};
};
std::string_view to_string(outcome::status s);

struct act_settings {
  config cfg;
  /// To the nodes (also given to the sentinels as auth-user/auth-pass) and to the sentinels.
  redis::credentials redis;
  redis::credentials sentinel;
  duration timeout{std::chrono::seconds(2)};
  /// sentinel_reset: how long to wait for the sentinel to re-learn the group.
  duration reset_wait{std::chrono::seconds(20)};
  /// What the sentinels reach the nodes as (their auth-user/auth-pass); no password: `redis`'s.
  redis::credentials monitor{};
};

awaitable<outcome> async_act(action a, act_settings s);

}  // namespace rsm::ctl
