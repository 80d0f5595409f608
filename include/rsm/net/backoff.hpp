#pragma once
/// Exponential back-off with jitter, capped (sans-io: the caller sleeps).
#include "rsm/duration.hpp"

#include <cstdint>
#include <random>

namespace rsm::net {

class backoff {
 public:
  backoff(duration initial, duration cap, std::uint64_t seed = std::random_device{}())
      : initial_(initial), cap_(cap), current_(initial), rng_(seed) {}

  /// The next delay: a random value in [d/2, d] where d doubles from `initial` up to `cap`.
  duration next() {
    auto d = current_;
    current_ = std::min(cap_, current_ * 2);
    std::uniform_int_distribution<long long> pick(d.count() / 2, d.count());
    return duration{pick(rng_)};
  }
  /// After a success: start again from `initial`.
  void reset() { current_ = initial_; }

 private:
  duration initial_;
  duration cap_;
  duration current_;
  std::mt19937_64 rng_;
};

}  // namespace rsm::net
