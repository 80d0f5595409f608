// Session-level fault injection: rsm's proxy server in this process (no binary), a real
// redis-server behind a relay that breaks the backend connection at the N-th read, in either
// direction (mid-frame: half of that read goes through), and clients that hang up at the N-th
// reply byte. For every N: no client ever gets another's reply or a wrong one; what it gets
// instead is the documented "-ERR rsm proxy: ..." error or a closed connection; and the proxy
// serves everyone correctly afterwards.
#include "rsm/net/runtime.hpp"
#include "rsm/proxy/server.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

using namespace rsm;
using namespace std::chrono_literals;

namespace {

int connect_to(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{5, 0};  // a stall is a failure, not a hang
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// A TCP relay in front of Redis (blocking sockets, a thread per direction of each connection).
// Armed with (direction, n), it breaks the connection that carries the n-th read in that
// direction: half of that read is passed on, then both sides are shut down. New connections are
// relayed again.
class fault_relay {
 public:
  enum class direction { requests, replies };

  explicit fault_relay(std::uint16_t upstream) : upstream_(upstream) {
    listen_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(::listen(listen_, 64) == 0);
    socklen_t len = sizeof sa;
    ::getsockname(listen_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~fault_relay() {
    stop_ = true;
    ::shutdown(listen_, SHUT_RDWR);  // wakes accept()
    acceptor_.join();
    {
      std::lock_guard lock(mu_);
      for (auto& p : pairs_) p->cut();
    }
    for (auto& t : pumps_) t.join();
    ::close(listen_);
  }
  std::uint16_t port() const { return port_; }
  void arm(direction d, int n) {
    std::lock_guard lock(mu_);
    dir_ = d;
    left_ = n;
  }
  int cuts() const { return cuts_; }

 private:
  struct pair {
    int client, server;
    std::atomic<bool> cut_{false};
    void cut() {
      cut_ = true;
      ::shutdown(client, SHUT_RDWR);
      ::shutdown(server, SHUT_RDWR);
    }
    ~pair() {
      ::close(client);
      ::close(server);
    }
  };

  void accept_loop() {
    while (!stop_) {
      int c = ::accept(listen_, nullptr, nullptr);
      if (c < 0) continue;
      int u = connect_to(upstream_);
      if (u < 0 || stop_) {
        ::close(c);
        if (u >= 0) ::close(u);
        continue;
      }
      timeval none{0, 0};  // connect_to's read timeout is the clients'; a relay waits
      ::setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
      auto p = std::shared_ptr<pair>(new pair{c, u});
      std::lock_guard lock(mu_);
      std::erase_if(pairs_, [](const auto& q) { return q.use_count() == 1; });
      pairs_.push_back(p);
      pumps_.emplace_back([this, p] { pump(p, p->client, p->server, direction::requests); });
      pumps_.emplace_back([this, p] { pump(p, p->server, p->client, direction::replies); });
    }
  }
  void pump(std::shared_ptr<pair> p, int from, int to, direction d) {
    std::vector<char> buf(16 * 1024);
    for (;;) {
      auto n = ::read(from, buf.data(), buf.size());
      if (n <= 0) break;
      bool cut = false;
      {
        std::lock_guard lock(mu_);
        if (left_ > 0 && d == dir_ && --left_ == 0) cut = true;
      }
      if (cut) {
        if (n > 1) (void)!::send(to, buf.data(), static_cast<std::size_t>(n / 2), MSG_NOSIGNAL);
        ++cuts_;
        break;
      }
      if (::send(to, buf.data(), static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) break;
    }
    p->cut();  // either side gone: both go
  }

  std::uint16_t upstream_;
  int listen_ = -1;
  std::uint16_t port_ = 0;
  std::mutex mu_;
  std::vector<std::shared_ptr<pair>> pairs_;
  std::vector<std::thread> pumps_;
  direction dir_ = direction::requests;
  int left_ = 0;
  std::atomic<int> cuts_{0};
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
};

// A blocking RESP client that reads one reply line (status, error, integer) or bulk string.
struct client {
  /// (No assertion here: clients run on threads of their own. A failed connect reads as closed.)
  explicit client(std::uint16_t port) : fd(connect_to(port)) {}
  ~client() {
    if (fd >= 0) ::close(fd);
  }
  bool send(const std::string& bytes) {
    return ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  std::optional<char> byte() {
    if (at == got) {
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return std::nullopt;
      at = 0;
      got = static_cast<std::size_t>(n);
    }
    return buf[at++];
  }
  std::optional<std::string> line() {
    std::string s;
    for (;;) {
      auto c = byte();
      if (!c) return std::nullopt;
      if (*c == '\n' && !s.empty() && s.back() == '\r') {
        s.pop_back();
        return s;
      }
      s += *c;
    }
  }
  /// "+OK", "-ERR ...", ":1", "$value" (a bulk string), "$nil"; nothing once closed.
  std::optional<std::string> reply() {
    auto l = line();
    if (!l || l->empty()) return std::nullopt;
    if ((*l)[0] != '$') return l;
    auto len = std::stoll(l->substr(1));
    if (len < 0) return std::string("$nil");
    std::string v = "$";
    for (long long i = 0; i < len + 2; ++i) {
      auto c = byte();
      if (!c) return std::nullopt;
      v += *c;
    }
    v.resize(v.size() - 2);
    return v;
  }
  int fd;
  char buf[4096];
  std::size_t at = 0, got = 0;
};

std::string command(std::initializer_list<std::string> args) {
  std::string s = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) s += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return s;
}

// One round of a client: a pipeline of SETs and GETs of its own keys, each value naming the
// client and the round. Counts the replies and the documented errors, and lists every wrong
// reply (another client's value, an undocumented error). Runs on a thread of its own: no
// Catch2 assertion in it (they are not thread-safe), the caller checks `wrong`.
struct outcome {
  int ok = 0, errors = 0;
  bool closed = false;
  std::vector<std::string> wrong;
  void add(const outcome& o) {
    ok += o.ok;
    errors += o.errors;
    closed = closed || o.closed;
    wrong.insert(wrong.end(), o.wrong.begin(), o.wrong.end());
  }
};
outcome round_of(client& c, int who, int round, int requests) {
  auto mine = "c" + std::to_string(who) + ":";
  std::string out;
  for (int i = 0; i < requests; ++i) {
    auto key = mine + "k" + std::to_string(i);
    auto value = mine + "r" + std::to_string(round) + ":" + std::to_string(i);
    out += command({"SET", key, value}) + command({"GET", key});
  }
  outcome o;
  if (!c.send(out)) {
    o.closed = true;
    return o;
  }
  for (int i = 0; i < requests; ++i) {
    auto value = mine + "r" + std::to_string(round) + ":" + std::to_string(i);
    for (int k = 0; k < 2; ++k) {
      auto r = c.reply();
      if (!r) {
        o.closed = true;
        return o;
      }
      auto where = "client " + std::to_string(who) + " round " + std::to_string(round) +
                   " request " + std::to_string(i) + ": ";
      if (r->starts_with("-")) {
        // The documented error for a request the proxy could not see answered.
        if (!r->starts_with("-ERR rsm proxy: ")) o.wrong.push_back(where + *r);
        ++o.errors;
        continue;
      }
      ++o.ok;
      if (k == 0) {
        if (*r != "+OK") o.wrong.push_back(where + *r);
      } else if (*r != "$" + value) {
        // After a SET that failed, the GET may find an older value of this client's own key,
        // or none; never anything of another client's.
        bool older = o.errors > 0 && (r->starts_with("$" + mine) || *r == "$nil");
        if (!older) o.wrong.push_back(where + *r + " (expected " + value + ")");
      }
    }
  }
  return o;
}

struct proxy_in_process {
  explicit proxy_in_process(std::uint16_t master, proxy::backend_mode mode)
      : rt(net::runtime::settings{.data_threads = 1, .handle_signals = false}) {
    proxy::settings s;
    s.listen = {"127.0.0.1", 0};
    s.master = {"127.0.0.1", master};
    s.backend = mode;
    s.failover_hold = 3s;
    s.reply_timeout = 5s;
    srv = std::make_unique<proxy::server>(rt, s);
    rt.spawn("proxy", srv->async_run());
    thread = std::thread([this] { rt.run(); });
  }
  ~proxy_in_process() {
    rt.request_stop();
    thread.join();
  }
  std::uint16_t port() const { return srv->local_address().port; }
  net::runtime rt;
  std::unique_ptr<proxy::server> srv;
  std::thread thread;
};

}  // namespace

TEST_CASE(
    "proxy: session faults: a backend connection broken at every point loses no client's order",
    "[integration][proxy][faults]") {
  auto redis = test::server_process::redis();
  fault_relay relay(redis->addr().port);
  for (auto mode : {proxy::backend_mode::shared, proxy::backend_mode::dedicated}) {
    proxy_in_process proxy(relay.port(), mode);
    for (auto dir : {fault_relay::direction::requests, fault_relay::direction::replies}) {
      for (int n = 1; n <= 12; ++n) {
        INFO((mode == proxy::backend_mode::shared ? "shared" : "dedicated")
             << (dir == fault_relay::direction::requests ? " requests" : " replies") << " n=" << n);
        int cuts = relay.cuts();
        std::vector<std::unique_ptr<client>> clients;
        for (int who = 0; who < 3; ++who) clients.push_back(std::make_unique<client>(proxy.port()));
        relay.arm(dir, n);
        // Three clients at once, each in its own thread, pipelines of 200 SET+GET.
        std::vector<outcome> got(3);
        std::vector<std::thread> ts;
        for (int who = 0; who < 3; ++who)
          ts.emplace_back([&, who] { got[who] = round_of(*clients[who], who, n, 200); });
        for (auto& t : ts) t.join();
        relay.arm(dir, 0);
        bool faulted = relay.cuts() > cuts;
        int lost = 0;
        for (auto& o : got) {
          lost += o.errors + (o.closed ? 1 : 0);
          for (const auto& w : o.wrong) FAIL_CHECK(w);
        }
        if (!faulted) CHECK(lost == 0);
        // Afterwards: every client (reconnected when it was closed) is served correctly.
        for (int who = 0; who < 3; ++who) {
          auto again = std::make_unique<client>(proxy.port());
          auto o = round_of(*again, who, 1000 + n, 20);
          for (const auto& w : o.wrong) FAIL_CHECK(w);
          CHECK_FALSE(o.closed);
          CHECK(o.errors == 0);
          CHECK(o.ok == 40);
        }
      }
    }
  }
}

TEST_CASE("proxy: session faults: a client that hangs up mid-reply touches nobody else",
          "[integration][proxy][faults]") {
  auto redis = test::server_process::redis();
  proxy_in_process proxy(redis->addr().port, proxy::backend_mode::shared);
  // A large value, so that the replies of the leaving client span many reads.
  {
    client setup(proxy.port());
    REQUIRE(setup.send(command({"SET", "big", std::string(256 * 1024, 'b')})));
    REQUIRE(setup.reply() == "+OK");
  }
  for (std::size_t cut_at : {1u, 100u, 5000u, 100000u, 300000u}) {
    INFO("the leaving client reads " << cut_at << " bytes");
    std::atomic<bool> leaving_done{false};
    std::thread leaver([&] {
      client c(proxy.port());
      std::string out;
      for (int i = 0; i < 8; ++i) out += command({"GET", "big"});
      c.send(out);
      std::size_t read = 0;
      while (read < cut_at && c.byte()) ++read;
      struct linger l {
        1, 0
      };  // a reset, not a clean close
      ::setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      leaving_done = true;
    });
    std::vector<outcome> got(2);
    std::vector<std::thread> ts;
    for (int who = 0; who < 2; ++who) {
      ts.emplace_back([&, who] {
        client c(proxy.port());
        for (int r = 0; r < 5; ++r) got[who].add(round_of(c, who, r, 100));
      });
    }
    leaver.join();
    for (auto& t : ts) t.join();
    CHECK(leaving_done);
    for (auto& o : got) {
      for (const auto& w : o.wrong) FAIL_CHECK(w);
      CHECK_FALSE(o.closed);
      CHECK(o.errors == 0);
      CHECK(o.ok == 1000);
    }
  }
}
