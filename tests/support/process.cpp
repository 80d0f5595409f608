#include "support/process.hpp"

#include "rsm/resp/reply_reader.hpp"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace rsm::test {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// fork + exec with the test's hygiene: the child dies with the test (PR_SET_PDEATHSIG), takes
// `out_fd`/`err_fd` as stdout/stderr (-1: /dev/null), gets `env` set and `unset` removed, and
// runs in `cwd` when given.
pid_t spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
            const std::vector<std::string>& unset, int out_fd, int err_fd,
            const std::vector<int>& close_fds, const std::string& cwd = {}) {
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid > 0) return pid;
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);
  int null = ::open("/dev/null", O_RDWR);
  ::dup2(null, 0);
  ::dup2(out_fd >= 0 ? out_fd : null, 1);
  ::dup2(err_fd >= 0 ? err_fd : null, 2);
  for (int fd : close_fds) ::close(fd);
  if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(127);
  for (const auto& name : unset) ::unsetenv(name.c_str());
  for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  ::_exit(127);
}

}  // namespace

fs::path test_root() {
  fs::path root;
  if (const char* own = std::getenv("RSM_TEST_ROOT"); own && *own) {
    root = own;  // set by CTest: one root per build directory
  } else {
    const char* tmp = std::getenv("TMPDIR");
    root = fs::path(tmp && *tmp ? tmp : "/tmp") / "rsm-tests";
  }
  fs::create_directories(root);
  return root;
}

temp_dir::temp_dir(const std::string& prefix) {
  auto templ = (test_root() / (prefix + "-XXXXXX")).string();
  if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed: " + templ);
  path_ = templ;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    throw std::runtime_error("bind failed");
  }
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return ntohs(sa.sin_port);
}

resp::reply sync_command(const address& a, const std::vector<std::string>& args,
                         std::chrono::milliseconds timeout) {
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  redisContext* c = redisConnectWithTimeout(a.host.c_str(), a.port, tv);
  if (!c || c->err) {
    std::string why = c ? c->errstr : "out of memory";
    if (c) redisFree(c);
    throw std::runtime_error("connect " + a.to_string() + ": " + why);
  }
  redisSetTimeout(c, tv);
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& s : args) {
    argv.push_back(s.data());
    lens.push_back(s.size());
  }
  auto* r = static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data()));
  if (!r) {
    std::string why = c->errstr;
    redisFree(c);
    throw std::runtime_error("command to " + a.to_string() + ": " + why);
  }
  auto out = resp::from_hiredis(r);
  freeReplyObject(r);
  redisFree(c);
  return out;
}

bool await_ping(const address& a, std::chrono::milliseconds timeout,
                const std::function<bool(const resp::reply&)>& accept) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    try {
      auto r = sync_command(a, {"PING"}, 500ms);
      if (!accept || accept(r)) return true;
    } catch (const std::exception&) {
      // not listening yet
    }
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

server_process::server_process(kind k, std::vector<std::string> extra)
    : kind_(k), extra_(std::move(extra)), dir_(k == kind::redis ? "redis" : "sentinel") {}

std::unique_ptr<server_process> server_process::start(kind k, std::vector<std::string> extra) {
  std::unique_ptr<server_process> p(new server_process(k, std::move(extra)));
  for (int attempt = 0;; ++attempt) {
    p->port_ = free_port();
    try {
      p->launch();
      return p;
    } catch (const std::exception&) {
      // Most likely someone took the port between free_port() and bind: try another.
      if (attempt >= 3) throw;
    }
  }
}

void server_process::launch() {
  auto conf = dir() / (kind_ == kind::redis ? "redis.conf" : "sentinel.conf");
  {
    std::ofstream out(conf, std::ios::trunc);
    out << "port " << port_ << "\n"
        << "bind 127.0.0.1\n"
        << "dir " << dir().string() << "\n"
        << "logfile " << (dir() / "server.log").string() << "\n"
        << "daemonize no\n"
        << "protected-mode no\n";
    if (kind_ == kind::redis) out << "save \"\"\nappendonly no\n";
    for (const auto& line : extra_) out << line << "\n";
  }
  const char* program = kind_ == kind::redis ? "redis-server" : "redis-sentinel";
  pid_t pid = spawn({program, conf.string()}, {}, {}, -1, -1, {}, dir().string());
  pid_ = pid;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error(std::string(program) + " on port " + std::to_string(port_) +
                               " exited at start:\n" + log_tail());
    }
    try {
      auto r = sync_command(addr(), {"PING"}, 200ms);
      // PONG, or NOAUTH from a server with requirepass: either way it serves commands.
      if ((r.type == resp::reply::kind::status && r.str == "PONG") ||
          (r.is_error() && r.str.rfind("NOAUTH", 0) == 0)) {
        return;
      }
    } catch (const std::exception&) {
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill();
      throw std::runtime_error(std::string(program) + " did not answer PING within 10 s:\n" +
                               log_tail());
    }
    std::this_thread::sleep_for(10ms);
  }
}

std::string server_process::log_tail() const {
  std::ifstream in(dir() / "server.log");
  std::stringstream ss;
  ss << in.rdbuf();
  auto s = ss.str();
  return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
}

server_process::~server_process() {
  kill();
}

resp::reply server_process::command(const std::vector<std::string>& args) const {
  return sync_command(addr(), args);
}

void server_process::pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void server_process::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

void server_process::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void server_process::restart() {
  kill();
  launch();
}

void server_process::restart(std::vector<std::string> extra) {
  kill();
  extra_ = std::move(extra);
  launch();
}

process_result run_program(const std::vector<std::string>& argv,
                           const std::map<std::string, std::string>& env,
                           const std::vector<std::string>& unset,
                           std::chrono::milliseconds timeout) {
  int out_pipe[2], err_pipe[2];
  if (::pipe(out_pipe) != 0 || ::pipe(err_pipe) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = spawn(argv, env, unset, out_pipe[1], err_pipe[1], {out_pipe[0], err_pipe[0]});
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  process_result r;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int open_fds = 2;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      break;
    }
    if (::poll(fds, 2, static_cast<int>(left.count())) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      auto n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) ::close(f.fd);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

child_process::child_process(const std::vector<std::string>& argv,
                             const std::map<std::string, std::string>& env) {
  int out_pipe[2];
  if (::pipe(out_pipe) != 0) throw std::runtime_error("pipe failed");
  auto err_path = (dir_.path() / "stderr").string();
  int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_ = spawn(argv, env, {}, out_pipe[1], err, {out_pipe[0]});
  ::close(err);
  ::close(out_pipe[1]);
  out_fd_ = out_pipe[0];
}

child_process::~child_process() {
  stop(std::chrono::seconds(2));
  if (out_fd_ >= 0) ::close(out_fd_);
}

std::optional<std::string> child_process::read_line(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      auto line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      lines_.push_back(line);
      return line;
    }
    if (out_fd_ < 0) return std::nullopt;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd pfd{out_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    auto n = ::read(out_fd_, buf, sizeof buf);
    if (n <= 0) {
      ::close(out_fd_);
      out_fd_ = -1;
      continue;
    }
    buffer_.append(buf, static_cast<std::size_t>(n));
  }
}

std::optional<std::string> child_process::wait_for(std::string_view needle,
                                                   std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto line = read_line(left);
    if (!line) return std::nullopt;
    if (line->find(needle) != std::string::npos) return line;
  }
}

std::string child_process::stderr_text() const {
  std::ifstream in(dir_.path() / "stderr");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int child_process::stop(int signal, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal);
  return wait(timeout);
}

void child_process::signal(int signal) const {
  if (pid_ > 0) ::kill(pid_, signal);
}

int child_process::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  killed_ = false;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      killed_ = true;
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::map<pid_t, fs::path> processes_under(const fs::path& dir) {
  std::map<pid_t, fs::path> out;
  auto prefix = dir.string() + "/";
  for (const auto& entry : fs::directory_iterator("/proc")) {
    auto name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code ec;
    auto cwd = fs::read_symlink(entry.path() / "cwd", ec);
    if (ec) continue;
    if (cwd.string().rfind(prefix, 0) == 0) out[std::stoi(name)] = cwd;
  }
  return out;
}

std::vector<pid_t> processes_under_test_root() {
  std::vector<pid_t> out;
  for (const auto& [pid, cwd] : processes_under(test_root())) out.push_back(pid);
  return out;
}

}  // namespace rsm::test
