#pragma once
// Self-fencing (--fence-after), sans-io: when did a majority of the sentinels last answer, and
// is it longer ago than the fence time?
//
//   heartbeat: PING each sentinel every period ──► heard(sentinel, when the PING was sent)
//   every period ─────────────────────────────────► evaluate(known sentinels, now)
//
// A PONG describes the sentinel as of when the PING was sent. The majority's time is the
// (n/2+1)-th most recent of the sentinels' times: the fence engages when that is `after` old.
// Pings every `after`/4 with a timeout of `after`/4 refresh a live majority at least every
// `after`/2, so a healthy group (or one with a minority down) never fences, and a proxy cut
// from the sentinels at t stops taking writes by t + after (+ one period), before any failover
// can have completed (t + down-after).
#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace rsm::proxy {

class fence_clock {
 public:
  using clock = std::chrono::steady_clock;
  enum class change { none, fenced, unfenced };

  /// `after` zero or less: never fences. `start` counts as an answer from every sentinel (a
  /// proxy that never reaches a majority fences `after` later).
  fence_clock(clock::duration after, clock::time_point start) : after_(after), start_(start) {}

  void heard(const std::string& sentinel, clock::time_point sent) {
    auto& t = heard_[sentinel];
    if (sent > t) t = sent;
  }

  /// The majority's time among `known`, or nothing to fence on (no sentinel: a static master).
  change evaluate(const std::vector<std::string>& known, clock::time_point now) {
    if (!enabled() || known.empty()) return set(false);
    std::vector<clock::time_point> times;
    for (const auto& k : known) {
      auto it = heard_.find(k);
      times.push_back(it == heard_.end() ? start_ : std::max(it->second, start_));
    }
    std::sort(times.begin(), times.end(), std::greater<>());
    last_majority_ = times[known.size() / 2];
    return set(now - last_majority_ >= after_);
  }

  bool fenced() const { return fenced_; }
  bool enabled() const { return after_ > clock::duration::zero(); }
  clock::time_point last_majority() const { return last_majority_; }
  /// The heartbeat's period and its PING timeout: a quarter of the fence time, within
  /// [25 ms, 1 s].
  clock::duration period() const {
    return std::clamp<clock::duration>(after_ / 4, std::chrono::milliseconds(25),
                                       std::chrono::seconds(1));
  }

 private:
  change set(bool f) {
    if (f == fenced_) return change::none;
    fenced_ = f;
    return f ? change::fenced : change::unfenced;
  }

  clock::duration after_;
  clock::time_point start_;
  clock::time_point last_majority_{};
  std::map<std::string, clock::time_point> heard_;
  bool fenced_ = false;
};

}  // namespace rsm::proxy
