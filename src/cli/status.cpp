#include "rsm/cli/app.hpp"
#include "rsm/cli/commands.hpp"

namespace rsm::cli {

option_set status_options() {
  option_set s("status",
               "Prints the whole group at a glance. Exit code 0 healthy, 1 degraded, 2 no usable\n"
               "master or nothing reachable.");
  add_discovery_options(s);
  s.flag("json", "print JSON for scripts")
      .text("proxy", "", "also show this proxy's metrics address", {}, "HOST:PORT")
      .text("timeout", "3s", "answer within this time, marking hung nodes unreachable", {},
            "DURATION")
      .text("max-lag", "10s", "replication lag that makes the group degraded", {}, "DURATION");
  return s;
}

int run_status(const values& v, std::ostream&, std::ostream& err) {
  v.dur("timeout");
  return not_available("status", 7, err);
}

}  // namespace rsm::cli
