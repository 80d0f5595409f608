// rsm: one binary for a single-master Redis service. main only dispatches.
#include "rsm/cli/app.hpp"

#include <exception>
#include <iostream>

int main(int argc, char** argv) {
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    return rsm::cli::run(args, rsm::cli::process_env(), std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "rsm: " << e.what() << "\n";
    return 1;
  }
}
