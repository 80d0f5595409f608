#pragma once
/// The machinery shared by `connection` and `subscriber`: one socket, one writer, one reader.
///
///   async_exec ──encode──▶ out_ ──writer──▶ socket ──reader──▶ reply_reader
///        ▲                                                        │
///        └──── FIFO of waiters (pending*) ◀──── deliver(reply) ◀──┘
///                                     (push mode: into pushed_ for async_receive)
///
/// A link lives on one executor and is used from it only (the control io_context is single
/// threaded). Owned by `shared_ptr` at its root: the reader and writer coroutines keep it
/// alive; the owning handle closes it on destruction.
#include "rsm/net/asio.hpp"
#include "rsm/redis/options.hpp"
#include "rsm/redis/transport.hpp"
#include "rsm/resp/command.hpp"
#include "rsm/resp/reply.hpp"

#include <deque>
#include <memory>
#include <vector>

namespace rsm::redis::detail {

class link : public std::enable_shared_from_this<link> {
 public:
  link(opened o, options opts, bool push_mode);
  ~link();

  /// Starts the reader. Call once, right after construction.
  void start();
  /// Sends `cmds` as one pipeline and waits for their replies, in order.
  awaitable<result<std::vector<resp::reply>>> async_exec(std::vector<resp::command> cmds);
  /// Push mode: sends without waiting for anything.
  void send(const std::vector<resp::command>& cmds);
  /// Push mode: the next pushed reply (`timeout` 0 = no limit).
  awaitable<result<resp::reply>> async_receive(duration timeout);

  bool is_open() const { return !failed_; }
  const options& opts() const { return opts_; }
  /// Fails everything waiting with `e` and closes the socket. Idempotent.
  void fail(error e);

 private:
  struct pending;
  struct slot {
    pending* waiter;  // nullptr: abandoned by a cancelled caller; its replies are dropped
    std::size_t remaining;
  };

  static awaitable<void> read_loop(std::shared_ptr<link> self);
  static awaitable<void> write_loop(std::shared_ptr<link> self);
  void kick_writer();
  void deliver(resp::reply r);
  void abandon(pending* p);

  net::stream socket_;
  resp::reply_reader reader_;
  options opts_;
  bool push_mode_;
  std::string out_;
  bool writing_ = false;
  bool failed_ = false;
  error failure_;
  std::deque<slot> fifo_;
  std::deque<resp::reply> pushed_;
  asio::steady_timer push_signal_;
};

}  // namespace rsm::redis::detail
