#include "rsm/cli/app.hpp"
#include "rsm/cli/commands.hpp"

namespace rsm::cli {

option_set proxy_options() {
  option_set s("proxy",
               "Relays every client to the current master: pipelines, MULTI/EXEC/WATCH, pub/sub,\n"
               "blocking commands, SELECT, AUTH. The master comes from the sentinels (or --master).");
  add_discovery_options(s);
  s.text("listen", ":8889", "address clients connect to", {}, "[HOST]:PORT")
      .text("threads", "0", "data-path threads (0: one per core)", {}, "N")
      .text("backend-mode", "shared", "shared (multiplex stateless clients) or dedicated (1:1)",
            {}, "MODE")
      .text("master", "", "static master address instead of the sentinels", {}, "HOST:PORT")
      .secret("requirepass", "password clients must AUTH with")
      .text("max-clients", "10000", "most client connections at once", {}, "N")
      .text("client-idle-timeout", "0", "close clients idle this long (0: never)", {}, "DURATION")
      .text("check-interval", "1s", "how often the master is re-verified", {}, "DURATION")
      .text("failover-hold", "5s", "how long requests wait for a master during a failover", {},
            "DURATION")
      .text("allow-command", "", "commands to allow despite the topology policy", {}, "CMD,...")
      .text("deny-command", "", "further commands to refuse", {}, "CMD,...")
      .text("metrics-listen", "", "serve Prometheus /metrics here (off when empty)", {},
            "HOST:PORT");
  return s;
}

int run_proxy(const values& v, std::ostream&, std::ostream& err) {
  v.addr("listen");
  v.dur("client-idle-timeout");
  v.dur("check-interval");
  v.dur("failover-hold");
  return not_available("proxy", 4, err);
}

}  // namespace rsm::cli
