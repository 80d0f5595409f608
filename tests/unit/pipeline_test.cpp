// The request pipeline (proxy/pipeline.hpp): frames and connection state in, actions out.
#include "rsm/proxy/pipeline.hpp"

#include "rsm/resp/command.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>

using namespace rsm;
using proxy::action;
using kind = proxy::action::kind;

namespace {

std::string frame_of(std::vector<std::string> args) {
  return resp::encode(resp::command(args));
}

// A client connection's pipeline, fed whole frames as the session feeds them.
struct client {
  explicit client(std::string requirepass = "", bool dedicated = false, bool passthrough = false,
                  bool anonymous_is_proxy = false)
      : commands({}, {}),
        pipe(proxy::pipeline_config{std::move(requirepass), &commands, &fenced, passthrough,
                                    anonymous_is_proxy},
             proxy::client_identity{.id = 42,
                                    .resolve =
                                        [this](proxy::client_identity& me) {
                                          ++resolved;
                                          me.addr = "127.0.0.1:5000";
                                          me.laddr = "127.0.0.1:6379";
                                        },
                                    .fd = 9},
             dedicated) {}

  /// The action for `bytes` (one whole frame), with `batched` frames waiting before it. A
  /// `flush` is answered as the session answers it: the same frame again, nothing batched.
  action send(std::string_view bytes, bool batched = false) {
    resp::request_parser p;
    auto step = p.parse(bytes);
    REQUIRE(step.what == resp::parse_step::kind::frame_end);
    REQUIRE(step.consumed == bytes.size());
    auto a = pipe.on_frame(p, bytes, batched);
    if (a.what == kind::flush) {
      flushes++;
      a = pipe.on_frame(p, bytes, false);
      REQUIRE(a.what != kind::flush);
    }
    if (a.pin) pipe.state.pinned = true;  // what session::pin() does
    return a;
  }
  action cmd(std::vector<std::string> args, bool batched = false) {
    return send(frame_of(std::move(args)), batched);
  }

  proxy::policy commands;
  std::atomic<bool> fenced{false};
  int resolved = 0;  // how often the client's addresses were looked up
  proxy::request_pipeline pipe;
  int flushes = 0;
};

}  // namespace

TEST_CASE("pipeline: plain requests batch, and what decides something waits for the batch",
          "[unit][pipeline]") {
  client c;
  auto a = c.cmd({"SET", "k", "v"}, true);
  CHECK(a.what == kind::batch);
  CHECK(a.replies == 1);
  CHECK_FALSE(a.pin);
  CHECK(c.flushes == 0);
  // HELLO changes the lane: the batched requests go first, in the old protocol.
  a = c.cmd({"HELLO", "3"}, true);
  CHECK(c.flushes == 1);
  CHECK(a.what == kind::send_alone);
  CHECK(a.how == proxy::rewrite::hello);
  CHECK(a.bytes == frame_of({"HELLO", "3"}));
  CHECK(c.pipe.state.resp == 3);
  // An empty command: nothing, but after the batch.
  c.flushes = 0;
  CHECK(c.send("*0\r\n", true).what == kind::skip);
  CHECK(c.flushes == 1);
}

TEST_CASE("pipeline: authentication to the proxy", "[unit][pipeline]") {
  client c("s3cret");
  CHECK_FALSE(c.pipe.state.authenticated);
  auto a = c.cmd({"GET", "k"});
  CHECK(a.what == kind::answer);
  CHECK(a.bytes == "-NOAUTH Authentication required.\r\n");
  // Arity first, as Redis; unknown before NOAUTH; CLIENT SETINFO is not in 7.0.
  CHECK(c.cmd({"GET"}).bytes == "-ERR wrong number of arguments for 'get' command\r\n");
  CHECK(c.cmd({"NOPE", "x"}).bytes.starts_with("-ERR unknown command 'NOPE'"));
  CHECK(c.cmd({"CLIENT", "SETINFO", "lib-name", "x"}).bytes.starts_with("-ERR unknown subcommand"));
  a = c.cmd({"AUTH", "wrong"});
  CHECK(a.bytes.starts_with("-WRONGPASS"));
  CHECK(a.counted == action::tally::auth_failure);
  CHECK_FALSE(c.pipe.state.authenticated);
  CHECK(c.cmd({"AUTH", "other", "s3cret"}).bytes.starts_with("-WRONGPASS"));
  CHECK(c.cmd({"AUTH", "default", "s3cret"}).bytes == "+OK\r\n");
  CHECK(c.pipe.state.authenticated);
  CHECK(c.cmd({"GET", "k"}).what == kind::batch);
  // RESET needs no authentication, and takes it away.
  client r("s3cret");
  CHECK(r.cmd({"RESET"}).what == kind::reset);
  r.cmd({"AUTH", "s3cret"});
  r.pipe.reset();
  CHECK_FALSE(r.pipe.state.authenticated);
  // HELLO AUTH authenticates; HELLO without it is refused before.
  client h("s3cret");
  CHECK(h.cmd({"HELLO", "3"}).bytes.starts_with("-NOAUTH HELLO must be called"));
  CHECK(h.pipe.state.resp == 2);
  a = h.cmd({"HELLO", "3", "AUTH", "default", "s3cret", "SETNAME", "app"});
  CHECK(a.what == kind::send_alone);
  CHECK(a.bytes == frame_of({"HELLO", "3"}));  // no password to Redis
  CHECK(h.pipe.state.authenticated);
  CHECK(h.pipe.state.name == "app");
  // Without a password, AUTH default <any> is fine and AUTH <pass> Redis's error.
  client open;
  CHECK(open.cmd({"AUTH", "default", "x"}).bytes == "+OK\r\n");
  CHECK(open.cmd({"AUTH", "x"}).bytes.starts_with("-ERR AUTH <password> called without"));
  CHECK(open.cmd({"QUIT"}).close);
}

TEST_CASE("pipeline: --auth passthrough leaves AUTH and the user's rights to Redis",
          "[unit][pipeline]") {
  client c("", false, true);
  // Nothing is refused before AUTH: Redis answers as it would (NOAUTH, or the default user's).
  auto a = c.cmd({"GET", "k"});
  CHECK(a.what == kind::batch);
  a = c.cmd({"AUTH", "app", "secret"});
  CHECK(a.what == kind::send_alone);
  CHECK(a.how == proxy::rewrite::auth);
  CHECK(a.bytes == frame_of({"AUTH", "app", "secret"}));
  CHECK(a.user == "app");
  CHECK(a.password == "secret");
  CHECK(a.then.empty());
  CHECK(c.pipe.state.user == 0);  // until Redis says OK (the session's part)
  a = c.cmd({"AUTH", "only-a-password"});
  CHECK(a.user == "default");
  CHECK(a.password == "only-a-password");
  CHECK(c.cmd({"AUTH"}).bytes.starts_with("-ERR wrong number of arguments"));
  a = c.cmd({"AUTH", "a", "b", "c"});  // Redis's own "syntax error"
  CHECK(a.how == proxy::rewrite::auth);
  CHECK(a.bytes == frame_of({"AUTH", "a", "b", "c"}));
  // HELLO AUTH: the AUTH first, the HELLO (without AUTH and SETNAME) once Redis said OK.
  a = c.cmd({"HELLO", "3", "AUTH", "app", "secret", "SETNAME", "n"});
  CHECK(a.how == proxy::rewrite::auth);
  CHECK(a.bytes == frame_of({"AUTH", "app", "secret"}));
  CHECK(a.protocol == 3);
  CHECK(a.then == frame_of({"HELLO", "3"}));
  CHECK(c.pipe.state.resp == 2);  // not before the AUTH's OK
  CHECK(c.pipe.state.name == "n");
  // The proxy's own answers about the connection only once Redis ran the command as the user.
  a = c.cmd({"CLIENT", "ID"});
  CHECK(a.what == kind::send_alone);
  CHECK(a.how == proxy::rewrite::permitted);
  CHECK(a.bytes == frame_of({"CLIENT", "ID"}));
  CHECK(a.local == ":42\r\n");
  c.pipe.state.user_name = "app";
  a = c.cmd({"CLIENT", "INFO"});
  CHECK(a.how == proxy::rewrite::permitted);
  CHECK(a.local.find(" user=app ") != std::string::npos);
  // What every user may do stays the proxy's.
  CHECK(c.cmd({"CLIENT", "SETNAME", "x"}).what == kind::answer);
  CHECK(c.cmd({"CLIENT", "GETNAME"}).bytes == "$1\r\nx\r\n");
  // Subscribed (on its own connection): AUTH goes to Redis as it is, among the pushes.
  c.cmd({"SUBSCRIBE", "ch"});
  a = c.cmd({"AUTH", "app", "secret"});
  CHECK(a.what == kind::send);
  CHECK(a.how == proxy::rewrite::none);
  // RESET: back to the anonymous user.
  c.pipe.state.user = 3;
  c.pipe.reset();
  CHECK(c.pipe.state.user == 0);
  CHECK(c.pipe.state.user_name == "default");
  CHECK(c.pipe.state.authenticated);
}

TEST_CASE("pipeline: --auth auto answers CLIENT ID itself until the client AUTHs as a user",
          "[unit][pipeline]") {
  client c("", false, true, true);
  CHECK(c.cmd({"CLIENT", "ID"}).what == kind::answer);  // the proxy's own user: as local
  CHECK(c.cmd({"AUTH", "app", "pw"}).how == proxy::rewrite::auth);
  c.pipe.state.user = 1;  // what the session does on Redis's OK
  CHECK(c.cmd({"CLIENT", "ID"}).how == proxy::rewrite::permitted);
}

TEST_CASE("pipeline: refusals, and a transaction with one fails as Redis's", "[unit][pipeline]") {
  client c;
  auto a = c.cmd({"REPLICAOF", "198.18.0.1", "6379"});
  CHECK(a.what == kind::answer);
  CHECK(a.counted == action::tally::refused);
  CHECK(a.bytes.starts_with("-ERR"));
  // In MULTI: the refusal marks the transaction; EXEC is Redis's DISCARD, the client's
  // EXECABORT.
  a = c.cmd({"MULTI"});
  CHECK(a.what == kind::batch);
  CHECK(a.pin);
  CHECK(c.pipe.state.in_multi);
  CHECK(c.cmd({"SET", "k", "v"}).what == kind::batch);
  CHECK(c.cmd({"CONFIG", "SET", "maxmemory", "1"}).counted == action::tally::refused);
  CHECK(c.pipe.state.multi_dirty);
  a = c.cmd({"EXEC"});
  CHECK(a.what == kind::send_alone);
  CHECK(a.how == proxy::rewrite::execabort);
  // AUTH and HELLO would be queued by Redis and run on the proxy's connection: refused too.
  for (auto cmd : {std::vector<std::string>{"AUTH", "x"}, {"HELLO", "3"}}) {
    client m;
    m.cmd({"MULTI"});
    a = m.cmd(cmd);
    CHECK(a.what == kind::answer);
    CHECK(a.counted == action::tally::refused);
    CHECK(m.pipe.state.resp == 2);
    CHECK(m.cmd({"EXEC"}).how == proxy::rewrite::execabort);
  }
  a = c.cmd({"MULTI"});
  c.cmd({"CONFIG", "SET", "maxmemory", "1"});
  a = c.cmd({"EXEC"});
  CHECK(a.what == kind::send_alone);
  CHECK(a.how == proxy::rewrite::execabort);
  CHECK(a.bytes == frame_of({"DISCARD"}));
  CHECK_FALSE(c.pipe.state.in_multi);
  CHECK_FALSE(c.pipe.state.multi_dirty);
  // CONFIG GET: alone, redacted; in MULTI refused (its reply would be inside EXEC's).
  client g;
  a = g.cmd({"CONFIG", "GET", "*"});
  CHECK(a.what == kind::send_alone);
  CHECK(a.how == proxy::rewrite::redact);
  g.cmd({"MULTI"});
  a = g.cmd({"CONFIG", "GET", "requirepass"});
  CHECK(a.what == kind::answer);
  CHECK(g.pipe.state.multi_dirty);
}

TEST_CASE("pipeline: a fenced proxy refuses what may write and aborts transactions",
          "[unit][pipeline]") {
  client c;
  CHECK(c.cmd({"SET", "k", "v"}).what == kind::batch);
  c.fenced = true;
  for (auto cmd : std::vector<std::vector<std::string>>{{"SET", "k", "v"},
                                                        {"DEL", "k"},
                                                        {"EVAL", "return 1", "0"},
                                                        {"FCALL", "f", "0"},
                                                        {"LPUSH", "l", "x"}}) {
    INFO(cmd[0]);
    auto a = c.cmd(cmd);
    CHECK(a.what == kind::answer);
    CHECK(a.counted == action::tally::refused);
    CHECK(a.bytes.starts_with("-FENCED rsm proxy: no majority of the sentinels"));
  }
  for (auto cmd : std::vector<std::vector<std::string>>{
           {"GET", "k"}, {"EVAL_RO", "return 1", "0"}, {"PING"}, {"SCAN", "0"}}) {
    INFO(cmd[0]);
    CHECK(c.cmd(cmd).what == kind::batch);
  }
  // A transaction queued before the fence is discarded at EXEC, not run.
  client t;
  t.cmd({"MULTI"});
  t.cmd({"SET", "k", "v"});
  t.fenced = true;
  auto a = t.cmd({"EXEC"});
  CHECK(a.what == kind::send_alone);
  CHECK(a.how == proxy::rewrite::execabort);
  // Unfenced: writes go again.
  c.fenced = false;
  CHECK(c.cmd({"SET", "k", "v"}).what == kind::batch);
}

TEST_CASE("pipeline: SELECT, subscriptions and inline commands", "[unit][pipeline]") {
  client c;
  auto a = c.cmd({"SELECT", "5"});
  CHECK(a.what == kind::select);
  CHECK(a.db == 5);
  CHECK(c.pipe.state.db == 0);  // until Redis says OK (the session's on_replies)
  c.pipe.state.db = 5;
  CHECK(c.cmd({"SELECT", "5"}).what == kind::batch);  // no change: Redis answers it as it is
  CHECK(c.cmd({"SELECT", "x"}).what == kind::batch);  // Redis refuses it: nothing changes
  // Pinned: the SELECT rides with the others, its OK switches the db.
  client p("", true);
  a = p.cmd({"SELECT", "3"});
  CHECK(a.what == kind::batch);
  CHECK(a.db == 3);
  // SUBSCRIBE pins; then replies no longer pair.
  a = c.cmd({"SUBSCRIBE", "ch"});
  CHECK(a.pin);
  CHECK(a.replies == 0);
  CHECK(c.pipe.state.unpaired);
  CHECK(c.cmd({"PING"}).replies == 0);
  // Inline: re-encoded, so that Redis splits nothing its own way.
  client i;
  a = i.send("SET k\vv x\r\n");
  CHECK(a.what == kind::send);
  CHECK(a.bytes == frame_of({"SET", "k\vv", "x"}));
  CHECK(i.send("\vMULTI\r\n").pin);  // the whitespace set is Redis's (\v splits)
}

TEST_CASE("pipeline: what the proxy answers itself", "[unit][pipeline]") {
  client c;
  CHECK(c.cmd({"CLIENT", "SETNAME", "app"}).bytes == "+OK\r\n");
  CHECK(c.pipe.state.name == "app");
  CHECK(c.cmd({"CLIENT", "GETNAME"}).bytes == "$3\r\napp\r\n");
  CHECK(c.cmd({"CLIENT", "SETNAME", "a b"}).bytes.starts_with("-ERR Client names cannot"));
  CHECK(c.cmd({"CLIENT", "ID"}).bytes == ":42\r\n");
  CHECK(c.resolved == 0);  // the addresses are looked up only when CLIENT INFO needs them
  auto info = c.cmd({"CLIENT", "INFO"}).bytes;
  CHECK(c.cmd({"CLIENT", "INFO"}).bytes.find(" addr=127.0.0.1:5000 ") != std::string::npos);
  CHECK(c.resolved == 1);
  CHECK(info.starts_with("$"));
  CHECK(info.find("id=42 addr=127.0.0.1:5000 laddr=127.0.0.1:6379 fd=9 name=app ") !=
        std::string::npos);
  CHECK(info.find(" resp=2\n") != std::string::npos);
  auto a = c.cmd({"CLIENT", "MAINT_NOTIFICATIONS", "on"});
  CHECK(a.what == kind::answer);
  CHECK(a.counted == action::tally::unknown);
  CHECK(a.bytes.starts_with("-ERR unknown subcommand 'MAINT_NOTIFICATIONS'"));
  // In MULTI they are queued by Redis, not answered here.
  c.cmd({"MULTI"});
  CHECK(c.cmd({"CLIENT", "ID"}).what == kind::batch);
  // An unknown command: a connection of its own, counted.
  client u;
  a = u.cmd({"FUTURECMD", "x"});
  CHECK(a.what == kind::batch);
  CHECK(a.pin);
  CHECK(a.counted == action::tally::unknown);
}

TEST_CASE("pipeline: frames too large to hold", "[unit][pipeline]") {
  auto large = [](std::vector<std::string> args) {
    auto bytes = frame_of(std::move(args));
    resp::request_parser p;
    auto step = p.parse(std::string_view(bytes).substr(0, bytes.size() / 2));
    REQUIRE(step.what == resp::parse_step::kind::need_more);
    return p;
  };
  std::string big(2 << 20, 'x');
  client c;
  auto a = c.pipe.on_large_frame(large({"SET", "k", big}), big.size() / 2);
  CHECK(a.what == kind::batch);
  CHECK(a.pin);
  CHECK(a.replies == 1);
  for (auto args : std::vector<std::vector<std::string>>{{"CONFIG", "GET", big},
                                                         {"CLIENT", "SETNAME", big},
                                                         {"HELLO", "3", "SETNAME", big},
                                                         {"REPLICAOF", big, "1"}}) {
    INFO(args[0] + " " + args[1].substr(0, 8));
    client d;
    a = d.pipe.on_large_frame(large(args), big.size() / 2);
    CHECK(a.what == kind::answer);
    CHECK(a.close);
  }
}

// Every command of the table, in every state a session can be in: what may reach a shared
// connection does (no connection state, one reply each), and nothing is decided while frames
// wait in the batch.
TEST_CASE("pipeline: no command of the table reaches a shared connection it could break",
          "[unit][pipeline]") {
  std::size_t checked = 0;
  for (const auto& info : proxy::command_table::builtin().all()) {
    if (info->container) continue;
    std::vector<std::string> args;
    auto bar = info->name.find('|');
    args.push_back(info->name.substr(0, bar));
    if (bar != std::string::npos) args.push_back(info->name.substr(bar + 1));
    while (args.size() < static_cast<std::size_t>(std::abs(info->arity))) args.push_back("0");
    for (int state = 0; state < 8; ++state) {
      client c("", false);
      if (state & 1) c.cmd({"MULTI"});
      if (state & 2) c.cmd({"HELLO", "3"});
      if (state & 4) {
        c.cmd({"SELECT", "2"});
        c.pipe.state.db = 2;  // Redis said OK
      }
      bool pinned = c.pipe.state.pinned;
      INFO(info->name << " state " << state);
      auto a = c.cmd(args, true);
      ++checked;
      if (a.what == kind::batch && c.flushes > 0) {
        // It waited for the batch: something was decided (a pin, a count, ...).
        CHECK((a.pin || a.counted != action::tally::none || a.db >= 0 ||
               info->what != proxy::effect::none || pinned));
      }
      bool shared = !pinned && !a.pin &&
                    (a.what == kind::batch || a.what == kind::send || a.what == kind::send_alone ||
                     a.what == kind::select);
      if (!shared) continue;
      CHECK(info->replies == proxy::reply_count::one);
      CHECK(info->how != proxy::route::pin);
      CHECK(info->what != proxy::effect::multi);
      CHECK(info->what != proxy::effect::watch);
      CHECK(info->what != proxy::effect::sticky);
      CHECK_FALSE(c.pipe.state.unpaired);
      CHECK_FALSE(c.pipe.state.sticky);
      if (info->how == proxy::route::refuse) FAIL("a refused command was forwarded");
    }
  }
  CHECK(checked > 8 * 200);
}
