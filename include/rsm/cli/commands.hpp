#pragma once
/// One pair per command: its options and its entry point (each in src/cli/<command>.cpp).
#include "rsm/cli/options.hpp"

#include <ostream>

namespace rsm::cli {

option_set proxy_options();
int run_proxy(const values& v, std::ostream& out, std::ostream& err);

option_set ctl_options();
int run_ctl(const values& v, std::ostream& out, std::ostream& err);

option_set watch_options();
int run_watch(const values& v, std::ostream& out, std::ostream& err);

option_set status_options();
int run_status(const values& v, std::ostream& out, std::ostream& err);

option_set up_options();
int run_up(const values& v, std::ostream& out, std::ostream& err);

option_set lainlet_options();
int run_lainlet(const values& v, std::ostream& out, std::ostream& err);

option_set version_options();
int run_version(const values& v, std::ostream& out, std::ostream& err);

}  // namespace rsm::cli
