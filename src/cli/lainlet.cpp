#include "rsm/cli/app.hpp"
#include "rsm/cli/commands.hpp"
#include "rsm/lainlet/emulator.hpp"
#include "rsm/log.hpp"
#include "rsm/net/runtime.hpp"

namespace rsm::cli {

option_set lainlet_options() {
  option_set s("lainlet",
               "A lainlet-compatible emulator: serves /v2/procwatcher (plain and watch) from a\n"
               "procwatcher JSON file, re-read when it changes. For tests and local stacks.");
  s.text("file", "", "procwatcher JSON file to serve (required)", {}, "FILE")
      .text("listen", "127.0.0.1:9001", "address to serve on", {}, "HOST:PORT");
  return s;
}

int run_lainlet(const values& v, std::ostream&, std::ostream& err) {
  auto file = v.text("file");
  if (file.empty()) throw usage_error("--file is required");
  auto listen = *v.addr("listen");
  net::runtime rt({});
  std::unique_ptr<lainlet::emulator> emu;
  try {
    emu = std::make_unique<lainlet::emulator>(rt.control().get_executor(),
                                              lainlet::emulator::settings{listen, file, {}});
  } catch (const std::exception& e) {
    err << "rsm lainlet: cannot listen on " << listen.to_string() << ": " << e.what() << "\n";
    return 1;
  }
  rt.on_stop([&emu] { emu->stop(); });
  log::info("lainlet", "serving", {{"addr", emu->local_address().to_string()}, {"file", file}});
  rt.spawn("lainlet-emulator", emu->async_run());
  return rt.run();
}

}  // namespace rsm::cli
