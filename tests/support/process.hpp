#pragma once
/// Test fixtures: real redis-server and redis-sentinel processes on free loopback ports, each in
/// a temporary directory under `test_root()`, always stopped (SIGKILL) when the fixture goes
/// away, also when a test fails or throws. A child also dies with the test process
/// (PR_SET_PDEATHSIG), and the suite's last test checks that none survived.
#include "rsm/address.hpp"
#include "rsm/resp/reply.hpp"

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rsm::test {

/// `$RSM_TEST_ROOT` (CTest sets it per build directory), else `$TMPDIR/rsm-tests`: every
/// fixture directory is below it.
std::filesystem::path test_root();

/// A fresh directory below test_root(), removed with everything in it on destruction.
class temp_dir {
 public:
  explicit temp_dir(const std::string& prefix = "dir");
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// A loopback port that was free a moment ago.
std::uint16_t free_port();

/// One synchronous command over hiredis's blocking API (independent of rsm's client).
/// Throws on a connection failure.
resp::reply sync_command(const address& a, const std::vector<std::string>& args,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

class server_process {
 public:
  enum class kind { redis, sentinel };

  /// Starts a server with the fixture's base config plus `extra` lines, and waits (up to 10 s)
  /// until it answers PING. Throws with the server's log on failure.
  static std::unique_ptr<server_process> start(kind k, std::vector<std::string> extra = {});
  static std::unique_ptr<server_process> redis(std::vector<std::string> extra = {}) {
    return start(kind::redis, std::move(extra));
  }
  static std::unique_ptr<server_process> sentinel(std::vector<std::string> extra = {}) {
    return start(kind::sentinel, std::move(extra));
  }

  ~server_process();
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  address addr() const { return {"127.0.0.1", port_}; }
  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  const std::filesystem::path& dir() const { return dir_.path(); }

  /// One command to this server (see sync_command).
  resp::reply command(const std::vector<std::string>& args) const;

  void pause();   // SIGSTOP
  void resume();  // SIGCONT
  /// SIGKILL and reap.
  void kill();
  /// Starts again on the same port and directory (after kill()).
  void restart();
  /// The same with a new set of extra config lines (e.g. a sentinel that forgot everything).
  void restart(std::vector<std::string> extra);

 private:
  server_process(kind k, std::vector<std::string> extra);
  void launch();
  std::string log_tail() const;

  kind kind_;
  std::vector<std::string> extra_;
  temp_dir dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

/// Sends PING to `a` until a reply is `accept`ed (by default: any reply, NOAUTH too), within
/// `timeout`; false if none was.
bool await_ping(const address& a, std::chrono::milliseconds timeout,
                const std::function<bool(const resp::reply&)>& accept = {});

/// Result of running a program to completion.
struct process_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs `argv` with extra environment variables (others inherited, except those in `unset`),
/// waits at most `timeout`, and returns its exit code and output.
process_result run_program(const std::vector<std::string>& argv,
                           const std::map<std::string, std::string>& env = {},
                           const std::vector<std::string>& unset = {},
                           std::chrono::milliseconds timeout = std::chrono::milliseconds(20000));

/// A program running in the background whose stdout is read line by line (stderr goes to a
/// file). Killed (SIGTERM, then SIGKILL) and reaped on destruction.
class child_process {
 public:
  child_process(const std::vector<std::string>& argv,
                const std::map<std::string, std::string>& env = {});
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// The next line of stdout (without '\n'), or nothing if none came within `timeout` or the
  /// program closed its stdout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  /// Reads lines until one contains `needle`; returns it, or nothing at the timeout.
  std::optional<std::string> wait_for(std::string_view needle, std::chrono::milliseconds timeout);
  /// Every line read so far.
  const std::vector<std::string>& lines() const { return lines_; }
  std::string stderr_text() const;
  pid_t pid() const { return pid_; }
  /// SIGTERM, then waits up to `timeout` for the exit code (SIGKILL after it).
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    return stop(SIGTERM, timeout);
  }
  /// The same with another signal (SIGINT: what Ctrl-C sends).
  int stop(int signal, std::chrono::milliseconds timeout);
  /// Sends `signal` and returns at once (see wait).
  void signal(int signal) const;
  /// Waits up to `timeout` for the exit code (SIGKILL after it), sending nothing.
  int wait(std::chrono::milliseconds timeout);
  /// Whether SIGKILL was needed by the last stop.
  bool was_killed() const { return killed_; }

 private:
  pid_t pid_ = -1;
  bool killed_ = false;
  int out_fd_ = -1;
  std::string buffer_;
  std::vector<std::string> lines_;
  temp_dir dir_{"child"};
};

/// PIDs of processes whose working directory is below test_root() (leaked fixtures).
std::vector<pid_t> processes_under_test_root();
/// Processes whose working directory is below `dir`, with that directory.
std::map<pid_t, std::filesystem::path> processes_under(const std::filesystem::path& dir);

}  // namespace rsm::test
