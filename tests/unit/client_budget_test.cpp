// --maxmemory-clients (proxy/client_budget.hpp): sizes in, the clients to close out.
#include "rsm/proxy/client_budget.hpp"

#include <catch2/catch.hpp>

using namespace rsm::proxy;

TEST_CASE("client budget: sizes are read as Redis reads them", "[unit][budget]") {
  CHECK(parse_memory_setting("auto")->is_auto);
  CHECK(parse_memory_setting("0")->bytes == 0);
  CHECK(parse_memory_setting("1234")->bytes == 1234);
  CHECK(parse_memory_setting("1k")->bytes == 1000);
  CHECK(parse_memory_setting("1kb")->bytes == 1024);
  CHECK(parse_memory_setting("64MB")->bytes == 64u * 1024 * 1024);
  CHECK(parse_memory_setting("2g")->bytes == 2000000000u);
  CHECK(parse_memory_setting("2gb")->bytes == 2u * 1024 * 1024 * 1024);
  for (const char* bad : {"", "mb", "-1", "1.5gb", "1 gb", "10%", "1tb", "99999999999999999999"})
    CHECK_FALSE(parse_memory_setting(bad));
  CHECK(auto_client_budget(std::nullopt) == std::size_t{1} << 30);
  CHECK(auto_client_budget(128u * 1024 * 1024) == 64u * 1024 * 1024);
}

TEST_CASE("client budget: past it, the largest clients go first, each thread its share",
          "[unit][budget]") {
  const std::size_t floor = 16 * 1024;
  std::vector<std::size_t> sizes{4096, 4'000'000, 100'000, 3'000'000, 4096};
  std::size_t total = 0;
  for (auto s : sizes) total += s;
  // Under the budget, or no budget: nobody.
  CHECK(clients_to_shed(sizes, total, total, total, floor).empty());
  CHECK(clients_to_shed(sizes, total, total, 0, floor).empty());
  // 1 byte over: the largest alone.
  CHECK(clients_to_shed(sizes, total, total, total - 1, floor) == std::vector<std::size_t>{1});
  // Over by more than the largest: the two largest.
  CHECK(clients_to_shed(sizes, total, total, total - 4'000'001, floor) ==
        std::vector<std::size_t>{1, 3});
  // Far over: everyone above the floor, largest first, never an idle one.
  CHECK(clients_to_shed(sizes, total, total, 1, floor) == std::vector<std::size_t>{1, 3, 2});
  // Another thread holds as much again: this one frees half of the excess.
  auto half = clients_to_shed(sizes, total, 2 * total, 2 * total - 6'000'000, floor);
  CHECK(half == std::vector<std::size_t>{1});
  // Nothing above the floor: nothing to close (the budget is below what idle clients need).
  std::vector<std::size_t> idle{4096, 8192};
  CHECK(clients_to_shed(idle, 12288, 12288, 100, floor).empty());
}
