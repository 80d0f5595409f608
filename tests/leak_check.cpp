// The suite's last test: fails if any process started by a fixture is still alive.
#include "support/process.hpp"

#include <signal.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <thread>

int main() {
  // A fixture's SIGKILL is reaped synchronously, so one short grace period is plenty.
  auto leaked = rsm::test::processes_under_test_root();
  for (int i = 0; i < 20 && !leaked.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    leaked = rsm::test::processes_under_test_root();
  }
  if (leaked.empty()) {
    std::cout << "no process left under " << rsm::test::test_root() << "\n";
    return 0;
  }
  for (auto pid : leaked) {
    std::ifstream cmd("/proc/" + std::to_string(pid) + "/cmdline");
    std::string line;
    std::getline(cmd, line, '\0');
    std::cerr << "leaked process " << pid << ": " << line << "\n";
    ::kill(pid, SIGKILL);  // do not leave it for the next run either
  }
  return 1;
}
