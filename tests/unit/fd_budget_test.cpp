#include "rsm/net/fd_budget.hpp"

#include <catch2/catch.hpp>

using rsm::net::fd_budget;
using rsm::net::fd_budget_input;
using rsm::net::plan_fd_budget;
using verdict = fd_budget::verdict;

TEST_CASE("fd budget: a default --max-clients is lowered to fit and an explicit one refused",
          "[limits]") {
  // Fits: 10000 clients, one descriptor each, 192 reserved, in 20000.
  auto fits = plan_fd_budget({20000, 10000, false, 1, 192});
  CHECK(fits.what == verdict::fits);
  CHECK(fits.max_clients == 10000);
  // Dedicated mode, two each: the default is lowered, with the arithmetic in the reason.
  auto lowered = plan_fd_budget({20000, 10000, false, 2, 192});
  CHECK(lowered.what == verdict::lowered);
  CHECK(lowered.max_clients == (20000 - 192) / 2);
  CHECK_THAT(lowered.reason, Catch::Contains("needs 20192 file descriptors"));
  CHECK_THAT(lowered.reason, Catch::Contains("lowered to 9904"));
  // Set by the operator: refused, with what would fit.
  auto refused = plan_fd_budget({1024, 10000, true, 1, 192});
  CHECK(refused.what == verdict::refused);
  CHECK_THAT(refused.reason, Catch::Contains("lower --max-clients to 832"));
  // Nothing fits at all: refused even as a default.
  CHECK(plan_fd_budget({100, 10000, false, 1, 192}).what == verdict::refused);
  // Exactly enough fits.
  CHECK(plan_fd_budget({10192, 10000, true, 1, 192}).what == verdict::fits);
}
