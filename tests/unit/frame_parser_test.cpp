#include "rsm/resp/frame_parser.hpp"
#include "support/printing.hpp"

#include <catch2/catch.hpp>

#include <ostream>
#include <random>

using namespace rsm::resp;
using kind = parse_step::kind;

namespace {

struct frame_seen {
  std::size_t bytes;
  std::string name;
  std::string arg1;
  std::size_t argc;
  bool operator==(const frame_seen&) const = default;
  friend std::ostream& operator<<(std::ostream& os, const frame_seen& f) {
    return os << "{" << f.bytes << " " << f.name << " argc=" << f.argc << "}";
  }
};

// Feeds `stream` in pieces ending at `cuts`; the parser only ever sees unconsumed bytes, as
// the proxy's buffer would hold them.
template <class Parser, class OnFrame>
void feed(Parser& p, const std::string& stream, const std::vector<std::size_t>& cuts,
          OnFrame on_frame, std::string* error = nullptr) {
  std::string pending;
  std::size_t pos = 0, frame_bytes = 0;
  for (auto cut : cuts) {
    pending.append(stream, pos, cut - pos);
    pos = cut;
    while (!pending.empty()) {
      auto st = p.parse(pending);
      frame_bytes += st.consumed;
      pending.erase(0, st.consumed);
      if (st.what == kind::error) {
        if (error) *error = p.error_message();
        return;
      }
      if (st.what == kind::need_more) {
        REQUIRE(pending.empty());
        break;
      }
      on_frame(frame_bytes);
      frame_bytes = 0;
    }
  }
}

std::vector<std::vector<std::size_t>> splits(std::size_t size, int random_rounds) {
  std::vector<std::vector<std::size_t>> out;
  out.push_back({size});
  std::vector<std::size_t> bytes;
  for (std::size_t i = 1; i <= size; ++i) bytes.push_back(i);
  out.push_back(bytes);
  std::mt19937 rng(99);
  for (int r = 0; r < random_rounds; ++r) {
    std::vector<std::size_t> cuts;
    std::size_t pos = 0;
    while (pos < size) {
      pos = std::min(size, pos + 1 + rng() % 13);
      cuts.push_back(pos);
    }
    out.push_back(cuts);
  }
  return out;
}

std::vector<frame_seen> expected_requests() {
  return {{31, "SET", "k", 3}, {27, "get", std::string("a\r\n\0b\r\nc", 8), 2},
          {25, "SET", "", 3},  {4, "", "", 0},
          {6, "PING", "", 1},  {16, "set", "a b", 3},
          {14, "QUIT", "", 1}};
}

}  // namespace

TEST_CASE("request frames are found whole and byte by byte and in random splits", "[unit][frame]") {
  // A NUL inside: built with explicit lengths.
  std::string stream = std::string("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n") +
                       std::string("*2\r\n$3\r\nget\r\n$8\r\na\r\n\0b\r\nc\r\n", 27) +
                       "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$0\r\n\r\n*0\r\nPING\r\nset \"a b\" 'c "
                       "d'\n*1\r\n$4\r\nQUIT\r\n";
  auto want = expected_requests();
  for (const auto& cuts : splits(stream.size(), 200)) {
    request_parser p;
    std::vector<frame_seen> got;
    feed(p, stream, cuts, [&](std::size_t bytes) {
      got.push_back(
          {bytes, std::string(p.name().view()), std::string(p.first_arg().view()), p.argc()});
    });
    REQUIRE(got == want);
  }
  request_parser p;
  auto st = p.parse("set \"a b\" 'c d'\r\n");
  CHECK(st.what == kind::frame_end);
  CHECK(p.is_inline());
  CHECK(p.inline_args() == std::vector<std::string>{"set", "a b", "c d"});
  CHECK(p.name().equals_upper("SET"));
}

TEST_CASE("inline commands are split exactly as Redis 7's sdssplitargs splits them",
          "[unit][frame]") {
  using args = std::vector<std::string>;
  struct row {
    std::string line;  // without its newline
    bool ok;
    args want;
  };
  using namespace std::string_literals;
  const std::vector<row> rows = {
      // Blanks between arguments are isspace(): \v and \f too.
      {"\vSELECT 5", true, {"SELECT", "5"}},
      {"CONFIG \fSET maxmemory 1", true, {"CONFIG", "SET", "maxmemory", "1"}},
      {"\f\v\t PING", true, {"PING"}},
      // ... but an unquoted argument ends only at ' ', \t, \n, \r or NUL.
      {"SET\va b", true, {"SET\va", "b"}},
      {"SET\fa b", true, {"SET\fa", "b"}},
      // A closing quote needs a blank (any isspace) or the end after it.
      {"\"a\"\vb", true, {"a", "b"}},
      {"'a'\fb", true, {"a", "b"}},
      {"\"a\"b", false, {}},
      {"'a'b", false, {}},
      // Quotes start inside an argument too, and escapes work inside double quotes only.
      {"ab\"c d\" e", true, {"abc d", "e"}},
      {"\"\\x41\\x4g\\n\"", true, {"Ax4g\n"}},
      {"'it\\'s'", true, {"it's"}},
      {"'a\\nb'", true, {"a\\nb"}},
      {"\"\\\"", false, {}},  // the escape eats the closing quote
      {"\xff\x80 \x85", true, {"\xff\x80", "\x85"}},
  };
  for (const auto& r : rows) {
    CAPTURE(r.line);
    request_parser p;
    auto st = p.parse(r.line + "\r\n");
    if (!r.ok) {
      CHECK(st.what == kind::error);
      CHECK(p.error_message() == "ERR Protocol error: unbalanced quotes in request");
      continue;
    }
    REQUIRE(st.what == kind::frame_end);
    CHECK(p.inline_args() == r.want);
    CHECK(p.argc() == r.want.size());
  }
}

TEST_CASE("an inline line with a NUL never ends, as in Redis, until the inline limit",
          "[unit][frame]") {
  // Redis finds the newline with strchr(), which stops at the NUL.
  using namespace std::string_literals;
  request_parser p;
  auto st = p.parse("GET a\0b\r\nPING\r\n"s);
  CHECK(st.what == kind::need_more);
  CHECK(st.consumed == 15);  // all of it: nothing after the NUL is a new command
  std::string more(64 * 1024, 'x');
  st = p.parse(more);
  CHECK(st.what == kind::error);
  CHECK(p.error_message() == "ERR Protocol error: too big inline request");
}

TEST_CASE("a long inline line is refused however its bytes arrive", "[unit][frame]") {
  // Found by the fuzzer: a line past the limit but with its newline in the same read was
  // accepted whole and refused in pieces.
  std::string line(5000, 'a');
  line += "\n";
  for (const auto& cuts : std::vector<std::vector<std::size_t>>{
           {line.size()}, {100, line.size()}, {4097, line.size()}}) {
    request_parser p({1 << 20, 1 << 20, 4096});
    std::string error;
    feed(
        p, line, cuts, [](std::size_t) {}, &error);
    CHECK(error == "ERR Protocol error: too big inline request");
  }
}

TEST_CASE("malformed requests get Redis's exact protocol errors", "[unit][frame]") {
  struct bad_case {
    std::string input;
    std::string error;
  };
  std::vector<bad_case> table = {
      {"*abc\r\n", "ERR Protocol error: invalid multibulk length"},
      {"*01\r\n", "ERR Protocol error: invalid multibulk length"},
      {"*2147483648\r\n", "ERR Protocol error: invalid multibulk length"},
      {"*1\r\nfoo\r\n", "ERR Protocol error: expected '$', got 'f'"},
      {"*1\r\n$-5\r\n", "ERR Protocol error: invalid bulk length"},
      {"*1\r\n$x\r\n", "ERR Protocol error: invalid bulk length"},
      {"*1\r\n$536870913\r\n", "ERR Protocol error: invalid bulk length"},
      {"*" + std::string(70000, '1'), "ERR Protocol error: too big mbulk count string"},
      {"*1\r\n$" + std::string(70000, '1'), "ERR Protocol error: too big bulk count string"},
      {std::string(70000, 'a'), "ERR Protocol error: too big inline request"},
      {"SET \"a b\r\n", "ERR Protocol error: unbalanced quotes in request"},
      {"SET 'a'b\r\n", "ERR Protocol error: unbalanced quotes in request"},
  };
  for (const auto& c : table) {
    INFO(c.input.substr(0, 40));
    for (const auto& cuts : splits(c.input.size(), 3)) {
      if (cuts.size() > 1000) continue;  // byte-by-byte of 70 KB: the random splits cover it
      request_parser p;
      std::string error;
      feed(
          p, c.input, cuts, [](std::size_t) {}, &error);
      CHECK(error == c.error);
    }
  }
}

TEST_CASE("before AUTH a request has Redis's limits for unauthenticated clients", "[unit][frame]") {
  const std::string big_arg = "*2\r\n$3\r\nSET\r\n$16385\r\n";
  const std::string eleven = "*11\r\n";
  std::string ten_of_16k = "*10\r\n";
  for (int i = 0; i < 10; ++i) ten_of_16k += "$16384\r\n" + std::string(16384, 'x') + "\r\n";
  for (const auto& [input, error] : std::vector<std::pair<std::string, std::string>>{
           {eleven, "ERR Protocol error: unauthenticated multibulk length"},
           {big_arg, "ERR Protocol error: unauthenticated bulk length"},
           {ten_of_16k, ""}}) {
    INFO(input.substr(0, 20));
    for (const auto& cuts : splits(input.size(), 3)) {
      if (cuts.size() > 1000) continue;
      request_parser p;
      p.set_unauthenticated(true);
      std::string got;
      std::size_t frames = 0;
      feed(
          p, input, cuts, [&](std::size_t) { ++frames; }, &got);
      CHECK(got == error);
      CHECK(frames == (error.empty() ? 1u : 0u));
      // Authenticated, the same bytes are no error (the first two wait for more).
      request_parser q;
      std::string none;
      feed(
          q, input, cuts, [](std::size_t) {}, &none);
      CHECK(none.empty());
    }
  }
}

namespace {

// Every RESP2 and RESP3 type, as Redis sends them.
const std::vector<std::pair<std::string, char>> k_replies = {
    {"+OK\r\n", '+'},
    {"-READONLY You can't write against a read only replica.\r\n", '-'},
    {":-42\r\n", ':'},
    {"$5\r\nhel\r\n\r\n", '$'},
    {"$0\r\n\r\n", '$'},
    {"$-1\r\n", '$'},
    {"*-1\r\n", '*'},
    {"*0\r\n", '*'},
    {"*3\r\n:1\r\n*2\r\n$1\r\na\r\n*1\r\n+deep\r\n$-1\r\n", '*'},
    {"_\r\n", '_'},
    {",3.14\r\n", ','},
    {",inf\r\n", ','},
    {"#t\r\n", '#'},
    {"(3492890328409238509324850943850943825024385\r\n", '('},
    {"!21\r\nSYNTAX invalid syntax\r\n", '!'},
    {"=15\r\ntxt:Some string\r\n", '='},
    {"%2\r\n+first\r\n:1\r\n+second\r\n*1\r\n:2\r\n", '%'},
    {"~3\r\n+a\r\n+b\r\n#f\r\n", '~'},
    {"|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2039123\r\n:9543892\r\n", '*'},
    {">3\r\n$10\r\ninvalidate\r\n*1\r\n$3\r\nfoo\r\n_\r\n", '>'},
    {"*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n:2\r\n", '*'},
};

}  // namespace

TEST_CASE("reply frames of every RESP2 and RESP3 type are found in any split", "[unit][frame]") {
  std::string stream;
  std::vector<std::size_t> sizes;
  std::vector<char> types;
  for (const auto& [bytes, type] : k_replies) {
    stream += bytes;
    sizes.push_back(bytes.size());
    types.push_back(type);
  }
  for (const auto& cuts : splits(stream.size(), 200)) {
    reply_parser p;
    std::vector<std::size_t> got_sizes;
    std::vector<char> got_types;
    std::vector<bool> pushes, errors;
    feed(p, stream, cuts, [&](std::size_t bytes) {
      got_sizes.push_back(bytes);
      got_types.push_back(p.type());
      pushes.push_back(p.is_push());
      errors.push_back(p.is_error());
    });
    REQUIRE(got_sizes == sizes);
    REQUIRE(got_types == types);
    CHECK(pushes[19]);
    CHECK_FALSE(pushes[8]);
    CHECK(errors[1]);
    CHECK(errors[14]);
  }
  reply_parser p;
  auto st = p.parse("-LOADING Redis is loading the dataset in memory\r\n");
  CHECK(st.what == kind::frame_end);
  CHECK(p.error_prefix().view().substr(0, 7) == "LOADING");
}

TEST_CASE(
    "replies whole (one pass) and in pieces (state machine) give the same types and error prefixes",
    "[unit][frame]") {
  const std::string stream =
      "-ERR unknown command 'FOO'\r\n*3\r\n-ERR inner\r\n:1\r\n$-1\r\n!12\r\nSYNTAX "
      "blobs\r\n+OK\r\n"
      "*2\r\n*1\r\n-NESTED\r\n:2\r\n-" +
      std::string(100, 'L') + "\r\n=5\r\ntxt:x\r\n";
  auto seen = [&](const std::vector<std::size_t>& cuts) {
    reply_parser p;
    std::vector<std::string> out;
    feed(p, stream, cuts, [&](std::size_t bytes) {
      out.push_back(std::to_string(bytes) + " " + p.type() + " " +
                    std::string(p.error_prefix().view()));
    });
    return out;
  };
  auto whole = seen({stream.size()});
  REQUIRE(whole.size() == 7);
  CHECK(whole[0] == "28 - ERR unknown command 'FOO'");
  CHECK(whole[1] == "25 * ");  // an error inside an array is not the reply's prefix
  CHECK(whole[2] == "19 ! SYNTAX blobs");
  CHECK(whole[5] == "103 - " + std::string(short_text::capacity, 'L'));
  for (const auto& cuts : splits(stream.size(), 50)) CHECK(seen(cuts) == whole);
}

TEST_CASE("malformed flat arrays give the same error whole and in pieces", "[unit][frame]") {
  for (std::string input :
       {"*2\r\n:1\r\n$3\r\nabcXY", "*1\r\n?\r\n", "*2\r\n+a\rX", "*1\r\n!-1\r\n"}) {
    INFO(input);
    std::string whole_error, split_error;
    reply_parser a, b;
    feed(
        a, input, {input.size()}, [](std::size_t) {}, &whole_error);
    std::vector<std::size_t> bytes;
    for (std::size_t i = 1; i <= input.size(); ++i) bytes.push_back(i);
    feed(
        b, input, bytes, [](std::size_t) {}, &split_error);
    CHECK_FALSE(whole_error.empty());
    CHECK(whole_error == split_error);
  }
}

TEST_CASE("malformed replies are protocol errors", "[unit][frame]") {
  std::vector<std::pair<std::string, std::string>> table = {
      {"?\r\n", "unexpected type byte '?'"}, {"$abc\r\n", "invalid length"},
      {"$-2\r\n", "negative length"},        {"*-2\r\n", "negative length"},
      {"+OK\rX", "expected LF after CR"},    {"$3\r\nabcXY", "bulk data not followed by CRLF"},
  };
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "*1\r\n";
  table.emplace_back(deep, "nesting deeper than 128");
  table.emplace_back("$" + std::string(2000, '1'), "line longer than 1000 bytes");
  for (const auto& [input, message] : table) {
    INFO(input.substr(0, 30));
    reply_parser p(reply_parser::limits{512 * 1024 * 1024, 1000, 128, 1LL << 32});
    std::string error;
    feed(
        p, input, {input.size()}, [](std::size_t) {}, &error);
    CHECK_THAT(error, Catch::Contains(message));
  }
}

TEST_CASE("replies as long or deep as Redis sends them pass, in any pieces", "[unit][frame]") {
  // A 2 MB error or status line (a script's error) and arrays nested 1,000 deep (a script
  // returning nested tables): legal replies; only the error's first bytes are kept.
  std::string long_error = "-ERR " + std::string(2 * 1024 * 1024, 'e') + "\r\n";
  std::string long_status = "+" + std::string(2 * 1024 * 1024, 's') + "\r\n";
  std::string deep;
  for (int i = 0; i < 1000; ++i) deep += "*1\r\n";
  deep += ":1\r\n";
  for (const auto& input : {long_error, long_status, deep}) {
    for (std::size_t piece : {input.size(), std::size_t{4096}, std::size_t{7}}) {
      reply_parser p;
      std::size_t pos = 0, frames = 0;
      while (pos < input.size()) {
        auto st = p.parse(std::string_view(input).substr(pos, std::min(piece, input.size() - pos)));
        REQUIRE(st.what != kind::error);
        pos += st.consumed;
        frames += st.what == kind::frame_end;
      }
      CHECK(frames == 1);
      if (input[0] == '-') {
        CHECK(p.is_error());
        CHECK(p.error_prefix().view().starts_with("ERR eee"));
        CHECK(p.error_prefix().truncated());
      }
    }
  }
}

TEST_CASE("a 100 MB value streams through in small pieces", "[unit][frame]") {
  const std::size_t size = 100 * 1024 * 1024;
  std::string chunk(64 * 1024, 'v');
  reply_parser rp;
  auto head = "$" + std::to_string(size) + "\r\n";
  auto st = rp.parse(head);
  CHECK(st.what == kind::need_more);
  CHECK(st.consumed == head.size());
  std::size_t sent = 0;
  while (sent < size) {
    auto n = std::min(chunk.size(), size - sent);
    st = rp.parse(std::string_view(chunk).substr(0, n));
    REQUIRE(st.what == kind::need_more);
    REQUIRE(st.consumed == n);
    sent += n;
  }
  st = rp.parse("\r\n+OK\r\n");
  CHECK(st.what == kind::frame_end);
  CHECK(st.consumed == 2);

  request_parser qp;
  auto req = "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$" + std::to_string(size) + "\r\n";
  st = qp.parse(req);
  CHECK(st.what == kind::need_more);
  CHECK(qp.name().equals_upper("SET"));
  sent = 0;
  while (sent < size) {
    auto n = std::min(chunk.size(), size - sent);
    st = qp.parse(std::string_view(chunk).substr(0, n));
    REQUIRE(st.consumed == n);
    sent += n;
  }
  st = qp.parse("\r\n");
  CHECK(st.what == kind::frame_end);
  CHECK(qp.frame_bytes() == req.size() + size + 2);
}
