#pragma once
// Reading a socket without Asio's speculative recv after a read that drained it (internal).
//
// async_read_some tries a recv before it waits in epoll, and Boost 1.81 stops doing so only
// after a 0-byte read: for a peer that sends nothing until it has its answer (a client at
// -P 1, the master working on a batch), every other recv fails with EAGAIN. After a read that
// did not fill its buffer, and with nothing yielded to the event loop since, this waits for
// readability instead and then reads without blocking. Measured, that trades the EAGAIN recv
// for the epoll_ctl(MOD) with which Asio's reactor queues every async_wait (it re-arms the
// edge-triggered registration, so readiness that came before the wait is still reported): one
// syscall either way, with EAGAIN recvs gone from the counts (docs/benchmarks.md). A chain
// starts with a non-blocking read, inline; only when that finds nothing does the wait follow.
// Used as:
//
//   if (r.start(sock, into, drained, n, ec)) {
//     auto [wec] = co_await sock.async_wait(tcp::socket::wait_read, use_nothrow);
//     r.after_wait(sock, into, wec, n, ec);
//   }
//   if (r.needs_async(n, ec)) { ... co_await sock.async_read_some(into, ...) ... }
#include "rsm/net/asio.hpp"

namespace rsm::proxy {

class drained_read {
 public:
  /// Once per socket: read_some() must never block the thread.
  static void prepare(tcp::socket& s) {
    error_code ignored;
    s.non_blocking(true, ignored);
  }

  /// `drained`: the last read left part of its buffer empty and nothing has yielded since.
  /// Reads inline when that is safe and useful (n bytes, or ec). True: wait for readability,
  /// then call after_wait().
  bool start(tcp::socket& s, asio::mutable_buffer into, bool drained, std::size_t& n, error_code& ec) {
    n = 0;
    ec = {};
    if (!drained) return false;
    if (chained_) return true;
    n = s.read_some(into, ec);
    if (ec != asio::error::would_block) {
      chained_ = !ec;
      return false;
    }
    ec = {};
    return true;
  }

  /// After the wait (`waited`: its error): reads without blocking.
  void after_wait(tcp::socket& s, asio::mutable_buffer into, error_code waited, std::size_t& n, error_code& ec) {
    ec = waited;
    if (!ec) n = s.read_some(into, ec);
    chained_ = !ec;
    if (ec == asio::error::would_block) ec = {};  // nothing after all: read asynchronously
  }

  /// Nothing read and no error: read with async_read_some (which ends the chain).
  bool needs_async(std::size_t n, const error_code& ec) {
    if (ec || n > 0) return false;
    chained_ = false;
    return true;
  }

 private:
  bool chained_ = false;  ///< the last read was our own, inline: a wait may follow it directly
};

}  // namespace rsm::proxy
