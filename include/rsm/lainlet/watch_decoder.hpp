#pragma once
/// lainlet's watch stream, decoded (sans-io: bytes in, events out).
///
/// After the bare `HTTP/1.1 200 OK` header, lainlet writes events until it closes the
/// connection, each as lines ending in '\n' and a blank line:
///
///     id: 2
///     event: update
///     data: [{"proc":[...]}]
///
/// - `id:` a decimal number (0 for heartbeat and error events);
/// - `event:` init, update, delete, heartbeat or error;
/// - `data:` lines are joined with '\n' (absent for heartbeats).
/// Lines may end in CRLF; a line is split at its first ':' and both sides are trimmed (as
/// lainlet's own client does); lines starting with ':' are comments; unknown fields are ignored.
/// Lines and events are bounded; any violation is an error after which the decoder stays
/// failed (the caller reconnects).
#include "rsm/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rsm::lainlet {

struct event {
  std::uint64_t id = 0;
  /// The `event:` field ("" when absent).
  std::string type;
  /// The `data:` lines joined with '\n'.
  std::string data;
  bool has_data = false;

  friend bool operator==(const event&, const event&) = default;
};

class watch_decoder {
 public:
  struct limits {
    std::size_t max_line = 4 * 1024 * 1024;
    std::size_t max_event = 16 * 1024 * 1024;
  };

  watch_decoder() : watch_decoder(limits{}) {}
  explicit watch_decoder(limits l) : limits_(l) {}

  /// Decodes `bytes`; complete events are appended to `out`. Errors are errc::protocol_error
  /// with a message that says what was wrong.
  result<void> feed(std::string_view bytes, std::vector<event>& out);

  /// Bytes held for an incomplete line or event.
  std::size_t buffered() const { return line_.size() + event_bytes_; }

 private:
  result<void> on_line(std::string_view line, std::vector<event>& out);
  error fail(std::string why);

  limits limits_;
  std::string line_;
  event current_;
  bool in_event_ = false;
  std::size_t event_bytes_ = 0;
  bool failed_ = false;
  error failure_;
};

}  // namespace rsm::lainlet
