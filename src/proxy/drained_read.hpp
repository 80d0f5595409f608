#pragma once
// async_read_some without the recv that cannot succeed (internal).
//
// Asio's reactor registers a socket with epoll once, edge-triggered, and before it queues a read
// it tries a recv ("speculative"), unless the socket is known to be drained. Boost 1.81 marks it
// drained only after a 0-byte read, so for a peer that sends nothing until it has its answer (a
// client at -P 1, the master working on a batch) every other recv fails with EAGAIN: one
// syscall per read wasted. (An async_wait does no better: it re-arms the registration with
// epoll_ctl each time.)
//
// drained_reader::async_read() is async_read_some whose read tells the reactor that a read
// which left part of its buffer empty drained the socket. The next read is then queued without
// a syscall, and epoll's next edge (data that arrives after that recv, or during it, raises one)
// runs it. Per read event that is one recv and nothing else, as a level-triggered proxy like
// HAProxy makes (docs/benchmarks.md).
//
// One case gets no edge: the end of stream (or a reset) that came together with the last data,
// before that short recv (one epoll event for both: the peer wrote and closed while this thread
// was busy). The recv returns the data, the end is still pending, and nothing will run the
// queued read. (nginx, which reads until EAGAIN on epoll unless it has EPOLLRDHUP, does not
// meet this; Asio does not register EPOLLRDHUP.) reveal_end_of_stream() is the safety net:
// the proxy's sweep (server.cpp, every second per data thread) calls it on every socket whose
// read has not completed since the last sweep. A MSG_PEEK recv costs one syscall per idle
// socket per second and changes nothing; when it finds the end, shutdown(SHUT_RD) raises the
// edge that runs the queued read, which then sees the end as it would have.
// It works on Asio's reactor directly (boost::asio::detail: the reactor op type and the
// socket's per-descriptor data), so it is built only for the Boost it was written against
// (1.81, epoll); elsewhere it is plain async_read_some. Limits: the handler runs directly on
// the socket's io_context thread (coroutines of rsm's data threads are), and per-operation
// cancellation is not supported (close() or cancel() the socket; a read raced against a timer
// with || uses async_read_some).
#include "rsm/error.hpp"
#include "rsm/net/asio.hpp"
#include "rsm/net/stream.hpp"

#include <boost/version.hpp>

#include <sys/socket.h>

#include <cerrno>

#if BOOST_VERSION / 100 == 1081 && defined(BOOST_ASIO_HAS_EPOLL) && \
    !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT) && !defined(BOOST_ASIO_ENABLE_HANDLER_TRACKING)
#define RSM_DRAINED_READ_REACTOR 1
#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/detail/fenced_block.hpp>
#include <boost/asio/detail/reactive_socket_service_base.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/detail/socket_ops.hpp>
#include <boost/asio/recycling_allocator.hpp>

#include <memory>
#include <utility>
#else
#define RSM_DRAINED_READ_REACTOR 0
#endif

namespace rsm::proxy {

#if RSM_DRAINED_READ_REACTOR
namespace drained_detail {

namespace ad = boost::asio::detail;

// The socket's reactor state, reached through a protected member the way a derived class may
// name it.
struct socket_access : tcp::socket {
  static auto& impl(tcp::socket& s) { return (s.*(&socket_access::impl_)).get_implementation(); }
};

template <typename Handler>
class recv_op : public ad::reactor_op {
 public:
  using allocator = typename std::allocator_traits<asio::associated_allocator_t<
      Handler, asio::recycling_allocator<void>>>::template rebind_alloc<recv_op>;

  template <typename H>
  recv_op(H&& h, ad::socket_type fd, asio::mutable_buffer into)
      : reactor_op(error_code(), &do_perform, &do_complete),
        handler_(std::forward<H>(h)),
        fd_(fd),
        into_(into) {}

  static allocator allocator_for(const Handler& h) {
    return allocator(asio::get_associated_allocator(h, asio::recycling_allocator<void>()));
  }

 private:
  static status do_perform(reactor_op* base) {
    auto* o = static_cast<recv_op*>(base);
    if (!ad::socket_ops::non_blocking_recv1(o->fd_, o->into_.data(), o->into_.size(), 0, true,
                                            o->ec_, o->bytes_transferred_)) {
      return not_done;  // EAGAIN: wait for the edge
    }
    // A short read (or end of stream, or an error) drained the socket.
    return o->bytes_transferred_ < o->into_.size() ? done_and_exhausted : done;
  }

  // owner null: the io_context is being destroyed with the read queued (the handler is
  // destroyed, not called).
  static void do_complete(void* owner, ad::operation* base, const error_code&, std::size_t) {
    auto* o = static_cast<recv_op*>(base);
    auto alloc = allocator_for(o->handler_);
    Handler handler(std::move(o->handler_));
    error_code ec = o->ec_;
    std::size_t n = o->bytes_transferred_;
    o->~recv_op();
    alloc.deallocate(o, 1);
    if (owner) {
      ad::fenced_block b(ad::fenced_block::half);
      std::move(handler)(ec, n);
    }
  }

  Handler handler_;
  ad::socket_type fd_;
  asio::mutable_buffer into_;
};

struct initiate_read {
  template <typename Handler>
  void operator()(Handler&& handler, tcp::socket* s, ad::reactor* r,
                  asio::mutable_buffer into) const {
    using op = recv_op<std::decay_t<Handler>>;
    auto& impl = socket_access::impl(*s);
    auto& reactor = *r;
    auto alloc = op::allocator_for(handler);
    op* p = alloc.allocate(1);
    new (p) op(std::forward<Handler>(handler), impl.socket_, into);
    if (into.size() == 0 || !s->is_open()) {
      p->ec_ = s->is_open() ? error_code() : asio::error::bad_descriptor;
      reactor.post_immediate_completion(p, false);
      return;
    }
    if ((impl.state_ & ad::socket_ops::non_blocking) == 0 &&
        !ad::socket_ops::set_internal_non_blocking(impl.socket_, impl.state_, true, p->ec_)) {
      reactor.post_immediate_completion(p, false);
      return;
    }
    reactor.start_op(ad::reactor::read_op, impl.socket_, impl.reactor_data_, p, false, true);
  }
};

}  // namespace drained_detail
#endif

/// True when the peer's end of stream (or an error) is pending on `s` behind a read that may
/// wait for an edge that will not come: the read is then woken, and sees it. Nothing is read.
inline bool reveal_end_of_stream(tcp::socket& s) {
  if (!s.is_open()) return false;
  char c;
  auto n = ::recv(s.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))) return false;
  ::shutdown(s.native_handle(), SHUT_RD);
  return true;
}

/// Reads one stream as s.async_read_some(into, token) does, without the recv that would find
/// nothing after a read that drained it. One per read loop (it looks the reactor up once).
/// Over TLS it is the stream's own read (OpenSSL reads the socket: records, not requests).
class drained_reader {
 public:
  explicit drained_reader(tcp::socket& s)
      : s_(&s)
#if RSM_DRAINED_READ_REACTOR
        ,
        reactor_(&asio::use_service<boost::asio::detail::reactor>(
            asio::query(s.get_executor(), asio::execution::context)))
#endif
  {
  }
  /// A stream as it is now (plain or after its TLS handshake).
  explicit drained_reader(net::stream& s) : drained_reader(s.socket()) {
    if (s.is_tls()) tls_ = &s;
  }

  /// Completes with (error_code, bytes read).
  template <typename Token>
  auto async_read(asio::mutable_buffer into, Token&& token) {
#if RSM_DRAINED_READ_REACTOR
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
        [](auto handler, tcp::socket* s, net::stream* tls, boost::asio::detail::reactor* r,
           asio::mutable_buffer b) {
          if (tls) {
            tls->async_read_some(b, std::move(handler));
          } else {
            drained_detail::initiate_read{}(std::move(handler), s, r, b);
          }
        },
        token, s_, tls_, reactor_, into);
#else
    if (tls_) return tls_->async_read_some(into, std::forward<Token>(token));
    return s_->async_read_some(into, std::forward<Token>(token));
#endif
  }

 private:
  tcp::socket* s_;
  net::stream* tls_ = nullptr;
#if RSM_DRAINED_READ_REACTOR
  boost::asio::detail::reactor* reactor_;
#endif
};

}  // namespace rsm::proxy
