// Replies the proxy rewrites (proxy/reply_rewrite.hpp).
#include "rsm/proxy/reply_rewrite.hpp"

#include <catch2/catch.hpp>

using namespace rsm;

namespace {

std::string bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}

}  // namespace

TEST_CASE("reply rewrite: CONFIG GET replies lose their secret values", "[unit][rewrite]") {
  const std::string red(proxy::k_redacted);
  // RESP2: a flat array of names and values.
  auto in = "*6\r\n" + bulk("masterauth") + bulk("pw\r\nx") + bulk("maxmemory") + bulk("0") +
            bulk("REQUIREPASS") + bulk("");
  CHECK(proxy::redact_config_reply(in) == "*6\r\n" + bulk("masterauth") + bulk(red) +
                                              bulk("maxmemory") + bulk("0") + bulk("REQUIREPASS") +
                                              bulk(""));
  // RESP3: a map of pairs.
  in = "%2\r\n" + bulk("tls-key-file-pass") + bulk("k") + bulk("tls-client-key-file-pass") +
       bulk("c");
  CHECK(proxy::redact_config_reply(in) == "%2\r\n" + bulk("tls-key-file-pass") + bulk(red) +
                                              bulk("tls-client-key-file-pass") + bulk(red));
  // Nothing to hide, or not a CONFIG GET reply: unchanged.
  for (std::string same : {std::string("*0\r\n"), std::string("-ERR unknown\r\n"),
                           "*2\r\n" + bulk("save") + bulk("3600 1"), std::string("%0\r\n")}) {
    CHECK(proxy::redact_config_reply(same) == same);
  }
  // A shape it does not know is passed as it came, never cut.
  for (std::string odd : {"*1\r\n" + bulk("requirepass"), "*2\r\n" + bulk("requirepass") + ":1\r\n",
                          "*2\r\n" + bulk("requirepass"), std::string("*x\r\n")}) {
    CHECK(proxy::redact_config_reply(odd) == odd);
  }
  CHECK(proxy::is_secret_parameter("MasterAuth"));
  CHECK_FALSE(proxy::is_secret_parameter("masteruser"));
  CHECK_FALSE(proxy::is_secret_parameter("requirepas"));
}

TEST_CASE("reply rewrite: HELLO's id is the session's", "[unit][rewrite]") {
  auto fields = [](std::string_view id) {
    return bulk("server") + bulk("redis") + bulk("proto") + ":3\r\n" + bulk("id") + ":" +
           std::string(id) + "\r\n" + bulk("modules") + "*0\r\n";
  };
  CHECK(proxy::hello_with_id("%4\r\n" + fields("8123"), 42) == "%4\r\n" + fields("42"));
  CHECK(proxy::hello_with_id("*8\r\n" + fields("7"), 1234567) == "*8\r\n" + fields("1234567"));
  for (std::string same : {std::string("-NOPROTO unsupported protocol version\r\n"),
                           "*2\r\n" + bulk("server") + bulk("redis")}) {
    CHECK(proxy::hello_with_id(same, 5) == same);
  }
}
