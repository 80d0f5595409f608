#include "rsm/lainlet/emulator.hpp"
#include "rsm/json.hpp"
#include "rsm/net/http_server.hpp"

#include "rsm/build_info.hpp"
#include "rsm/log.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <fstream>
#include <map>
#include <sstream>
#include <system_error>

namespace rsm::lainlet {
namespace beast = boost::beast;
namespace http = beast::http;
using namespace asio::experimental::awaitable_operators;

namespace {

// The bytes lainlet's EventSource writes when it takes over a watch connection.
constexpr std::string_view k_watch_header =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nVary: Accept-Encoding\r\n\r\n";

// lainlet's generateMessage: id, event (if any), one data line per line (if any), blank line.
std::string format_event(std::uint64_t id, std::string_view type, std::string_view data) {
  std::string out = "id: " + std::to_string(id) + "\n";
  if (!type.empty()) out += "event: " + std::string(type) + "\n";
  while (!data.empty()) {
    auto nl = data.find('\n');
    out += "data: ";
    out += data.substr(0, nl);
    out += "\n";
    if (nl == std::string_view::npos) break;
    data.remove_prefix(nl + 1);
  }
  out += "\n";
  return out;
}

// Valid JSON goes out compact, as lainlet's encoder writes it; anything else as it is.
std::string normalize(const std::string& text) {
  rapidjson::Document doc;
  if (json::parse(doc, text)) {
    auto t = text;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    return t;
  }
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  doc.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

// lainlet's GetBool: "", "0" and "false" are false, anything else true.
bool get_bool(const std::map<std::string, std::string>& q, const std::string& k) {
  auto it = q.find(k);
  if (it == q.end()) return false;
  return !(it->second.empty() || it->second == "0" || it->second == "false");
}

int get_int(const std::map<std::string, std::string>& q, const std::string& k) {
  auto it = q.find(k);
  if (it == q.end()) return 0;
  try {
    return std::stoi(it->second);
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

struct emulator::state {
  explicit state(asio::any_io_executor ex)
      : acceptor(ex), changed(ex, asio::steady_timer::time_point::max()) {}

  tcp::acceptor acceptor;
  settings config;
  /// Current data (normalized); nullopt when removed.
  std::optional<std::string> data;
  std::uint64_t version = 0;
  /// Bumped to make every watcher send `error_message` and close.
  std::uint64_t error_generation = 0;
  std::string error_message;
  /// Bumped to make every watcher close without an event.
  std::uint64_t close_generation = 0;
  /// Cancelled (and re-armed) to wake every watcher after any of the above changed.
  asio::steady_timer changed;
  std::uint64_t watch_total = 0;
  std::size_t watch_open = 0;
  bool stopped = false;

  void wake() { changed.cancel(); }

  void apply(std::optional<std::string> raw) {
    std::optional<std::string> next;
    if (raw) next = normalize(*raw);
    if (next == data) return;
    data = std::move(next);
    ++version;
    wake();
  }
};

emulator::emulator(asio::any_io_executor ex, settings s) : state_(std::make_shared<state>(ex)) {
  state_->config = std::move(s);
  auto host = state_->config.listen.host.empty() ? "0.0.0.0" : state_->config.listen.host;
  tcp::endpoint ep(asio::ip::make_address(host), state_->config.listen.port);
  state_->acceptor.open(ep.protocol());
  state_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  state_->acceptor.bind(ep);
  state_->acceptor.listen();
  if (state_->config.file.empty()) state_->data = "[]";
}

emulator::~emulator() {
  stop();
}

address emulator::local_address() const {
  auto ep = state_->acceptor.local_endpoint();
  return {ep.address().to_string(), ep.port()};
}

void emulator::set_data(std::optional<std::string> json) {
  state_->apply(std::move(json));
}

void emulator::send_error(std::string message) {
  state_->error_message = std::move(message);
  ++state_->error_generation;
  state_->wake();
}

void emulator::close_watchers() {
  ++state_->close_generation;
  state_->wake();
}

std::uint64_t emulator::watch_connections() const {
  return state_->watch_total;
}
std::size_t emulator::open_watchers() const {
  return state_->watch_open;
}

void emulator::stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  error_code ignored;
  state_->acceptor.close(ignored);
  ++state_->close_generation;
  state_->wake();
}

namespace {

using state_ptr = std::shared_ptr<emulator::state>;

awaitable<void> wait_change(std::shared_ptr<emulator::state> st) {
  st->changed.expires_at(asio::steady_timer::time_point::max());
  co_await st->changed.async_wait(use_nothrow);
}

// Reads (and discards) what the client sends, so a client's close is noticed at once.
awaitable<void> watch_peer(beast::tcp_stream& stream) {
  std::array<char, 1024> buf;
  for (;;) {
    auto [ec, n] = co_await stream.socket().async_read_some(asio::buffer(buf), use_nothrow);
    if (ec) co_return;
  }
}

awaitable<void> watch_loop(std::shared_ptr<emulator::state> st, beast::tcp_stream* stream,
                           std::string appname, int heartbeat) {
  auto& sock = stream->socket();
  auto send = [&](std::string bytes) -> awaitable<bool> {
    auto [ec, n] = co_await asio::async_write(sock, asio::buffer(bytes), use_nothrow);
    co_return !ec;
  };
  if (!co_await send(std::string(k_watch_header))) co_return;
  if (appname.empty()) {
    co_await send(format_event(0, "error", "appname required"));
    co_return;
  }
  std::uint64_t next_id = 1;
  auto seen_version = st->version;
  auto seen_error = st->error_generation;
  auto seen_close = st->close_generation;
  if (!co_await send(format_event(next_id++, "init", st->data.value_or("[]")))) co_return;

  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer beat(ex);
  auto next_beat = std::chrono::steady_clock::now() + std::chrono::seconds(heartbeat);
  for (;;) {
    if (st->close_generation != seen_close) co_return;
    if (st->error_generation != seen_error) {
      co_await send(format_event(0, "error", st->error_message));
      co_return;
    }
    if (st->version != seen_version) {
      seen_version = st->version;
      auto ev = st->data ? format_event(next_id++, "update", *st->data)
                         : format_event(next_id++, "delete", "[]");
      if (!co_await send(std::move(ev))) co_return;
      continue;
    }
    if (heartbeat > 0 && std::chrono::steady_clock::now() >= next_beat) {
      next_beat += std::chrono::seconds(heartbeat);
      if (!co_await send(format_event(0, "heartbeat", ""))) co_return;
      continue;
    }
    if (heartbeat > 0) {
      beat.expires_at(next_beat);
      co_await (wait_change(st) || beat.async_wait(use_nothrow));
    } else {
      co_await wait_change(st);
    }
  }
}

http::response<http::string_body> plain(unsigned status, std::string body, unsigned version,
                                        bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(status), version};
  res.body() = std::move(body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

awaitable<void> serve_connection(std::shared_ptr<emulator::state> st, tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> req;
    stream.expires_after(std::chrono::seconds(60));
    auto [ec, n] = co_await http::async_read(stream, buffer, req, use_nothrow);
    if (ec) co_return;
    stream.expires_never();
    std::string_view target = req.target();
    auto qpos = target.find('?');
    auto path = target.substr(0, qpos);
    auto query = net::parse_query(qpos == std::string_view::npos ? "" : target.substr(qpos + 1));
    bool keep = req.keep_alive();
    http::response<http::string_body> res;
    if (path == "/v2/procwatcher" || path == "/v2/procwatcher/") {
      if (req.method() != http::verb::get) {
        res = plain(405, "405 method not allowed", req.version(), keep);
      } else if (get_bool(query, "watch")) {
        ++st->watch_total;
        ++st->watch_open;
        co_await (watch_loop(st, &stream, query["appname"], get_int(query, "heartbeat")) ||
                  watch_peer(stream));
        --st->watch_open;
        error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream.socket().close(ignored);
        co_return;
      } else if (query["appname"].empty()) {
        res = plain(400, "appname required", req.version(), keep);
      } else {
        res = plain(200, st->data.value_or("[]"), req.version(), keep);
      }
    } else if (path == "/version") {
      res = plain(200, "rsm-lainlet-emulator " + std::string(build_version()), req.version(), keep);
    } else if (path == "/debug") {
      res = plain(200,
                  "{\"connections\":" + std::to_string(st->watch_open) +
                      ",\"goroutines\":0,\"watchers\":{\"podgroup\":{\"emulated\":true}}}",
                  req.version(), keep);
    } else {
      res = plain(404, "404 not found", req.version(), keep);
    }
    auto [wec, wn] = co_await http::async_write(stream, res, use_nothrow);
    if (wec || !keep) {
      error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      co_return;
    }
  }
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

awaitable<void> follow_file(std::shared_ptr<emulator::state> st) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer t(ex);
  std::optional<std::string> last_raw;
  bool first = true;
  while (!st->stopped) {
    auto raw = read_file(st->config.file);
    if (first || raw != last_raw) {
      first = false;
      last_raw = raw;
      st->apply(raw);
    }
    t.expires_after(st->config.file_poll);
    auto [ec] = co_await t.async_wait(use_nothrow);
    if (ec) co_return;
  }
}

awaitable<void> accept_loop(std::shared_ptr<emulator::state> st) {
  auto ex = co_await asio::this_coro::executor;
  while (!st->stopped) {
    auto [ec, socket] = co_await st->acceptor.async_accept(use_nothrow);
    if (ec) {
      if (st->stopped || ec == asio::error::operation_aborted) co_return;
      continue;  // e.g. too many open files: keep serving the others
    }
    asio::co_spawn(ex, serve_connection(st, std::move(socket)), asio::detached);
  }
}

}  // namespace

awaitable<void> emulator::async_run() {
  auto st = state_;
  if (st->config.file.empty()) {
    co_await accept_loop(st);
  } else {
    co_await (accept_loop(st) || follow_file(st));
  }
}

}  // namespace rsm::lainlet
