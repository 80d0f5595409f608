#pragma once
/// A lainlet-compatible HTTP server for tests and the local stack (`rsm lainlet`, `rsm up`).
///
/// It follows ../shared/lainlet-api.md: `GET /v2/procwatcher[/]?appname=APP` answers the JSON
/// array (200, no Content-Type); with `watch=1` it writes lainlet's exact bare header, then an
/// `init` event (id 1), an `update` event (ids 2, 3, ...) whenever the data changes, a
/// `delete` event when the data is removed, `heartbeat` events (id 0) every `heartbeat=N`
/// seconds, and `error` events (then it closes). `/version` and `/debug` answer; a request
/// without `appname` gets lainlet's 400 `appname required`; any other path 404 `404 not found`.
///
/// The data is the same for every appname: a procwatcher JSON document, either from a file that
/// is re-read when it changes, or given in-process (`set_data`). Valid JSON is sent compact on
/// one line, as lainlet's encoder does; anything else is sent as it is (one `data:` line per
/// line), so tests can feed a client garbage.
#include "rsm/address.hpp"
#include "rsm/duration.hpp"
#include "rsm/net/asio.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace rsm::lainlet {

class emulator {
 public:
  struct settings {
    /// Port 0 picks a free port (see `local_address`).
    address listen{"127.0.0.1", 0};
    /// Read the data from this file and follow its changes ("" for in-process data).
    std::string file;
    duration file_poll{std::chrono::milliseconds(100)};
  };

  /// Binds the listening socket (throws std::system_error when it cannot).
  emulator(asio::any_io_executor ex, settings s);
  ~emulator();

  /// Serves until `stop` or cancellation.
  awaitable<void> async_run();
  void stop();

  address local_address() const;

  /// Replaces the data (in-process mode); watchers get an `update` (or `init` data when new).
  /// `std::nullopt` removes it: watchers get `delete`, plain GETs an empty array.
  void set_data(std::optional<std::string> json);
  /// Sends an `error` event with `message` to every watcher, then closes their connections.
  void send_error(std::string message);
  /// Closes every watch connection from the server side, without an event.
  void close_watchers();

  /// Watch connections accepted so far (to observe reconnects in tests).
  std::uint64_t watch_connections() const;
  /// Watch connections open now.
  std::size_t open_watchers() const;

  /// Shared by the server's coroutines (an implementation detail).
  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace rsm::lainlet
