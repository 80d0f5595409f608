#include "rsm/cli/app.hpp"
#include "rsm/cli/commands.hpp"

namespace rsm::cli {

option_set watch_options() {
  option_set s("watch",
               "Follows lainlet, the sentinels' events and the nodes, and prints one line per\n"
               "change as it happens.");
  add_discovery_options(s);
  s.text("interval", "5s", "how often the nodes are polled", {}, "DURATION")
      .text("max-lag", "10s", "replication lag reported as a problem", {}, "DURATION")
      .flag("json", "print JSON lines")
      .flag("once-master", "print only the master address, each time it changes")
      .text("graphite", "", "push node metrics to Graphite", {}, "HOST:PORT")
      .text("metrics-listen", "", "serve Prometheus /metrics here (off when empty)", {},
            "HOST:PORT");
  return s;
}

int run_watch(const values& v, std::ostream&, std::ostream& err) {
  v.dur("interval");
  return not_available("watch", 7, err);
}

}  // namespace rsm::cli
