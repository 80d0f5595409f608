#pragma once
/// Incremental RESP2 reply reader over hiredis's `redisReader` (sans-io: bytes in, replies out).
#include "rsm/error.hpp"
#include "rsm/resp/reply.hpp"

#include <cstddef>
#include <memory>
#include <optional>

struct redisReader;
struct redisReply;

namespace rsm::resp {

/// Converts a hiredis reply tree into an owned `reply` (for code that uses hiredis directly).
reply from_hiredis(const redisReply* r);

class reply_reader {
 public:
  /// `max_buffered`: the most unconsumed bytes held; beyond it `feed` fails with buffer_full.
  explicit reply_reader(std::size_t max_buffered = 64 * 1024 * 1024);
  ~reply_reader();
  reply_reader(reply_reader&&) noexcept;
  reply_reader& operator=(reply_reader&&) noexcept;

  /// Adds bytes read from the peer.
  result<void> feed(const char* data, std::size_t size);
  /// The next complete reply, nothing if more bytes are needed, or protocol_error.
  /// After a protocol error the reader is unusable: close the connection.
  result<std::optional<reply>> next();
  /// Bytes fed but not yet consumed by a complete reply.
  std::size_t buffered() const;

 private:
  struct deleter {
    void operator()(redisReader* r) const;
  };
  std::unique_ptr<redisReader, deleter> reader_;
  std::size_t max_buffered_;
};

}  // namespace rsm::resp
