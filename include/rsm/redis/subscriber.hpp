#pragma once
/// A connection in subscribe mode: SUBSCRIBE / PSUBSCRIBE, then pushed messages as a stream.
///
/// Confirmations (subscribe, psubscribe, ...) and PING's pong arrive in the same stream as the
/// messages, in the order the server sent them. One receiver at a time. If the caller does not
/// receive fast enough, at most `options::max_pushed_messages` are held, then the connection
/// fails with errc::buffer_full (the caller reconnects and resubscribes).
#include "rsm/net/asio.hpp"
#include "rsm/redis/options.hpp"

#include <memory>
#include <string>
#include <vector>

namespace rsm::redis {

namespace detail {
class link;
}

struct message {
  enum class kind { subscribe, unsubscribe, psubscribe, punsubscribe, message, pmessage, pong };
  kind type = kind::message;
  /// The pattern that matched (pmessage, psubscribe, punsubscribe).
  std::string pattern;
  std::string channel;
  std::string payload;
  /// Subscription count after a (un)subscribe confirmation.
  long long count = 0;
};

class subscriber {
 public:
  static awaitable<result<subscriber>> async_connect(options opts);

  subscriber(subscriber&&) noexcept;
  subscriber& operator=(subscriber&&) noexcept;
  ~subscriber();

  /// Sends SUBSCRIBE; the confirmations arrive through `async_receive`.
  void subscribe(const std::vector<std::string>& channels);
  void psubscribe(const std::vector<std::string>& patterns);
  /// Sends PING: a `pong` message shows the connection is alive.
  void ping();

  /// The next message; errc::timed_out after `timeout` without one (0 = no limit; the
  /// connection stays usable), or the connection's failure.
  awaitable<result<message>> async_receive(duration timeout = duration{0});

  bool is_open() const;
  void close();

 private:
  explicit subscriber(std::shared_ptr<detail::link> l);
  std::shared_ptr<detail::link> link_;
};

}  // namespace rsm::redis
