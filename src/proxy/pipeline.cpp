#include "rsm/proxy/pipeline.hpp"

#include "rsm/proxy/client_state.hpp"
#include "rsm/resp/command.hpp"
#include "rsm/secret.hpp"

#include <cctype>

namespace rsm::proxy {

namespace {

constexpr std::string_view k_wrongpass =
    "-WRONGPASS invalid username-password pair or user is disabled.\r\n";

action answer(std::string text, action::tally counted = action::tally::none) {
  action a;
  a.what = action::kind::answer;
  a.bytes = std::move(text);
  a.counted = counted;
  return a;
}

// --auth passthrough: `AUTH [user] pass` (`bytes`) for Redis to check, as `user`.
action check_auth(std::string bytes, std::string user, std::string password) {
  action a;
  a.what = action::kind::send_alone;
  a.how = rewrite::auth;
  a.bytes = std::move(bytes);
  a.user = std::move(user);
  a.password = std::move(password);
  a.replies = 1;
  return a;
}

bool is(const command_traits& t, effect what) {
  return t.info != nullptr && t.info->what == what;
}

}  // namespace

std::vector<std::string> frame_args(const resp::request_parser& p, std::string_view f) {
  if (p.is_inline()) return p.inline_args();
  std::vector<std::string> out;
  auto line = [&f]() -> long long {
    auto cr = f.find('\r');
    if (cr == std::string_view::npos) return 0;
    auto l = f.substr(1, cr - 1);
    f.remove_prefix(std::min(f.size(), cr + 2));
    long long n = 0;
    for (char c : l) {
      if (c < '0' || c > '9') return 0;
      n = n * 10 + (c - '0');
    }
    return n;
  };
  if (f.empty() || f[0] != '*') return out;
  auto n = line();
  for (long long i = 0; i < n && !f.empty(); ++i) {
    auto len = static_cast<std::size_t>(line());
    out.emplace_back(f.substr(0, len));
    f.remove_prefix(std::min(f.size(), len + 2));
  }
  return out;
}

request_pipeline::request_pipeline(pipeline_config cfg, client_identity who, bool dedicated)
    : identity(std::move(who)), cfg_(std::move(cfg)), dedicated_(dedicated) {
  state.authenticated = cfg_.passthrough || (cfg_.requirepass.empty() && !has_users());
  state.pinned = dedicated_;
}

void request_pipeline::reset() {
  bool pinned = dedicated_;
  state = connection_state{};
  state.pinned = pinned;
  state.authenticated = cfg_.passthrough || (cfg_.requirepass.empty() && !has_users());
}

bool request_pipeline::local_check(std::string_view user, std::string_view password) const {
  if (user == "default") {
    if (cfg_.requirepass.empty()) return !has_users();  // nopass: any password; users: off
    return same_secret(password, cfg_.requirepass);
  }
  return has_users() && cfg_.users->check(user, password);
}

bool request_pipeline::plain(const command_traits& t, bool is_inline, bool refused) const {
  return state.authenticated && !is_inline && !refused && !t.hello && !t.resets && !t.selects &&
         !t.redacts && !t.local && !t.unknown && !(t.pins && !state.pinned) &&
         !(t.ends_multi && state.in_multi && state.multi_dirty) && !is(t, effect::quit) &&
         !is(t, effect::auth);
}

std::optional<std::string> request_pipeline::refusal(const resp::request_parser& p,
                                                     const command_traits& t) const {
  if (t.info && t.info->writes && cfg_.fenced && cfg_.fenced->load(std::memory_order_relaxed)) {
    return "FENCED rsm proxy: no majority of the sentinels has answered for --fence-after; "
           "writes are refused until one does";
  }
  if (!cfg_.commands) return std::nullopt;
  return cfg_.commands->refusal(p.name().view(), p.first_arg().view());
}

action request_pipeline::on_frame(const resp::request_parser& p, std::string_view frame,
                                  bool batched) {
  if (p.is_empty()) {  // Redis ignores empty commands
    action a;
    a.what = batched ? action::kind::flush : action::kind::skip;
    return a;
  }
  auto t = classify(p.name(), p.first_arg(), p.argc());
  if (t.resets && !t.bad_arity) {  // RESET needs no authentication
    action a;
    a.what = batched ? action::kind::flush : action::kind::reset;
    return a;
  }
  if (t.ends_multi && state.in_multi && cfg_.fenced &&
      cfg_.fenced->load(std::memory_order_relaxed) && p.name().equals_upper("EXEC")) {
    state.multi_dirty = true;  // fenced: the transaction is discarded (EXECABORT), not run
  }
  auto refused = refusal(p, t);  // looked up once: plain() and decide() both need it
  if (plain(t, p.is_inline(), refused.has_value())) {
    note(t);
    action a;
    a.replies = state.unpaired ? 0 : 1;
    return a;
  }
  if (batched) {
    action a;
    a.what = action::kind::flush;
    return a;
  }
  if (auto local = decide(p, frame, t, std::move(refused))) return std::move(*local);
  return route(p, frame, t);
}

action request_pipeline::on_large_frame(const resp::request_parser& p, std::size_t held) {
  auto t = classify(p.name(), p.first_arg(), p.argc());
  // What the proxy answers itself or rewrites needs the whole frame.
  if (decide(p, {}, t, refusal(p, t)) || t.redacts) {
    auto a = answer("-ERR rsm proxy: a " + std::to_string(held) +
                    "-byte request that cannot be forwarded\r\n");
    a.close = true;
    return a;
  }
  action a;
  a.pin = !state.pinned;
  note(t);
  a.replies = state.unpaired ? 0 : 1;
  return a;
}

// Whether the proxy answers this frame itself (`frame`: its bytes when held whole).
std::optional<action> request_pipeline::decide(const resp::request_parser& p,
                                               std::string_view frame, const command_traits& t,
                                               std::optional<std::string> refused) {
  if (is(t, effect::quit)) {
    auto a = answer("+OK\r\n");
    a.close = true;
    return a;
  }
  if ((t.hello || is(t, effect::auth)) && state.in_multi) {
    // Redis would queue it and run it at EXEC, on the connection the proxy authenticated: the
    // transaction fails instead (EXECABORT), as for any command Redis rejects while queueing.
    state.multi_dirty = true;
    return answer("-ERR rsm proxy: " + std::string(t.hello ? "HELLO" : "AUTH") +
                      " inside MULTI is not supported (the proxy authenticates its clients "
                      "itself)\r\n",
                  action::tally::refused);
  }
  if (t.hello) return hello(p, frame);
  if (is(t, effect::auth)) return auth(p, frame);
  if (!state.authenticated) {
    // Redis checks the arity first (and so must the proxy: the backend is authenticated).
    if (t.bad_arity && t.info)
      return answer("-ERR wrong number of arguments for '" + t.info->name + "' command\r\n");
    // What Redis 7.0 does not have (rsm's facts name a newer one: CLIENT SETINFO) is unknown.
    if (t.unknown || (t.info && !t.info->in_redis))
      return answer("-" + unknown_error(p, frame, t) + "\r\n");
    return answer("-NOAUTH Authentication required.\r\n");
  }
  if (refused) {
    if (state.in_multi) state.multi_dirty = true;  // EXEC fails with EXECABORT, as in Redis
    return answer("-" + *refused + "\r\n", action::tally::refused);
  }
  // State the proxy holds for every session (a connection of the session's own gets the name
  // when it opens). Inside MULTI (queued, run by EXEC) or subscribed, it goes to Redis.
  // CLIENT INFO of a session with server-side state (tracking, ...) is its connection's.
  if (t.local && !state.in_multi && !state.unpaired && !(is(t, effect::info) && state.sticky)) {
    if (t.info == nullptr)
      return answer("-" + unknown_error(p, frame, t) + "\r\n", action::tally::unknown);
    return answer_locally(t.info->what, p, frame);
  }
  return std::nullopt;
}

// Where a request the proxy does not answer goes, and what the session does before it.
action request_pipeline::route(const resp::request_parser& p, std::string_view frame,
                               const command_traits& t) {
  // Requests the proxy re-encodes: Redis gets the arguments the proxy classified, not a line
  // to split again its own way.
  auto bytes = [&] {
    return p.is_inline() ? resp::encode(resp::command(p.inline_args())) : std::string(frame);
  };
  action a;
  if (t.redacts && !t.bad_arity) {
    if (state.in_multi || state.unpaired) {
      // Its reply would come inside EXEC's, or among pushes: it could not be redacted.
      state.multi_dirty = state.multi_dirty || state.in_multi;
      return answer(
          "-ERR rsm proxy: CONFIG GET is not allowed in MULTI or while subscribed (its reply "
          "could not be redacted)\r\n",
          action::tally::refused);
    }
    a.what = action::kind::send_alone;
    a.how = rewrite::redact;
    a.bytes = bytes();
    a.replies = 1;
    return a;
  }
  if (t.ends_multi && state.in_multi && state.multi_dirty && p.name().equals_upper("EXEC")) {
    // The proxy refused a command of this transaction: Redis must not run the rest. It gets
    // DISCARD, the client Redis's answer to a transaction with a rejected command.
    note(t);
    a.what = action::kind::send_alone;
    a.how = rewrite::execabort;
    a.bytes = resp::encode(resp::command{"DISCARD"});
    a.replies = 1;
    return a;
  }
  if (t.unknown) a.counted = action::tally::unknown;
  a.pin = t.pins && !state.pinned;
  bool pinned = state.pinned || a.pin;
  note(t);
  if (t.selects && !pinned && t.db >= 0 && t.db != state.db) {
    // Another db: Redis checks the SELECT on this session's shared connection first.
    a.what = action::kind::select;
    a.db = t.db;
    a.bytes = bytes();
    a.replies = 1;
    return a;
  }
  if (pinned && t.selects && t.db >= 0 && !state.unpaired) a.db = t.db;
  a.replies = state.unpaired ? 0 : 1;
  if (p.is_inline()) {
    a.what = action::kind::send;
    a.bytes = bytes();
  }
  return a;
}

action request_pipeline::auth(const resp::request_parser& p, std::string_view frame) {
  auto args = frame_args(p, frame);
  if (args.size() < 2 || (args.size() > 3 && !cfg_.passthrough))
    return answer("-ERR wrong number of arguments for 'auth' command\r\n");
  if (cfg_.passthrough) {  // and more than 3 arguments: Redis's own "syntax error"
    auto bytes = resp::encode(resp::command(args));
    if (state.unpaired) {  // among pushes, on its own connection: Redis answers as it will
      action a;
      a.what = action::kind::send;
      a.bytes = std::move(bytes);
      return a;
    }
    return check_auth(std::move(bytes), args.size() == 3 ? args[1] : "default", args.back());
  }
  if (args.size() == 3 || !cfg_.requirepass.empty() || has_users()) {
    // AUTH user pass, or AUTH pass (the default user's) when it has one or is off.
    const std::string user = args.size() == 3 ? args[1] : "default";
    if (!local_check(user, args.back()))
      return answer(std::string(k_wrongpass), action::tally::auth_failure);
    state.authenticated = true;
    state.user_name = user;
    return answer("+OK\r\n");
  }
  return answer(
      "-ERR AUTH <password> called without any password configured for the default user. "
      "Are you sure your configuration is correct?\r\n");
}

// HELLO [protover [AUTH user pass] [SETNAME name]], checked as Redis 7.0 checks it. The
// protocol and name are the session's (its requests then go on a shared connection of that
// protocol); what goes to Redis is `HELLO [protover]`, without AUTH (the proxy's clients
// authenticate to the proxy) and without SETNAME (the proxy holds the name), so that the reply
// is Redis's own map in the client's protocol, its id rewritten to the session's.
action request_pipeline::hello(const resp::request_parser& p, std::string_view frame) {
  if (frame.empty() && !p.is_inline()) return answer("-ERR too large\r\n");
  auto h = parse_hello(frame_args(p, frame));
  if (h.setname) state.name = *h.setname;  // whatever follows (as Redis 7.0)
  if (!h.error.empty()) return answer("-" + h.error + "\r\n");
  if (h.auth && cfg_.passthrough && !state.unpaired) {
    // Redis checks the user first (AUTH, on the authentication connection); on OK, the HELLO
    // follows on a connection of that user, in the protocol asked for.
    auto a = check_auth(resp::encode(resp::command{"AUTH", h.username, h.password}), h.username,
                        h.password);
    a.protocol = h.protocol;
    resp::command c{"HELLO"};
    if (h.protocol != 0) c.arg(std::to_string(h.protocol));
    a.then = resp::encode(c);
    return a;
  }
  if (h.auth && cfg_.passthrough) {
    // Subscribed, on its own connection: the whole HELLO goes to Redis, which answers it.
    action a;
    a.what = action::kind::send;
    a.bytes = resp::encode(resp::command(frame_args(p, frame)));
    if (h.protocol != 0) state.resp = h.protocol;
    return a;
  }
  if (h.auth) {
    if (!local_check(h.username, h.password))
      return answer(std::string(k_wrongpass), action::tally::auth_failure);
    state.authenticated = true;
    state.user_name = h.username;
  }
  if (!state.authenticated) return answer("-" + std::string(k_hello_noauth) + "\r\n");
  if (h.protocol != 0) state.resp = h.protocol;
  resp::command c{"HELLO"};
  if (h.protocol != 0) c.arg(std::to_string(h.protocol));
  action a;
  a.bytes = resp::encode(c);
  if (state.unpaired) {
    a.what = action::kind::send;  // among pushes: its reply is not rewritten
  } else {
    a.what = action::kind::send_alone;
    a.how = rewrite::hello;
    a.replies = 1;
  }
  return a;
}

// CLIENT SETNAME, GETNAME, ID and INFO, answered as Redis 7.0 answers them.
std::optional<action> request_pipeline::answer_locally(effect what, const resp::request_parser& p,
                                                       std::string_view frame) {
  // A frame too large to hold (only its name is known): the caller refuses it.
  if (frame.empty() && !p.is_inline()) return answer("-ERR too large\r\n");
  switch (what) {
    case effect::setname: {
      auto args = frame_args(p, frame);
      const auto& name = args.at(2);
      if (auto e = client_name_error(name)) return answer("-" + *e + "\r\n");
      state.name = name;
      return answer("+OK\r\n");
    }
    case effect::getname:
      if (state.name.empty()) return answer(state.resp == 3 ? "_\r\n" : "$-1\r\n");
      return answer("$" + std::to_string(state.name.size()) + "\r\n" + state.name + "\r\n");
    case effect::id:
      return permitted(p, frame, ":" + std::to_string(identity.id) + "\r\n");
    case effect::info:
      return permitted(p, frame, client_info());
    default:
      return std::nullopt;
  }
}

// The proxy's own reply `local` to a command of the client's own connection: with --auth
// passthrough, only once Redis has run the command for the user (else Redis's error, NOPERM).
action request_pipeline::permitted(const resp::request_parser& p, std::string_view frame,
                                   std::string local) {
  if (!cfg_.passthrough || (cfg_.anonymous_is_proxy && state.user == 0))
    return answer(std::move(local));
  action a;
  a.what = action::kind::send_alone;
  a.how = rewrite::permitted;
  a.bytes = p.is_inline() ? resp::encode(resp::command(p.inline_args())) : std::string(frame);
  a.local = std::move(local);
  a.replies = 1;
  return a;
}

// Redis's reply to a command or subcommand it does not have (Redis 7.0's, for what rsm's
// table does not have).
std::string request_pipeline::unknown_error(const resp::request_parser& p, std::string_view frame,
                                            const command_traits& t) const {
  auto args = frame_args(p, frame);
  if (args.empty()) args.emplace_back(p.name().view());  // too large to hold: its name
  const command_info* container = t.container;
  if (container == nullptr && t.info != nullptr && t.info->name.find('|') != std::string::npos)
    container = command_table::builtin().find(p.name().view(), "");
  if (container != nullptr && args.size() > 1) {
    std::string upper = container->name;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return unknown_subcommand_error(upper, args[1]);
  }
  return unknown_command_error(args);
}

// CLIENT INFO in Redis 7.0's format, of the client's connection to the proxy: its id (CLIENT
// ID's), addresses, name, db and protocol; the buffer fields are the proxy's own, not Redis's.
std::string request_pipeline::client_info() {
  if (identity.resolve) {
    auto resolve = std::move(identity.resolve);
    identity.resolve = nullptr;
    resolve(identity);
  }
  auto age = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                              identity.started)
                 .count();
  std::string line = "id=" + std::to_string(identity.id) + " addr=" + identity.addr +
                     " laddr=" + identity.laddr + " fd=" + std::to_string(identity.fd) +
                     " name=" + state.name + " age=" + std::to_string(age) +
                     " idle=0 flags=N db=" + std::to_string(state.db) +
                     " sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 "
                     "rbs=" +
                     std::to_string(identity.read_buffer) + " rbp=0 obl=0 oll=0 omem=0 tot-mem=0 " +
                     "events=r cmd=client|info user=" + state.user_name +
                     " redir=-1 resp=" + std::to_string(state.resp) + "\n";
  if (state.resp == 3) return "=" + std::to_string(line.size() + 4) + "\r\ntxt:" + line + "\r\n";
  return "$" + std::to_string(line.size()) + "\r\n" + line + "\r\n";
}

void request_pipeline::note(const command_traits& t) {
  if (t.unpairs) state.unpaired = true;
  if (t.sticky) state.sticky = true;
  if (t.starts_multi && !state.in_multi) {
    state.in_multi = true;
    state.multi_dirty = false;
  }
  if (t.watches) state.watching = true;
  if (t.ends_multi) state.in_multi = state.watching = state.multi_dirty = false;
  if (t.unwatches && !state.in_multi) state.watching = false;
}

}  // namespace rsm::proxy
