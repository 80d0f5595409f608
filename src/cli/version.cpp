#include "rsm/build_info.hpp"
#include "rsm/cli/commands.hpp"

#include <hiredis/hiredis.h>
#include <boost/version.hpp>

namespace rsm {

std::string library_versions() {
  return "boost " + std::to_string(BOOST_VERSION / 100000) + "." +
         std::to_string(BOOST_VERSION / 100 % 1000) + "." + std::to_string(BOOST_VERSION % 100) +
         ", hiredis " + std::to_string(HIREDIS_MAJOR) + "." + std::to_string(HIREDIS_MINOR) + "." +
         std::to_string(HIREDIS_PATCH);
}

}  // namespace rsm

namespace rsm::cli {

option_set version_options() {
  return option_set("version", "Prints the version, git commit, build type and library versions.");
}

int run_version(const values&, std::ostream& out, std::ostream&) {
  out << "rsm " << build_version() << "\n"
      << "commit: " << build_commit() << "\n"
      << "build: " << build_type() << "\n"
      << "libraries: " << library_versions() << "\n";
  return 0;
}

}  // namespace rsm::cli
