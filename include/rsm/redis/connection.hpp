#pragma once
/// The control-plane RESP client: ctl, watch, status and the proxy's master tracking use it.
///
/// - Commands are argument vectors, encoded to RESP; replies are owned `resp::reply` values.
/// - Pipelining: any number of `async_exec` calls may be in flight at once (from several
///   coroutines on the connection's executor); replies come back in order.
/// - Failures are values: refused/reset (system errors), errc::connect_timeout,
///   errc::timed_out (the connection is then failed: a late reply could be mistaken for the
///   next command's), errc::protocol_error, errc::not_connected. An error *reply* is a
///   successful `resp::reply` of kind error; the typed helpers turn it into errc::error_reply.
///
/// Not for the proxy's data path, which forwards bytes without building replies.
#include "rsm/net/asio.hpp"
#include "rsm/redis/options.hpp"
#include "rsm/resp/command.hpp"
#include "rsm/resp/reply.hpp"

#include <memory>
#include <vector>

namespace rsm::redis {

namespace detail {
class link;
}

class connection {
 public:
  /// Connects, then AUTH/SELECT/CLIENT SETNAME as `opts` asks, within the connect timeout.
  static awaitable<result<connection>> async_connect(options opts);

  connection(connection&&) noexcept;
  connection& operator=(connection&&) noexcept;
  /// Closes the socket; commands still waiting fail with errc::not_connected.
  ~connection();

  /// One command, one reply (which may be an error reply).
  awaitable<result<resp::reply>> async_exec(resp::command cmd);
  /// A pipeline: every command written at once, the replies in order.
  awaitable<result<std::vector<resp::reply>>> async_exec(std::vector<resp::command> cmds);

  /// False after any failure or `close()`: connect again to go on.
  bool is_open() const;
  void close();
  const options& opts() const;

 private:
  explicit connection(std::shared_ptr<detail::link> l);
  std::shared_ptr<detail::link> link_;
};

}  // namespace rsm::redis
