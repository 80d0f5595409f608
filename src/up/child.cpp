#include "rsm/up/child.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace rsm::up {

namespace {

error system_error(std::string what) {
  int e = errno;
  return error(error_code(e, boost::system::system_category()), what + ": " + std::strerror(e));
}

bool is_executable(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

result<std::string> find_program(std::string_view name) {
  std::string n(name);
  if (n.empty()) return error(errc::invalid_argument, "empty program name");
  if (n.find('/') != std::string::npos) {
    if (is_executable(n)) return n;
    return error(errc::invalid_argument, n + " is not an executable file");
  }
  const char* path = std::getenv("PATH");
  std::string_view dirs = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    auto colon = dirs.find(':');
    auto dir = dirs.substr(0, colon);
    std::string candidate = (dir.empty() ? std::string(".") : std::string(dir)) + "/" + n;
    if (is_executable(candidate)) return candidate;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return error(errc::invalid_argument, n + " not found in PATH");
}

result<child> child::start(const std::vector<std::string>& argv, const std::string& cwd,
                           const std::string& log_file) {
  if (argv.empty()) return error(errc::invalid_argument, "no program to start");
  auto program = find_program(argv[0]);
  if (!program) return program.error();
  // Everything the child needs is prepared here: after fork it only makes system calls.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return system_error("open " + log_file);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    ::close(log_fd);
    return system_error("open /dev/null");
  }
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    ::close(null_fd);
    return system_error("fork");
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    // The runtime blocks no signals, but be sure the program starts with the default mask.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::setpgid(0, 0);  // Ctrl-C reaches rsm alone; rsm stops its children itself
    ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::execv(program->c_str(), args.data());
    ::_exit(127);
  }
  ::close(log_fd);
  ::close(null_fd);
  return child(pid);
}

child::child(child&& o) noexcept : pid_(o.pid_) {
  o.pid_ = -1;
}

child& child::operator=(child&& o) noexcept {
  if (this != &o) {
    stop(duration(0));
    pid_ = o.pid_;
    o.pid_ = -1;
  }
  return *this;
}

child::~child() {
  stop(duration(0));
}

std::optional<int> child::poll() {
  if (pid_ <= 0) return std::nullopt;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    pid_ = -1;
    return r == -1 ? 0 : status;
  }
  return std::nullopt;
}

void child::terminate() {
  if (pid_ > 0) ::kill(pid_, SIGTERM);
}

void child::stop(duration grace) {
  if (pid_ <= 0) return;
  if (grace.count() > 0) {
    ::kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + grace;
    while (std::chrono::steady_clock::now() < deadline) {
      if (poll()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

std::string describe_exit(int s) {
  if (WIFEXITED(s)) return "exited with status " + std::to_string(WEXITSTATUS(s));
  if (WIFSIGNALED(s)) {
    return "killed by signal " + std::to_string(WTERMSIG(s)) + " (" + ::strsignal(WTERMSIG(s)) +
           ")";
  }
  return "ended (wait status " + std::to_string(s) + ")";
}

result<std::uint16_t> free_port(const std::string& host) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return system_error("socket");
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  if (::inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) {
    ::close(fd);
    return error(errc::invalid_argument, host + " is not an IPv4 address");
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    auto e = system_error("bind " + host + ":0");
    ::close(fd);
    return e;
  }
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return static_cast<std::uint16_t>(ntohs(sa.sin_port));
}

}  // namespace rsm::up
