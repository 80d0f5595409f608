// The usable cores and the proxy's default data-thread count (net/cores.hpp).
#include "rsm/net/cores.hpp"

#include <catch2/catch.hpp>

using namespace rsm;

TEST_CASE("cores: a cgroup quota in whole cores, and the default thread count", "[unit][cores]") {
  CHECK_FALSE(net::cores_from_cpu_max("max 100000\n"));
  CHECK(net::cores_from_cpu_max("100000 100000\n") == 1u);
  CHECK(net::cores_from_cpu_max("150000 100000") == 2u);  // 1.5 cores: 2 threads may run
  CHECK(net::cores_from_cpu_max("10000 100000") == 1u);
  CHECK(net::cores_from_cpu_max("800000 100000\n") == 8u);
  for (auto bad : {"", "garbage", "-1 100000", "100000 0", "1x 100000", "100000"}) {
    INFO(bad);
    CHECK_FALSE(net::cores_from_cpu_max(bad));
  }
  auto cores = net::available_cores();
  CHECK(cores >= 1);
  CHECK(net::default_data_threads(1) == 1);
  CHECK(net::default_data_threads(2) == 1);
  CHECK(net::default_data_threads(8) == 2);
  CHECK(net::default_data_threads(16) == 4);
  CHECK(net::default_data_threads(128) == 4);
}
