#pragma once
/// The request pipeline of one client connection (sans-io): a whole request frame and the
/// connection state the proxy holds for the client in, one action out. No socket, no clock
/// that matters, no allocation on the common path; session.cpp is the I/O around it.
///
///   client bytes ─▶ resp::request_parser ─▶ request_pipeline::on_frame ─▶ action
///                                             │ classify()       (command_traits.hpp)
///                                             │ plain()          batch it, nothing to decide
///                                             │ decide()         QUIT, AUTH, HELLO, policy,
///                                             │                  CLIENT SETNAME/GETNAME/ID/INFO
///                                             └ route()          pin, SELECT, CONFIG GET, EXEC
///   session::client_loop runs the action: batch   → buf_ frames, submit() / flush()
///                                          send    → forward() or rewritten()
///                                          select  → select_shared()
///                                          answer  → answer(), flush_and_close()
///                                          reset   → reset()
///
/// What the pipeline changes (connection_state) it changes when it returns the action, in the
/// order the client sent the requests: the shell runs each action before it asks for the next.
/// An action that is not `batch` comes only when no batched frame is waiting (`flush` first):
/// a request that changes the session's protocol or db must not reroute the ones before it.
#include "rsm/proxy/command_traits.hpp"
#include "rsm/proxy/policy.hpp"
#include "rsm/proxy/users_file.hpp"
#include "rsm/resp/frame_parser.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace rsm::proxy {

/// How the reply of a request sent alone is rewritten before the client gets it: `auth`
/// (--auth passthrough) passes Redis's answer to an AUTH and, on OK, moves the session to the
/// user's connections; `permitted` answers the action's `local` reply when Redis ran the
/// command, and Redis's error (NOPERM) when it did not.
enum class rewrite { none, redact, execabort, hello, auth, permitted };

/// What the proxy holds for a client's connection (a new backend connection could not
/// re-create the flags; `db`, `resp` and `name` it can).
struct connection_state {
  bool authenticated = false;
  /// On a backend connection of its own (--backend-mode dedicated, or pinned).
  bool pinned = false;
  /// Replies no longer pair with requests (subscribed, MONITOR, CLIENT REPLY).
  bool unpaired = false;
  /// State on its connection that a new one could not re-create.
  bool sticky = false;
  bool in_multi = false;
  bool watching = false;
  /// In MULTI, the proxy refused a command: EXEC fails with EXECABORT, as in Redis.
  bool multi_dirty = false;
  long long db = 0;
  /// 2 or 3 (HELLO).
  int resp = 2;
  /// CLIENT SETNAME's or HELLO SETNAME's.
  std::string name;
  /// --auth passthrough: the ACL user Redis accepted (its id: lane_key::user, and its name:
  /// CLIENT INFO's `user`).
  std::uint32_t user = 0;
  std::string user_name = "default";
};

/// Who the client is, for CLIENT ID and CLIENT INFO.
struct client_identity {
  std::uint64_t id = 0;
  std::string addr{};   // "ip:port" of the client
  std::string laddr{};  // the proxy's side
  /// Fills addr and laddr when CLIENT INFO first needs them (the session's getpeername and
  /// getsockname: two syscalls a connection that never asks does not make).
  std::function<void(client_identity&)> resolve{};
  long long fd = -1;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  /// The proxy's read buffer for the client (CLIENT INFO's rbs).
  std::size_t read_buffer = 0;
};

struct action {
  enum class kind {
    /// Forward the frame's own bytes together with the batched ones before it.
    batch,
    /// Forward every batched frame first (nothing decided yet: ask again with the frame).
    flush,
    /// Send `bytes` in the frame's place, expecting `replies`.
    send,
    /// Send `bytes` alone, after every reply due; its reply is rewritten as `how`.
    send_alone,
    /// SELECT `db` on the shared path, checked by Redis on the session's lane (`bytes`).
    select,
    /// Answer `bytes` after every reply due; with `close`, then close.
    answer,
    /// RESET: after every reply due, drop everything, then call reset().
    reset,
    /// Nothing (an empty command).
    skip,
  };
  kind what = kind::batch;
  std::string bytes;
  /// Replies the request gets from Redis (0 once replies no longer pair).
  std::size_t replies = 0;
  rewrite how = rewrite::none;
  /// select: the db; batch or send on a pinned connection: a SELECT whose OK switches the
  /// session's db to this (-1: none).
  long long db = -1;
  /// Before it, the session moves to a connection of its own (it sets `state.pinned`).
  bool pin = false;
  /// rewrite::auth: the user and password Redis checks (`bytes`: the AUTH), and, for HELLO
  /// AUTH, what follows an OK: the protocol (0: unchanged) and `then`, the HELLO to send.
  std::string user;
  std::string password;
  int protocol = 0;
  std::string then;
  /// rewrite::permitted: the proxy's own reply.
  std::string local;
  bool close = false;
  /// What to count.
  enum class tally { none, refused, unknown, auth_failure };
  tally counted = tally::none;
};

struct pipeline_config {
  /// The password clients give the proxy (empty: none).
  std::string requirepass;
  const policy* commands = nullptr;
  /// Set while the proxy is fenced (--fence-after: no majority of the sentinels answers):
  /// commands that may write are refused, and EXEC aborts its transaction.
  const std::atomic<bool>* fenced = nullptr;
  /// --auth passthrough: Redis checks AUTH and HELLO AUTH, and what the proxy answers itself
  /// is only what every user may do (CLIENT ID and INFO first ask Redis whether the user may).
  bool passthrough = false;
  /// Passthrough, and a client that has not authenticated runs as the proxy's own user (--auth
  /// auto): what it asks about its own connection the proxy answers at once, as without
  /// passthrough.
  bool anonymous_is_proxy = false;
  /// --auth local: users besides `default` (--users-file; null or empty: none). With users and
  /// no requirepass, the `default` user is off (a client must AUTH as one of them).
  const user_table* users = nullptr;
};

class request_pipeline {
 public:
  request_pipeline(pipeline_config cfg, client_identity who, bool dedicated);

  /// The action for the whole frame the parser just ended (`frame`: its bytes), with
  /// `batched`: whether frames wait in the batch.
  action on_frame(const resp::request_parser& p, std::string_view frame, bool batched);
  /// A frame too large to hold whole (the parser knows its name, arguments count and first
  /// argument): `batch` (it streams through a connection of its own: `pin`) or an `answer`
  /// that closes.
  action on_large_frame(const resp::request_parser& p, std::size_t held);

  /// The state as RESET leaves it (its caller drops the pinned connection).
  void reset();

  connection_state state;
  client_identity identity;

  /// CLIENT INFO's line, in Redis 7.0's format, in the session's protocol.
  std::string client_info();

 private:
  /// A request nothing needs deciding about: forwarded as it is, with the others.
  bool plain(const command_traits& t, bool is_inline, bool refused) const;
  /// Why the command is refused (none: allowed): fenced and it writes, or the policy.
  std::optional<std::string> refusal(const resp::request_parser& p, const command_traits& t) const;
  std::optional<action> decide(const resp::request_parser& p, std::string_view frame,
                               const command_traits& t, std::optional<std::string> refused);
  action route(const resp::request_parser& p, std::string_view frame, const command_traits& t);
  std::optional<action> answer_locally(effect what, const resp::request_parser& p,
                                       std::string_view frame);
  action hello(const resp::request_parser& p, std::string_view frame);
  action permitted(const resp::request_parser& p, std::string_view frame, std::string local);
  /// --auth local: whether `user` with `password` may in (the default user: --requirepass).
  bool local_check(std::string_view user, std::string_view password) const;
  bool has_users() const { return cfg_.users != nullptr && !cfg_.users->empty(); }
  action auth(const resp::request_parser& p, std::string_view frame);
  std::string unknown_error(const resp::request_parser& p, std::string_view frame,
                            const command_traits& t) const;
  void note(const command_traits& t);

  pipeline_config cfg_;
  bool dedicated_;
};

/// The arguments of a whole, valid multibulk frame (or of an inline command: the parser's).
std::vector<std::string> frame_args(const resp::request_parser& p, std::string_view frame);

}  // namespace rsm::proxy
