#pragma once
// One client connection of `rsm proxy` (internal): the I/O around request_pipeline.
//
//   client ──read──▶ request_parser ──▶ request_pipeline (pipeline.hpp) ──▶ action ──▶ run()
//     ▲          client_loop()           on_frame(): batch, send, select,    │
//     │                                  answer, reset, skip                  ▼
//     │                         submit() / to_link(): its thread's shared backend_link, or a
//     │                         backend_link of its own (pinned) ──▶ Redis  (backend_link.hpp)
//     └──── client_writer() ◀── queue_client() ◀── replies, bytes as they came: on_replies()
//
// A session starts on its thread's shared backend connection (--backend-mode shared) and
// moves to a connection of its own — after every earlier reply has come, so the order holds —
// when it sends a command that needs one (see command_traits.hpp), or a request too large to
// hold whole. With --backend-mode dedicated every session has its own from the start.
//
// On a master switch a pinned session whose connection carries nothing a new connection could
// not re-create (no MULTI, WATCH, subscription, MONITOR, CLIENT/HELLO state, no reply due)
// reopens it on the new master, in its SELECTed db, before its next request; any other pinned
// session is closed, as Sentinel's CLIENT KILL closes it on a direct connection.
#include "backend_link.hpp"

#include "rsm/proxy/pipeline.hpp"

#include <deque>
#include <optional>

namespace rsm::proxy {

class session : public reply_sink, public std::enable_shared_from_this<session> {
 public:
  session(std::shared_ptr<server::state> st, net::stream client, std::size_t thread);
  ~session() override;

  static awaitable<void> run(std::shared_ptr<session> self);

  /// The master changed (called on this session's thread, for pinned sessions). Returns false
  /// when the session was closed.
  bool on_master_change(std::uint64_t generation);
  /// Stop: answer what is due, then close.
  void drain();
  /// The once-a-second sweep (server.cpp): an end of stream pending on the client's or the
  /// pinned connection's socket that no read has seen since the last sweep is made visible
  /// (drained_read.hpp). Returns how many were found.
  std::size_t sweep();
  /// Bytes the session holds for its client: its request buffer, replies queued and being
  /// written, a reply being rewritten, requests unsent on its own connection.
  std::size_t memory() const;
  /// --maxmemory-clients chose it: closed at once, as Redis's client eviction closes a client.
  void evict();

  // reply_sink (the shared connection's side)
  void on_replies(std::string_view bytes, std::size_t frames) override;
  void on_lost(std::size_t frames, bool cut, std::string_view why) override;
  std::size_t buffered() const override { return closed_ ? 0 : out_.size() + writing_bytes_; }
  std::uint64_t written() const override { return written_; }
  void close_slow() override { close(); }
  void on_reply(char type) override;
  bool unpaired() const override { return pipe_.state.unpaired; }
  void on_sent() override { notify(); }

 private:
  awaitable<void> client_loop();
  awaitable<std::optional<std::size_t>> read_client(std::size_t at);
  /// Runs one of the pipeline's actions (not `batch`): false when the session ends.
  awaitable<bool> run(action a);
  void tally(action::tally what);
  awaitable<bool> rewritten(std::string bytes, rewrite what);
  void pass_replies(std::string_view bytes, std::size_t frames);
  awaitable<bool> select_shared(std::string frame, long long db);
  awaitable<void> reset();
  /// The shared connection this session's requests go on: its protocol, db and user (while
  /// Redis checks its AUTH: the thread's authentication connection).
  lane_key lane() const {
    if (auth_check_) return {2, 0, k_auth_checks};
    return {pipe_.state.resp, pipe_.state.db, pipe_.state.user};
  }
  awaitable<bool> authenticate(action a);
  awaitable<bool> flush();
  awaitable<bool> forward(std::string bytes, std::size_t replies);
  std::pair<std::string_view, std::size_t> take_frames();
  bool submit();
  awaitable<bool> pin();
  awaitable<backend_link*> route_shared();
  /// Sends on the session's own connection (opened now if it has none): false when closed.
  bool to_link(std::string_view bytes, std::size_t replies);
  void open_link();
  static awaitable<void> client_writer(std::shared_ptr<session> self);
  awaitable<void> answer(std::string text);
  awaitable<void> flush_and_close();
  awaitable<void> wait();
  void notify();
  void queue_client(std::string_view bytes);
  void reply_done(std::size_t frames);
  void close();
  /// Nothing due and no state a new backend connection could not re-create (only its db).
  bool movable() const;
  /// Drops the pinned connection; the next request opens a new one.
  void detach_backend();
  thread_state& ts() { return *st_->threads[thread_]; }
  thread_counters& counters() { return ts().counters; }

  std::shared_ptr<server::state> st_;
  std::size_t thread_;
  net::stream client_;
  bool registered_ = false;

  // Requests: buf_[frame_, end_) is the frame being parsed; [fwd_begin_, frame_) are whole
  // frames waiting to be forwarded together.
  std::vector<char> buf_;
  std::size_t end_ = 0;
  std::size_t frame_ = 0;
  std::size_t fwd_begin_ = 0;
  std::size_t fwd_replies_ = 0;
  std::size_t fwd_commands_ = 0;
  resp::request_parser parser_;
  bool streaming_ = false;
  /// Reads completed from the client, and their count at the last sweep.
  std::uint64_t reads_ = 0, swept_reads_ = 0;
  /// When the client connected (the sweep closes it past --auth-timeout unauthenticated).
  std::chrono::steady_clock::time_point connected_at_ = std::chrono::steady_clock::now();
  /// The session waits for the rest of a request it holds part of, since `partial_since_`
  /// (the sweep closes it past --partial-request-timeout). Not while the proxy itself is not
  /// reading it (backpressure).
  bool partial_ = false;
  std::chrono::steady_clock::time_point partial_since_{};
  /// What the session decides per request, and the connection state it holds for the client
  /// (authenticated, pinned, MULTI, db, protocol, name, ...).
  request_pipeline pipe_;

  // Where requests go: its thread's shared link for its protocol and db, or (when
  // pipe_.state.pinned) a link of its own, opened at its first request.
  std::shared_ptr<backend_link> link_;
  bool listed_ = false;  // in the thread's list of pinned sessions

  /// A SELECT on the shared path whose reply is due: the db it switches to if Redis says OK
  /// (-1: none). Nothing else is sent until it comes.
  long long select_target_ = -1;
  /// A request whose reply the client gets rewritten (nothing else is in flight meanwhile):
  /// CONFIG GET's, redacted, or the DISCARD sent for an EXEC that must fail with EXECABORT.
  rewrite rewrite_ = rewrite::none;
  std::string rewrite_buf_;
  /// rewrite::permitted: the proxy's reply if Redis runs the command.
  std::string local_reply_;
  /// --auth passthrough, while Redis checks an AUTH: who it names, and what follows.
  bool auth_check_ = false;
  bool auth_ok_ = false;
  bool hello_follows_ = false;
  std::string auth_user_;
  std::string auth_password_;
  /// SELECTs in flight on the pinned connection: (index of their reply, db); requests_sent_
  /// and replies_done_ count the replies asked for and come on it (on_reply()).
  std::deque<std::pair<std::uint64_t, long long>> selects_;
  std::uint64_t requests_sent_ = 0;
  std::uint64_t replies_done_ = 0;

  // Replies due, and request bytes sent to the shared connection and not yet answered.
  std::size_t outstanding_ = 0;
  std::size_t inflight_bytes_ = 0;

  // The client's single writer.
  std::string out_;
  std::size_t writing_bytes_ = 0;
  std::uint64_t written_ = 0;
  bool writer_idle_ = false;
  bool closing_ = false;
  bool closed_ = false;
  asio::steady_timer writer_wake_;
  /// Wakes whoever waits for a state change (replies due, room in out_, closed).
  asio::steady_timer wake_;
  std::size_t waiters_ = 0;
};

}  // namespace rsm::proxy
