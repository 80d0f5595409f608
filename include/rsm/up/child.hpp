#pragma once
/// A program `rsm up` starts and owns (a redis-server or a redis-sentinel).
///
/// Hygiene: the program is found in PATH before the fork (the child does nothing but
/// async-signal-safe calls before exec); its stdin is /dev/null and its stdout and stderr go to
/// a log file; it gets SIGTERM if the thread that started it dies (PR_SET_PDEATHSIG), so even a
/// `kill -9` of rsm leaves no server behind. Start children from the main thread, before the
/// runtime's threads, which is also the thread that lives longest.
#include "rsm/duration.hpp"
#include "rsm/error.hpp"

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rsm::up {

class child {
 public:
  /// fork + exec `argv` (argv[0] looked up in PATH) in `cwd`, output appended to `log_file`.
  static result<child> start(const std::vector<std::string>& argv, const std::string& cwd,
                             const std::string& log_file);

  child(child&& o) noexcept;
  child& operator=(child&& o) noexcept;
  child(const child&) = delete;
  child& operator=(const child&) = delete;
  /// Stops the program (`stop` with no grace) if it still runs.
  ~child();

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  /// The wait status once the program has ended (reaped on the first call that sees it).
  std::optional<int> poll();
  /// Sends SIGTERM (nothing once it has ended).
  void terminate();
  /// SIGTERM, up to `grace` for it to exit, then SIGKILL; always reaps it.
  void stop(duration grace);

 private:
  explicit child(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
};

/// "exited with status 1", "killed by signal 9 (Killed)".
std::string describe_exit(int wait_status);

/// The full path of `name` in PATH (or `name` itself when it contains a '/').
result<std::string> find_program(std::string_view name);

/// A TCP port on `host` (an IPv4 literal) that nobody listens on now. Another process may take
/// it before the caller binds it: callers retry on a failed start.
result<std::uint16_t> free_port(const std::string& host = "127.0.0.1");

}  // namespace rsm::up
