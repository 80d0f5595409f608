#include "rsm/cli/app.hpp"
#include "rsm/cli/commands.hpp"

namespace rsm::cli {

option_set ctl_options() {
  option_set s("ctl",
               "Learns the redis nodes and sentinels, bootstraps replication, registers the\n"
               "master with every sentinel, then keeps checking and repairing the group.");
  add_discovery_options(s);
  s.text("interval", "10s", "time between passes (also run at once on any change)", {},
         "DURATION")
      .text("quorum", "0", "sentinel quorum (0: a majority of the sentinels)", {}, "N")
      .text("down-after", "30s", "SENTINEL SET down-after-milliseconds", {}, "DURATION")
      .text("parallel-syncs", "1", "SENTINEL SET parallel-syncs", {}, "N")
      .text("failover-timeout", "3m", "SENTINEL SET failover-timeout", {}, "DURATION")
      .flag("dry-run", "observe and print each pass's plan without acting")
      .flag("no-promote", "never promote a replica when Sentinel cannot elect one")
      .text("min-replicas-to-write", "0", "CONFIG SET min-replicas-to-write on every node", {},
            "N")
      .text("min-replicas-max-lag", "10s", "CONFIG SET min-replicas-max-lag on every node", {},
            "DURATION")
      .text("http-listen", ":8091", "serve /status, /metrics, /pause, /resume here", {},
            "HOST:PORT")
      .text("graphite", "", "push node metrics to Graphite (default graphite.lain:2003 on LAIN)",
            {}, "HOST:PORT")
      .text("metrics-interval", "60s", "Graphite push period", {}, "DURATION")
      .text("domain", "", "LAIN domain, the Graphite key prefix", {"LAIN_DOMAIN"}, "DOMAIN");
  return s;
}

int run_ctl(const values& v, std::ostream&, std::ostream& err) {
  v.dur("interval");
  return not_available("ctl", 6, err);
}

}  // namespace rsm::cli
