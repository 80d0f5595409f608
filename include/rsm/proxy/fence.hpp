#pragma once
// Self-fencing (--fence-after), sans-io: when did a majority of the sentinels last answer, and
// is it longer ago than the fence time?
//
//   round started ──► answers gathered ──► on_round(started, majority)
//   every tick (much shorter than the fence time) ─────────────► on_tick(now)
//
// A round's answers describe the sentinels as of when it was sent, so a round with a majority
// counts from its start. The fence engages at `last majority + after` by the tick, however
// long the rounds in flight take to time out: a proxy cut from the sentinels at t stops taking
// writes by t + after (+ one tick), before any failover can have completed (t + down-after).
#include <chrono>
#include <optional>

namespace rsm::proxy {

class fence_clock {
 public:
  using clock = std::chrono::steady_clock;
  enum class change { none, fenced, unfenced };

  /// `after` zero or less: never fences. `start`: the proxy's start counts as a majority
  /// answer (a proxy that never reaches a majority fences `after` later).
  fence_clock(clock::duration after, clock::time_point start) : after_(after), last_(start) {}

  change on_round(clock::time_point started, bool majority, clock::time_point now) {
    if (majority) {
      if (started > last_) last_ = started;
      if (fenced_) {
        fenced_ = false;
        return change::unfenced;
      }
      return change::none;
    }
    return on_tick(now);
  }

  change on_tick(clock::time_point now) {
    if (after_ <= clock::duration::zero() || fenced_ || now - last_ < after_) return change::none;
    fenced_ = true;
    return change::fenced;
  }

  bool fenced() const { return fenced_; }
  bool enabled() const { return after_ > clock::duration::zero(); }
  clock::time_point last_majority() const { return last_; }
  /// How often to tick: a tenth of the fence time, at most 100 ms, at least 10 ms.
  clock::duration tick() const {
    auto t = after_ / 10;
    if (t > std::chrono::milliseconds(100)) t = std::chrono::milliseconds(100);
    if (t < std::chrono::milliseconds(10)) t = std::chrono::milliseconds(10);
    return t;
  }

 private:
  clock::duration after_;
  clock::time_point last_;
  bool fenced_ = false;
};

}  // namespace rsm::proxy
