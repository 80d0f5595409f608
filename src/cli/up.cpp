#include "rsm/cli/app.hpp"
#include "rsm/cli/commands.hpp"

namespace rsm::cli {

option_set up_options() {
  option_set s("up",
               "Starts a complete local service: redis-servers and sentinels on free loopback\n"
               "ports, the lainlet emulator, the controller and the proxy, in one process.");
  s.text("redis", "3", "how many redis-servers", {}, "N")
      .text("sentinels", "3", "how many sentinels", {}, "N")
      .text("dir", "", "work directory (default: a new temporary directory)", {}, "DIR")
      .text("port", "8889", "the proxy's port on 127.0.0.1", {}, "PORT");
  return s;
}

int run_up(const values& v, std::ostream&, std::ostream& err) {
  v.integer("redis", 1, 64);
  return not_available("up", 8, err);
}

}  // namespace rsm::cli
