#pragma once
/// Reading a process's Prometheus /metrics in tests.
#include "rsm/metrics/prometheus.hpp"
#include "support/process.hpp"

#include <string>

namespace rsm::test {

/// One sample from http://`at`/metrics (-1 when it is absent or the scrape fails).
inline double scrape_metric(const address& at, const std::string& name) {
  auto r = run_program({"curl", "-sf", "http://" + at.to_string() + "/metrics"});
  auto parsed = metrics::parse_exposition(r.out);
  if (r.exit_code != 0 || !parsed) return -1;
  for (const auto& s : parsed->samples) {
    if (s.name == name) return s.value;
  }
  return -1;
}

}  // namespace rsm::test
