#include "rsm/proxy/fence.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using rsm::proxy::fence_clock;
using change = fence_clock::change;

namespace {
const std::vector<std::string> k_three{"s1", "s2", "s3"};
const auto t0 = fence_clock::clock::time_point{} + 100s;
}  // namespace

TEST_CASE("fence: engages the fence time after a majority last answered", "[proxy][fence]") {
  fence_clock f(1s, t0);
  // Every 250 ms all three answer: never fenced.
  for (auto t = t0; t < t0 + 3s; t += 250ms) {
    for (const auto& s : k_three) f.heard(s, t);
    CHECK(f.evaluate(k_three, t + 5ms) == change::none);
  }
  CHECK(f.last_majority() == t0 + 2750ms);
  // s3 goes quiet: two of three still answer, still not fenced.
  for (auto t = t0 + 3s; t < t0 + 6s; t += 250ms) {
    f.heard("s1", t);
    f.heard("s2", t);
    CHECK(f.evaluate(k_three, t + 5ms) == change::none);
  }
  // s2 too (last heard at 5.75 s): fenced at 6.75 s, once.
  for (auto t = t0 + 6s; t < t0 + 6750ms; t += 250ms) {
    f.heard("s1", t);
    CHECK(f.evaluate(k_three, t + 5ms) == change::none);
  }
  CHECK(f.evaluate(k_three, t0 + 6750ms) == change::fenced);
  CHECK(f.fenced());
  CHECK(f.evaluate(k_three, t0 + 8s) == change::none);
  // s3 is back: a majority again, unfenced at once.
  f.heard("s3", t0 + 8s);
  f.heard("s1", t0 + 8s);
  CHECK(f.evaluate(k_three, t0 + 8s + 5ms) == change::unfenced);
  CHECK_FALSE(f.fenced());
}

TEST_CASE("fence: an older answer does not move the clock back, and off never fences",
          "[proxy][fence]") {
  fence_clock f(1s, t0);
  f.heard("s1", t0 + 2s);
  f.heard("s1", t0 + 1s);
  f.heard("s2", t0 + 2s);
  CHECK(f.evaluate(k_three, t0 + 2s) == change::none);
  CHECK(f.last_majority() == t0 + 2s);
  // A proxy that never hears a majority fences `after` from its start.
  fence_clock g(1s, t0);
  g.heard("s1", t0 + 500ms);
  CHECK(g.evaluate(k_three, t0 + 999ms) == change::none);
  CHECK(g.evaluate(k_three, t0 + 1s) == change::fenced);
  // A sentinel the discovery no longer lists does not count.
  fence_clock h(1s, t0);
  h.heard("old1", t0 + 5s);
  h.heard("old2", t0 + 5s);
  CHECK(h.evaluate(k_three, t0 + 5s) == change::fenced);
  CHECK(h.evaluate({}, t0 + 5s) == change::unfenced);  // no sentinels: nothing to fence on

  fence_clock off(0s, t0);
  CHECK_FALSE(off.enabled());
  CHECK(off.evaluate(k_three, t0 + 1h) == change::none);
  CHECK(fence_clock(10s, t0).period() == 1s);
  CHECK(fence_clock(1s, t0).period() == 250ms);
  CHECK(fence_clock(20ms, t0).period() == 25ms);
}
