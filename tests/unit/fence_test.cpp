#include "rsm/proxy/fence.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using rsm::proxy::fence_clock;
using change = fence_clock::change;

TEST_CASE("fence: engages the fence time after the last majority answer, by the tick",
          "[proxy][fence]") {
  const auto t0 = fence_clock::clock::time_point{} + 100s;
  fence_clock f(2s, t0);
  // A round that starts at t0 + 1 s hears the majority: the clock counts from its start.
  CHECK(f.on_round(t0 + 1s, true, t0 + 1s + 300ms) == change::none);
  CHECK(f.last_majority() == t0 + 1s);
  // Cut at t0 + 1.5 s: the rounds in flight time out, but the tick fences at t0 + 3 s.
  CHECK(f.on_tick(t0 + 2900ms) == change::none);
  CHECK(f.on_round(t0 + 2s, false, t0 + 2999ms) == change::none);
  CHECK(f.on_tick(t0 + 3s) == change::fenced);
  CHECK(f.fenced());
  CHECK(f.on_tick(t0 + 4s) == change::none);  // one edge only
  CHECK(f.on_round(t0 + 4s, false, t0 + 5s) == change::none);
  // A majority again: unfenced at once.
  CHECK(f.on_round(t0 + 6s, true, t0 + 6s + 10ms) == change::unfenced);
  CHECK_FALSE(f.fenced());
  CHECK(f.on_tick(t0 + 7s) == change::none);
  CHECK(f.on_tick(t0 + 8s) == change::fenced);
}

TEST_CASE("fence: an older round's answer does not move the clock back, and off never fences",
          "[proxy][fence]") {
  const auto t0 = fence_clock::clock::time_point{} + 100s;
  fence_clock f(1s, t0);
  CHECK(f.on_round(t0 + 2s, true, t0 + 2s) == change::none);
  CHECK(f.on_round(t0 + 1s, true, t0 + 2500ms) == change::none);
  CHECK(f.last_majority() == t0 + 2s);
  // A proxy that never hears a majority fences `after` from its start.
  fence_clock g(1s, t0);
  CHECK(g.on_round(t0, false, t0 + 999ms) == change::none);
  CHECK(g.on_round(t0 + 10ms, false, t0 + 1s) == change::fenced);

  fence_clock off(0s, t0);
  CHECK_FALSE(off.enabled());
  CHECK(off.on_tick(t0 + 1h) == change::none);
  CHECK(off.on_round(t0, false, t0 + 1h) == change::none);
  CHECK(fence_clock(10s, t0).tick() == 100ms);
  CHECK(fence_clock(500ms, t0).tick() == 50ms);
  CHECK(fence_clock(20ms, t0).tick() == 10ms);
}
