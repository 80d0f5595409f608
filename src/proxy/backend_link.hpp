#pragma once
// One connection from the proxy to the master (internal): shared by the sessions of a data
// thread, or a session's own (pinned) one. The same class serves both; a pinned link is one
// with a single waiter.
//
//   submit() ──▶ out_ ──write_loop()──▶ master ──read_loop()──▶ reply_parser ──▶ deliver()
//   (who, bytes, replies due)                                  frame boundaries   FIFO head's
//                                                                                 on_replies()
//
// Requests are appended to one output buffer and written in batches (group commit); a FIFO of
// (session, replies due) says whose reply comes next. Replies are parsed only to their frame
// boundaries and handed, bytes as they came, to the session at the head of the FIFO. A session
// that has gone away keeps its FIFO slots: its replies are read and dropped, never given to
// anyone else.
//
// What differs for a pinned link (`link_use::pinned`): every byte read goes to its one owner
// (pushes, replies it did not count, and, once the owner is `unpaired()` — subscribed,
// MONITOR — everything unparsed); writes go out as soon as the socket takes them, not one
// batch at a time, and the first without a round through the event loop; a large request
// may come in pieces (not whole frames); when the owner's client reads slowly the link only
// waits (the client alone is behind); no --reply-timeout watchdog (a blocking command may
// wait for ever); it opens in its owner's db and with its CLIENT SETNAME name.
//
// Life: connecting (requests wait, up to --failover-hold, for a verified master: nothing has
// been sent yet, so trying again elsewhere is safe) → open → retired (no verified master: no new
// requests; the replies still due may come until a grace period ends) or failed (every slot
// gets an error reply, in order: the connection broke, or another master was verified). Either
// way a new connection replaces it for new requests.
#include "server_state.hpp"

#include "rsm/net/stream.hpp"
#include "rsm/resp/frame_parser.hpp"

#include <deque>
#include <optional>
#include <string_view>

namespace rsm::proxy {

/// Where a backend link delivers replies (a client session).
class reply_sink {
 public:
  virtual ~reply_sink() = default;
  /// Reply bytes, as they came; `frames` replies end within them (0: part of a large one).
  virtual void on_replies(std::string_view bytes, std::size_t frames) = 0;
  /// `frames` replies will never come (`cut`: the first of them was partly delivered). A
  /// pinned link's owner hears of its link's end this way even when nothing was due.
  virtual void on_lost(std::size_t frames, bool cut, std::string_view why) = 0;
  /// Reply bytes held for the client, and bytes written to it so far (progress).
  virtual std::size_t buffered() const = 0;
  virtual std::uint64_t written() const = 0;
  /// The client stopped reading while its replies held up everyone on the connection.
  virtual void close_slow() = 0;
  /// Pinned links only. The type byte of each reply that ended (pushes excepted), before
  /// the on_replies() that carries it.
  virtual void on_reply(char /*type*/) {}
  /// Every reply byte goes to the owner unparsed (subscribed, MONITOR).
  virtual bool unpaired() const { return false; }
  /// The link wrote what it held: a request that streams may go on.
  virtual void on_sent() {}
};

enum class link_use { shared, pinned };

class backend_link : public std::enable_shared_from_this<backend_link> {
 public:
  /// A connection of data thread `thread` in protocol `key.resp` and db `key.db`. A pinned one
  /// belongs to `owner` and opens with CLIENT SETNAME `name` (empty: none).
  backend_link(std::shared_ptr<server::state> st, std::size_t thread, lane_key key,
               link_use use = link_use::shared, std::weak_ptr<reply_sink> owner = {},
               std::string name = {});

  /// Starts connecting (after `not_before`, the thread's reconnect rate limit).
  void start(std::chrono::steady_clock::time_point not_before);
  /// Queues request bytes from `who`, which expects `replies` replies (`who` null: the
  /// proxy's own requests, whose replies are read and dropped). Whole frames on a shared link.
  void submit(const std::shared_ptr<reply_sink>& who, std::string_view bytes, std::size_t replies);
  /// Request bytes queued and not yet written.
  std::size_t unsent() const { return out_.size() + sending_.size(); }
  /// Takes new requests (not failed, not retired).
  bool usable() const { return !failed_ && !retired_ && !aside_; }
  bool connected() const { return connected_; }
  bool pinned() const { return use_ == link_use::pinned; }
  const lane_key& key() const { return key_; }
  /// The master it is open to (valid once connected), and that master's generation.
  const address& master() const { return master_; }
  std::uint64_t generation() const { return generation_; }
  /// No verified master now: take no new requests; replies still due get `grace` to arrive.
  void retire(duration grace);
  /// Another master (`now`) is verified: every reply still due gets an error reply at once.
  void demoted(const address& now);
  /// Its sessions are gone (the proxy stops, or a pinned owner drops it): drop every slot
  /// without a word to anyone, close.
  void abandon();
  /// The owner's client made room (pinned: the link waits for it before reading on).
  void room();
  /// The once-a-second sweep (server.cpp): 1 when an end of stream was pending that no read had
  /// seen since the last sweep (drained_read.hpp), now made visible; else 0.
  std::size_t sweep();

 private:
  struct slot {
    std::shared_ptr<reply_sink> sink;
    std::size_t replies;
    /// Shared: of these, the requests still in out_ (not written yet), and their bytes.
    std::size_t unsent_replies = 0;
    std::size_t unsent_bytes = 0;
  };
  static awaitable<void> run(std::shared_ptr<backend_link> self);
  awaitable<bool> connect();
  static awaitable<void> write_loop(std::shared_ptr<backend_link> self);
  awaitable<void> read_loop();
  /// Shared: hands the frames of `data` to the FIFO's sessions. False: the link failed.
  bool read_shared(std::string_view data);
  /// Pinned: hands `data` to the owner. False: the link failed.
  bool read_pinned(std::string_view data);
  /// The next step of the reply parser over data[pos...] (pos moves on); none: malformed, and
  /// the link failed.
  std::optional<resp::parse_step> parse(std::string_view data, std::size_t& pos);
  /// A reply ended (shared and pinned): metrics, and a look at the master when it says so.
  void replied();
  /// Fails the connection when the master owes replies and sends nothing for --reply-timeout.
  static awaitable<void> watchdog(std::shared_ptr<backend_link> self);
  /// The session at the head of the FIFO (pinned: the owner) holds more replies than the soft
  /// limit (it reads slowly).
  bool head_slow() const;
  /// The writer may send out_ now: something to send and (shared) fewer batches than the
  /// window in flight.
  bool may_write() const;
  awaitable<bool> wait_for_head();
  void deliver(std::string_view bytes, std::size_t frames_done);
  /// Shared: drops the requests of `who` not written yet (it was closed: nobody would read
  /// their replies, and every session behind them would wait for the master to make them).
  void drop_unsent(const reply_sink* who);
  std::size_t replies_due() const;
  void fail(std::string_view why);
  void close();

  std::shared_ptr<server::state> st_;
  std::size_t thread_;
  lane_key key_;
  link_use use_;
  std::weak_ptr<reply_sink> owner_;
  std::string name_;
  net::stream socket_;
  address master_;
  std::uint64_t generation_ = 0;
  std::chrono::steady_clock::time_point switched_at_{};  // when the tracker switched to that master
  bool connected_ = false;
  bool replied_ = false;  // the first reply came (switch metrics)
  bool failed_ = false;
  bool retired_ = false;
  /// A client at the head of the FIFO stopped reading: new requests go to another shared
  /// connection (only those already queued behind it wait, up to --client-output-stall);
  /// this one closes once every reply due has come.
  bool aside_ = false;
  bool closed_slow_ = false;       // it closed a client for not reading already
  bool waiting_for_head_ = false;  // not reading: the head client holds too much
  /// The last reply bytes read, or the moment replies became due on an idle connection.
  std::chrono::steady_clock::time_point last_progress_{};
  /// Reads completed, and their count at the last sweep.
  std::uint64_t reads_ = 0, swept_reads_ = 0;
  std::chrono::steady_clock::time_point hold_until_;
  std::chrono::steady_clock::time_point not_before_;
  std::string out_;
  std::string sending_;
  /// Replies asked for by the requests in out_, and by each batch written and not yet answered.
  std::size_t unsent_replies_ = 0;
  /// A shared request asked for no reply: out_'s bytes are not all in slots (drop_unsent()
  /// cannot tell whose they are).
  bool untracked_ = false;
  std::deque<std::size_t> batches_;
  bool writer_idle_ = false;
  asio::steady_timer writer_wake_;
  asio::steady_timer grace_;
  /// Pinned: wakes the reader when the owner's client made room.
  asio::steady_timer room_;
  bool waiting_room_ = false;
  std::deque<slot> fifo_;
  /// Replies of the head slot already completed, and whether its current reply is partly out.
  std::size_t head_done_ = 0;
  bool head_partial_ = false;
  resp::reply_parser parser_;
  std::vector<char> in_;
};

}  // namespace rsm::proxy
