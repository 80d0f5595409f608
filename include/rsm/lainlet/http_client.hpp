#pragma once
/// lainlet's HTTP, client side, on Boost.Beast: a plain GET, and the watch stream.
///
/// In watch mode lainlet answers a bare `HTTP/1.1 200 OK` header, then writes raw events with no
/// chunking and no Content-Length until it closes the connection: `watch_stream` reads the
/// header with Beast, then hands out the raw bytes that follow, until the connection closes.
#include "rsm/address.hpp"
#include "rsm/duration.hpp"
#include "rsm/net/asio.hpp"

#include <memory>
#include <string>

namespace rsm::lainlet {

struct http_response {
  unsigned status = 0;
  std::string body;
};

/// GET `target` (e.g. "/v2/procwatcher/?appname=x") within `timeout`; any status is a
/// response. Bodies are bounded (64 MiB).
awaitable<result<http_response>> async_get(address server, std::string target, duration timeout);

class watch_stream {
 public:
  /// Connects, sends the GET, reads the response header (all within `timeout`). A status other
  /// than 200 is an error whose detail holds the status and the body's first line.
  static awaitable<result<watch_stream>> async_open(address server, std::string target,
                                                    duration timeout);
  watch_stream(watch_stream&&) noexcept;
  watch_stream& operator=(watch_stream&&) noexcept;
  ~watch_stream();

  /// The next bytes of the stream; asio::error::eof when the server closed it, errc::timed_out
  /// when nothing arrived within `timeout`.
  awaitable<result<std::string>> async_read(duration timeout);

 private:
  struct impl;
  explicit watch_stream(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace rsm::lainlet
